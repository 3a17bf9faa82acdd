// Every full run of the real-service benchmark is kept in bench/results/app-runs/,
// one file per run, so that the rounds of several runs measured the same way can
// be pooled into one result (bench/app/pool.ts). On this shared machine one run
// of the time a session allows does not pin the noise floor to the 2 %
// (σ 9–11 % round to round in slow spells of the host); the rounds of runs on
// other days are as good a sample as more rounds of the same run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../lib/common.mjs';

export const APP_RUNS_DIR = join(ROOT, 'bench/results/app-runs');

/**
 * Writes the app benchmark's result of a results object (bench/run.js's `out`)
 * to its own file, named by when it ran, and returns the path; nothing for a
 * quick run, a run without it, or a pooled result (already made of kept runs).
 */
export function archiveAppRun(out, dir = APP_RUNS_DIR) {
  const app = out.benches?.app;
  if (out.quick || !app || app.pooled) return undefined;
  // A merge keeps the other benchmarks' date at the top: the app's own is in `merged`.
  const date = out.merged?.app?.date ?? out.date;
  const run = { date, command: out.merged?.app?.command ?? out.command, seconds: app.seconds, machine: out.machine, app };
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${date.slice(0, 16).replace(':', '-')}.json`);
  writeFileSync(file, JSON.stringify(run, null, 1) + '\n');
  return file;
}
