#!/usr/bin/env node
import { main } from '../dist/cli/main.js';
import { exitCodeOf } from '../dist/cli/exit-codes.js';

main(process.argv).catch((err) => {
  // Commander has already printed its own usage errors (and help, for code 0).
  if (err?.code?.startsWith?.('commander.')) process.exit(exitCodeOf(err));
  // Node's own errors already start with their code ("ENOENT: no such file…"): do not say it twice.
  const message = String(err?.message ?? err);
  process.stderr.write(`zibrato: ${err?.code && !message.startsWith(err.code) ? `${err.code}: ` : ''}${message}\n`);
  process.exit(exitCodeOf(err));
});
