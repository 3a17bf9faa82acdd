// Pools the rounds of several full runs of the real-service benchmark (issue 10)
// into one result, and re-renders docs/performance.md and the README from it:
//
//   node --import tsx bench/app/pool.ts bench/results/app-runs/<run>.json …
//
// Each file is one run as bench/run.js keeps it (bench/app/runs.mjs). Why pool:
// on this shared machine, (a′) against (a) moves 9–11 % round to round in the
// host's slow spells, so pinning it to the 2 % takes 40+ rounds, about
// two hours of rounds: more than a session gives one run. Every round is a
// self-contained paired sample (each variant against the same round's (a)), so
// rounds of runs made the same way on other days add to the sample as more
// rounds of one run would. "The same way" is checked: the runs must agree on
// every setting that shapes a measurement, or nothing is pooled.
//
// Which runs to pool is the caller's choice, made before looking at what they
// give: pool every kept run since the last change to the measurement, not the
// runs that agree.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../lib/common.mjs';
import { writeDocs } from '../report.mjs';
import { VARIANTS } from './instrumentations.js';
import { keptContended, summariseVariants, type RoundResult } from './summary.js';

/** One kept run (bench/app/runs.mjs). Only what pooling reads is typed. */
export interface AppRun {
  date: string;
  command: string;
  seconds: number;
  machine: Record<string, unknown>;
  app: {
    config: Record<string, unknown> & { rounds: number; fixedRequests: number };
    roundsStop?: string;
    pinning?: { serviceCpus?: string; othersCpus?: string; unpinned?: string };
    variants: Record<string, { rounds: RoundResult[] }>;
    steadinessNs?: number[];
    contention?: {
      limit: number;
      maxRemeasures: number;
      usualNsPerUnit: { fixed: number; saturation: number };
      measurements: number;
      remeasured: { round: number; variant: string; fixed: number; saturation: number }[];
      keptContended: number;
    };
    seconds: number;
    pooled?: unknown;
    [k: string]: unknown;
  };
}

/** The settings that shape a measurement: runs that differ in any of them measure different things. */
export const SAME_SETTINGS = [
  'fixedRate',
  'fixedRequests',
  'connections',
  'saturationConnections',
  'saturationCpuShare',
  'saturationSeconds',
  'saturationRequestsMin',
  'saturationRequests',
  'warmupRequests',
  'users',
  'dbWaitMs',
  'rotateOrder',
  'pin',
  'maxRemeasures',
] as const;

/** A run's setting, as JSON; maxRemeasures from the contention record for runs made before it was in the config (it was 2). */
function setting(r: AppRun, k: (typeof SAME_SETTINGS)[number]): string {
  return JSON.stringify(r.app.config[k] ?? (k === 'maxRemeasures' ? r.app.contention?.maxRemeasures : undefined));
}

/** Why `runs` cannot be pooled, or undefined when they can. */
export function whyNotPoolable(runs: readonly AppRun[]): string | undefined {
  if (runs.length < 2) return 'pooling needs at least two runs';
  const [first, ...rest] = runs as [AppRun, ...AppRun[]];
  for (const r of runs) {
    if (r.app.pooled) return `${r.date} is itself a pooled result: pool the runs it was made of`;
    if (!r.app.contention) return `${r.date} predates the contention probe (measured before the pacing fix, 2026-12-01)`;
    if (VARIANTS.some((v) => !r.app.variants[v]?.rounds?.length)) return `${r.date} lacks the rounds of a variant`;
  }
  for (const r of rest) {
    for (const k of SAME_SETTINGS) {
      const [a, b] = [setting(first, k), setting(r, k)];
      if (a !== b) return `${k} differs: ${a} (${first.date}) against ${b} (${r.date})`;
    }
    if (r.app.contention!.limit !== first.app.contention!.limit) return `the contention limit differs (${first.date}, ${r.date})`;
    if (r.app.pinning?.serviceCpus !== first.app.pinning?.serviceCpus || r.app.pinning?.unpinned !== first.app.pinning?.unpinned) return `the pinning differs (${first.date}, ${r.date})`;
    if (r.machine.nproc !== first.machine.nproc || r.machine.cpuModel !== first.machine.cpuModel) return `the machine differs (${first.date}, ${r.date})`;
  }
  return undefined;
}

/**
 * One app result from the runs' rounds, oldest run first: the rounds are
 * numbered on (a run's round 1 follows the one before's last round) and
 * summarised by the same rule as one run (summary.ts). The profile, the client
 * cost and the run-wide settings are the newest run's.
 */
export function poolRuns(runs: readonly AppRun[]): AppRun['app'] {
  const why = whyNotPoolable(runs);
  if (why) throw new Error(`cannot pool: ${why}`);
  const ordered = [...runs].sort((a, b) => a.date.localeCompare(b.date));
  const newest = ordered.at(-1)!;
  const rounds: Record<string, RoundResult[]> = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  const remeasured: NonNullable<AppRun['app']['contention']>['remeasured'] = [];
  let offset = 0;
  for (const run of ordered) {
    for (const v of VARIANTS) rounds[v]!.push(...run.app.variants[v]!.rounds.map((r) => ({ ...r, round: r.round + offset })));
    remeasured.push(...run.app.contention!.remeasured.map((m) => ({ ...m, round: m.round + offset })));
    offset += run.app.config.rounds;
  }
  const sum = (f: (r: AppRun) => number) => ordered.reduce((a, r) => a + f(r), 0);
  return {
    ...newest.app,
    config: { ...newest.app.config, rounds: offset },
    roundsStop: 'pooled',
    pooled: ordered.map((r) => ({ date: r.date, rounds: r.app.config.rounds, roundsStop: r.app.roundsStop, seconds: r.app.seconds, measurements: r.app.contention!.measurements })),
    variants: summariseVariants(rounds, newest.app.config.fixedRequests),
    steadinessNs: ordered.flatMap((r) => r.app.steadinessNs ?? []),
    contention: {
      ...newest.app.contention!,
      measurements: sum((r) => r.app.contention!.measurements),
      remeasured,
      keptContended: keptContended(rounds),
    },
    seconds: sum((r) => r.app.seconds),
  };
}

function main(files: string[]): void {
  if (!files.length) {
    process.stderr.write('usage: node --import tsx bench/app/pool.ts bench/results/app-runs/<run>.json …\n');
    process.exit(2);
  }
  const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as AppRun);
  let app: AppRun['app'];
  try {
    app = poolRuns(runs);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  const resultsFile = join(ROOT, 'bench/results/latest.json');
  const out = JSON.parse(readFileSync(resultsFile, 'utf8'));
  // poolRuns lists the runs oldest first: the section is dated by the newest.
  const newestDate = (app.pooled as { date: string }[]).at(-1)!.date;
  out.benches.app = app;
  out.merged = { ...(out.merged ?? {}), app: { date: newestDate, seconds: app.seconds, command: `node --import tsx bench/app/pool.ts ${files.join(' ')}` } };
  writeFileSync(resultsFile, JSON.stringify(out, null, 2) + '\n');
  writeDocs(out);
  process.stdout.write(`pooled ${app.config.rounds} rounds of ${runs.length} runs into ${resultsFile}; docs/performance.md and README.md re-rendered\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main(process.argv.slice(2));
