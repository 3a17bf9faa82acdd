#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

main(process.argv).catch((err) => {
  process.stderr.write(`zibrato: ${err?.code ? `${err.code}: ` : ''}${err?.message ?? err}\n`);
  process.exit(2);
});
