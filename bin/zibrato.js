#!/usr/bin/env node
import { main } from '../dist/cli/main.js';
import { exitCodeOf } from '../dist/cli/exit-codes.js';

main(process.argv).catch((err) => {
  // Commander has already printed its own usage errors (and help, for code 0).
  if (err?.code?.startsWith?.('commander.')) process.exit(exitCodeOf(err));
  process.stderr.write(`zibrato: ${err?.code ? `${err.code}: ` : ''}${err?.message ?? err}\n`);
  process.exit(exitCodeOf(err));
});
