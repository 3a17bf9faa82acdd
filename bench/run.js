#!/usr/bin/env node
// Runs every benchmark, each in its own process, collects their results and
// writes them to bench/results/latest.json (full run) or bench/results/quick.json
// (--quick), then renders docs/performance.md from the full results.
//
//   npm run bench              full run (~30 min to ~2 h: bench/app adds rounds until its noise floor is
//                              known, see bench/app/rounds.ts), regenerates docs/performance.md
//   npm run bench -- --quick   short run for CI (< 5 min, of which bench/app ~2.5); reports, never asserts timings
//   node bench/run.js --only micro,latency   a subset (results are not written)
//   node bench/run.js --only app --merge     a subset whose results replace those benchmarks'
//                                            entries in the existing results file; the doc is regenerated
//
// Exit status is 0 unless a benchmark crashed.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machine, ROOT } from './lib/common.mjs';
import { renderPerformanceDoc, writeDocs } from './report.mjs';
import { archiveAppRun } from './app/runs.mjs';

const quick = process.argv.includes('--quick');
const merge = process.argv.includes('--merge');
const onlyArg = process.argv.find((a) => a.startsWith('--only'));
const only = onlyArg ? (onlyArg.includes('=') ? onlyArg.split('=')[1] : process.argv[process.argv.indexOf(onlyArg) + 1]).split(',') : null;

const BENCHES = [
  { name: 'micro', args: ['--import', 'tsx', 'bench/micro.ts'], timeoutMs: quick ? 120_000 : 600_000 },
  { name: 'throughput', args: ['bench/throughput.mjs'], timeoutMs: quick ? 120_000 : 900_000 },
  { name: 'sustained', args: ['bench/sustained.mjs'], timeoutMs: quick ? 90_000 : 300_000 },
  { name: 'memory', args: ['bench/memory.mjs'], timeoutMs: quick ? 90_000 : 400_000 },
  { name: 'latency', args: ['bench/latency.mjs'], timeoutMs: quick ? 60_000 : 120_000 },
  // Rounds of seven variants, ~100 s a round, for at most ZIBRATO_BENCH_APP_MINUTES (100 by default: bench/app/rounds.ts),
  // then two profile rounds and the client's own cost.
  { name: 'app', args: ['--import', 'tsx', 'bench/app/main.ts'], timeoutMs: quick ? 240_000 : (Number(process.env.ZIBRATO_BENCH_APP_MINUTES) || 100) * 60_000 + 1_200_000 },
  { name: 'store', args: ['bench/store.mjs'], timeoutMs: quick ? 90_000 : 900_000 },
  { name: 'curve', args: ['bench/curve.mjs'], timeoutMs: quick ? 120_000 : 600_000 },
  { name: 'wal', args: ['bench/wal.mjs'], timeoutMs: quick ? 120_000 : 600_000 },
  { name: 'chain', args: ['bench/chain.mjs'], timeoutMs: quick ? 120_000 : 600_000 },
  { name: 'shards', args: ['bench/shards.mjs'], timeoutMs: quick ? 240_000 : 900_000 },
];

function runBench(b) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...b.args, ...(quick ? ['--quick'] : [])], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let result = null;
    let partial = '';
    const tail = [];
    child.stdout.on('data', (buf) => {
      const parts = (partial + buf.toString('utf8')).split('\n');
      partial = parts.pop();
      for (const line of parts) {
        if (line.startsWith('@@result ')) result = JSON.parse(line.slice(9));
        else if (line) process.stdout.write(`[${b.name}] ${line}\n`);
      }
    });
    child.stderr.on('data', (buf) => {
      const text = buf.toString('utf8');
      process.stderr.write(text.replace(/^(?=.)/gm, `[${b.name}] `));
      tail.push(text);
      if (tail.length > 50) tail.shift();
    });
    // Every benchmark is bounded: past its time limit it is killed by PID (its own cleanup kills its children).
    const timer = setTimeout(() => {
      process.stderr.write(`[${b.name}] timed out after ${b.timeoutMs} ms; stopping it\n`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, b.timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ name: b.name, code, signal, seconds: (Date.now() - started) / 1000, result, errorTail: code === 0 ? undefined : tail.join('').slice(-2000) });
    });
  });
}

const startedAt = new Date();
const runs = [];
for (const b of BENCHES) {
  if (only && !only.includes(b.name)) continue;
  process.stderr.write(`── ${b.name} ──\n`);
  runs.push(await runBench(b));
}

const out = {
  date: startedAt.toISOString(),
  command: quick ? 'npm run bench -- --quick' : 'npm run bench',
  quick,
  machine: machine(),
  loadAverageAtStart: (await import('node:os')).loadavg(),
  seconds: (Date.now() - startedAt.getTime()) / 1000,
  benches: Object.fromEntries(runs.map((r) => [r.name, r.result])),
  failures: runs.filter((r) => r.code !== 0 || !r.result).map((r) => ({ name: r.name, code: r.code, signal: r.signal, errorTail: r.errorTail })),
};

const resultsFile = join(ROOT, 'bench/results', quick ? 'quick.json' : 'latest.json');
if (only && merge && existsSync(resultsFile)) {
  // The other benchmarks keep their figures (and their run's date and machine notes); the merged ones say when they ran.
  const prev = JSON.parse(readFileSync(resultsFile, 'utf8'));
  out.benches = { ...prev.benches, ...out.benches };
  out.merged = { ...(prev.merged ?? {}), ...Object.fromEntries(runs.map((r) => [r.name, { date: out.date, seconds: r.seconds, command: `node bench/run.js --only ${only.join(',')} --merge${quick ? ' --quick' : ''}` }])) };
  for (const k of ['date', 'command', 'seconds', 'loadAverageAtStart']) out[k] = prev[k];
}
const doc = renderPerformanceDoc(out);
// A merge replaces good figures: one that failed leaves the files as they were.
const mergeFailed = only && merge && out.failures.length > 0;
if (mergeFailed) process.stderr.write(`not merged: ${out.failures.map((f) => f.name).join(', ')} failed; ${resultsFile} and the docs are unchanged\n`);
if ((!only || merge) && !mergeFailed) {
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(resultsFile, JSON.stringify(out, null, 2) + '\n');
  if (!quick) {
    writeDocs(out, doc);
    // Kept apart as well, so later runs' rounds can be pooled with this one's (bench/app/pool.ts).
    const kept = archiveAppRun(out);
    if (kept) process.stdout.write(`app run kept in ${kept}; pool runs with: node --import tsx bench/app/pool.ts <files>\n`);
  }
}
// The summary table on stdout either way, so CI logs show the figures.
const tableStart = doc.indexOf(doc.includes('## Headline') ? '## Headline' : '## Results');
const table = doc.slice(tableStart, doc.indexOf('## Machine'));
process.stdout.write(`\n${table}\n`);
process.stdout.write(`benchmarks took ${Math.round(out.seconds)} s${out.failures.length ? `; FAILED: ${out.failures.map((f) => f.name).join(', ')}` : ''}\n`);
process.exit(out.failures.length ? 1 : 0);
