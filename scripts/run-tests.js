#!/usr/bin/env node
// Node 20's test runner expands no globs and a bare --test finds no .ts files,
// so list them here. Usage: node scripts/run-tests.js [--unit] [filter-substring ...]
// --unit runs the fast lane only (scripts/test-lanes.js).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { UNIT_TESTS } from './test-lanes.js';

const root = new URL('..', import.meta.url).pathname;
const files = [];
(function walk(dir) {
  for (const entry of readdirSync(dir).sort()) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) walk(p);
    else if (entry.endsWith('.test.ts')) files.push(relative(root, p));
  }
})(join(root, 'test'));
const args = process.argv.slice(2);
const unit = args.includes('--unit');
const filters = args.filter((a) => a !== '--unit');
const lane = unit ? files.filter((f) => UNIT_TESTS.includes(f)) : files;
const selected = filters.length ? lane.filter((f) => filters.some((s) => f.includes(s))) : lane;
if (selected.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// Integration tests start real processes; two at a time fits a 2-core machine.
const concurrency = process.env.ZIBRATO_TEST_CONCURRENCY ?? '2';
// A hang must fail with the file's name, not stall CI until its own limit
// (one did: CI printed nothing for 80 minutes). The timeout applies to each
// file as a whole; the longest, the fault scenarios' quick run, takes ~4 min.
// No --test-force-exit: in Node 20 (and 22, 24) it lets a file's process exit
// before its last results reach the runner, which then reports fewer tests,
// at exit 0 (nodejs/node#64833; here 113 of 135 in one run of two files). A file
// that leaves a handle open fails on the timeout above, naming the file.
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=900000', '--test-reporter=spec', ...selected], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
