// Rounds of several runs of the real-service benchmark pooled into one result
// (bench/app/pool.ts): only runs measured the same way, rounds numbered on,
// summarised by the same rule as one run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveAppRun } from '../../bench/app/runs.mjs';
import { poolRuns, whyNotPoolable, type AppRun } from '../../bench/app/pool.js';
import { renderAppHeadline } from '../../bench/app/report.mjs';
import { summariseVariants, type RoundResult } from '../../bench/app/summary.js';
import { VARIANTS } from '../../bench/app/instrumentations.js';

/** One measurement: `cpu` µs per request, `rps` at saturation. */
function round(n: number, cpu: number, rps: number, contended = 0): RoundResult {
  return {
    round: n,
    cpuUsPerRequest: cpu,
    threadCpuUsPerRequest: { main: cpu * 0.8, zmq: 0, other: cpu * 0.2 },
    peerCpuUsPerRequest: { zibrato: 1, prom: 1, otel: 1, hotshots: 1 },
    fixedSeconds: 8,
    fixedRps: 2000,
    latencyMs: { p50: 0.4, p99: 4, p999: 6, mean: 0.5, samples: 16_000 },
    saturationRps: rps,
    saturation: { mainBusy: 0.24, processBusy: 0.25, peerCores: { zibrato: 0, prom: 0, otel: 0, hotshots: 0 } },
    completed: 66_000,
    reported: 66_000,
    errors: 0,
    fixedWindowUs: { fromUs: 0, toUs: 1 },
    contention: { fixed: contended, saturation: 0, remeasured: 0 },
  };
}

const CONFIG = { fixedRate: 2000, fixedRequests: 16_000, connections: 10, saturationConnections: 20, saturationCpuShare: 0.25, saturationSeconds: 6, saturationRequestsMin: 5000, saturationRequests: 40_000, warmupRequests: 10_000, users: 10_000, dbWaitMs: 1, rotateOrder: true, pin: true, maxRemeasures: 2 };

/** A kept run of `n` rounds in which (a′) costs `none2Cpu` × (a)'s CPU per request. */
function run(date: string, n: number, none2Cpu: number, config: Record<string, unknown> = {}): AppRun {
  const variants = Object.fromEntries(
    VARIANTS.map((v) => [v, { rounds: Array.from({ length: n }, (_, i) => round(i + 1, v === 'none2' ? 60 * none2Cpu : v === 'zibrato' ? 66 : 60, v === 'zibrato' ? 6000 : 7000, v === 'hooks' && i === 0 ? 0.3 : 0)) }]),
  );
  return {
    date,
    command: 'node bench/run.js --only app --merge',
    seconds: 100 * n,
    machine: { nproc: 2, cpuModel: 'test' },
    app: {
      config: { ...CONFIG, ...config, rounds: n },
      roundsStop: 'time limit',
      pinning: { serviceCpus: '1', othersCpus: '0' },
      variants,
      steadinessNs: [350, 360],
      contention: { limit: 0.15, maxRemeasures: 2, usualNsPerUnit: { fixed: 1100, saturation: 1000 }, measurements: 7 * n + 1, remeasured: [{ round: 1, variant: 'prom', fixed: 0.3, saturation: 0 }], keptContended: 1 },
      seconds: 100 * n,
    },
  };
}

test('pooled rounds are numbered on, oldest run first, and summarised as one run of all of them', () => {
  const older = run('2026-12-01T05:29:59Z', 3, 1.1);
  const newer = run('2026-12-01T07:29:53Z', 5, 0.95);
  const app = poolRuns([newer, older]);
  assert.equal(app.config.rounds, 8);
  assert.deepEqual(app.variants.none!.rounds.map((r) => r.round), [1, 2, 3, 4, 5, 6, 7, 8]);
  // Rounds 1–3 are the older run's (+10 %), 4–8 the newer's (−5 %): the median is over rounds, not of the runs' medians.
  const a2 = (app.variants as ReturnType<typeof summariseVariants>).none2!.paired.cpuAdded;
  assert.deepEqual(a2.rounds.map((x) => Math.round(x * 100)), [10, 10, 10, -5, -5, -5, -5, -5]);
  assert.equal(Math.round(a2.median * 100), -5);
  assert.deepEqual(app.contention!.remeasured.map((m) => m.round), [1, 4]);
  assert.equal(app.contention!.measurements, 7 * 3 + 1 + 7 * 5 + 1);
  assert.equal(app.contention!.keptContended, 2);
  assert.equal(app.seconds, 800);
  assert.deepEqual((app.pooled as { date: string; rounds: number }[]).map((p) => [p.date, p.rounds]), [['2026-12-01T05:29:59Z', 3], ['2026-12-01T07:29:53Z', 5]]);
});

test('runs that differ in a setting that shapes a measurement are not pooled', () => {
  const a = run('2026-12-01T05:29:59Z', 3, 1);
  assert.match(whyNotPoolable([a, run('2026-12-01T07:29:53Z', 3, 1, { fixedRate: 4000 })]) ?? '', /fixedRate differs: 2000 .* against 4000/);
  assert.match(whyNotPoolable([a, run('2026-12-01T07:29:53Z', 3, 1, { saturationCpuShare: 0.5 })]) ?? '', /saturationCpuShare differs/);
  assert.throws(() => poolRuns([a, run('2026-12-01T07:29:53Z', 3, 1, { users: 50 })]), /cannot pool: users differs/);
  assert.equal(whyNotPoolable([a, run('2026-12-01T07:29:53Z', 3, 1, { maxMinutes: 55 })]), undefined, 'how long a run may add rounds does not shape a measurement');
});

test('one run, a pooled result, or a run from before the contention probe cannot be pooled', () => {
  const a = run('2026-12-01T05:29:59Z', 3, 1);
  const b = run('2026-12-01T07:29:53Z', 3, 1);
  assert.match(whyNotPoolable([a]) ?? '', /at least two runs/);
  const pooled = { ...b, app: poolRuns([a, b]) };
  assert.match(whyNotPoolable([a, pooled]) ?? '', /itself a pooled result/);
  const old = run('2026-11-30T20:00:00Z', 3, 1);
  delete old.app.contention;
  assert.match(whyNotPoolable([old, b]) ?? '', /predates the contention probe/);
});

test('the report says which runs were pooled, and how many rounds they give', () => {
  const app = poolRuns([run('2026-12-01T05:29:59Z', 3, 1), run('2026-12-01T07:29:53Z', 5, 1)]);
  const out = { command: 'npm run bench', quick: false, date: '2026-11-29T00:00:00Z', machine: { nproc: 2 }, merged: { app: { date: '2026-12-01T07:29:53Z', seconds: 800, command: 'node --import tsx bench/app/pool.ts a.json b.json' } } };
  const text = renderAppHeadline(app, out).join('\n') as string;
  assert.match(text, /pools the rounds of 2 runs\*\*/);
  assert.match(text, /2026-12-01 05:29 UTC, 3 rounds \(stopped at its time limit\); 2026-12-01 07:29 UTC, 5 rounds \(stopped at its time limit\); \*\*8 rounds\*\* in all/);
  assert.match(text, /This section pools runs made on 2026-12-01 05:29 and 2026-12-01 07:29 UTC/);
});

test('a full run is kept in a file of its own, named by when it ran; a quick run or a pooled result is not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-app-runs-'));
  try {
    const r = run('2026-12-01T07:29:53.100Z', 3, 1);
    const out = { date: '2026-11-29T00:00:00Z', command: 'npm run bench', quick: false, machine: r.machine, benches: { app: r.app }, merged: { app: { date: r.date, command: r.command } } };
    const file = archiveAppRun(out, dir) as string;
    assert.equal(file, join(dir, '2026-12-01T07-29.json'));
    const kept = JSON.parse(readFileSync(file, 'utf8')) as AppRun;
    assert.equal(kept.date, r.date, "a merge's own date, not the other benchmarks'");
    assert.deepEqual(kept.app, r.app);
    assert.equal(archiveAppRun({ ...out, quick: true }, dir), undefined);
    assert.equal(archiveAppRun({ ...out, benches: { app: { ...r.app, pooled: [] } } }, dir), undefined);
    assert.deepEqual(readdirSync(dir), ['2026-12-01T07-29.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
