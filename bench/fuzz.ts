// `npm run fuzz [-- --quick] [target …]`: the long property-based fuzz run.
// 1,000,000 inputs in total over the wire decoder, the legacy text parser, the
// StatsD parser, the config loader and the client API (the properties are in
// test/fuzz/properties.ts; `npm test` runs a few thousand of each).
//
// Every input is checked and counted instead of stopping at the first failure,
// so the summary says how many inputs crashed (a parser threw something other
// than a coded ZibratoError, or returned a wrong result) and how many client
// calls threw. Each target runs in a child process watched by this one (a
// child, not a worker thread: tsx does not load TypeScript in workers on
// Node 20): an input that runs past the per-input limit is a hang, and the
// child is killed. Exits 1 unless crashes, throws and hangs are all 0.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { checkConfig, checkFrame, checkLegacyText, checkStatsdPacket, clientApiTarget, clientOpArb, configArb, frameArb, legacyTextArb, statsdPacketArb } from '../test/fuzz/properties.ts';
import { freeTcpPort } from '../test/helpers/ports.ts';

/** Inputs per target in the full run: 1,000,000 in total. */
const TARGETS: Record<string, number> = {
  'wire-decoder': 250_000,
  'legacy-text': 250_000,
  'statsd-parser': 250_000,
  config: 100_000,
  'client-api': 150_000,
};
/** An input still running after this long is a hang (the slowest inputs take a few ms). */
const PER_INPUT_LIMIT_MS = 10_000;
/** Failures kept as examples per target. */
const EXAMPLES = 3;

interface Progress {
  done: number;
  failures: number;
  examples: string[];
  slowestMs: number;
  calls: number;
}

/** A worker's report, sent every few thousand inputs and at the end. */
type WorkerMessage = { type: 'progress' | 'end' } & Progress;

interface WorkerArgs {
  target: string;
  runs: number;
  seed: number;
  broker: string;
}

async function runInWorker(): Promise<void> {
  const { target, runs, seed, broker } = JSON.parse(process.env.ZIBRATO_FUZZ_WORKER!) as WorkerArgs;
  const send = (m: WorkerMessage) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
  const p: Progress = { done: 0, failures: 0, examples: [], slowestMs: 0, calls: 0 };
  let lastReport = performance.now();
  // The watchdog reads this: when it stops moving for PER_INPUT_LIMIT_MS, the input running is a hang.
  const client = target === 'client-api' ? clientApiTarget(broker) : undefined;
  const property = <T>(arb: fc.Arbitrary<T>, check: (v: T) => void, calls: (v: T) => number = () => 1) =>
    fc.property(arb, (v) => {
      const t0 = performance.now();
      try {
        check(v);
      } catch (err) {
        p.failures++;
        if (p.examples.length < EXAMPLES) p.examples.push(`${fc.stringify(v).slice(0, 400)}\n    → ${(err instanceof Error ? err.message : String(err)).slice(0, 400)}`);
      }
      const ms = performance.now() - t0;
      if (ms > p.slowestMs) p.slowestMs = ms;
      p.calls += calls(v);
      p.done++;
      // Reported at least twice a second, so the watchdog's silence means one input is still running.
      if (performance.now() - lastReport > 500) {
        lastReport = performance.now();
        process.send!({ type: 'progress', ...p });
      }
    });
  const props: Record<string, () => fc.IPropertyWithHooks<never>> = {
    'wire-decoder': () => property(frameArb, checkFrame) as never,
    'legacy-text': () => property(legacyTextArb, checkLegacyText) as never,
    'statsd-parser': () => property(statsdPacketArb, checkStatsdPacket) as never,
    config: () => property(configArb, checkConfig) as never,
    'client-api': () => property(fc.array(clientOpArb, { minLength: 1, maxLength: 10 }), client!.check, (ops) => ops.length) as never,
  };
  fc.check(props[target]!(), { numRuns: runs, seed });
  await client?.z.close({ timeoutMs: 0 });
  await send({ type: 'end', ...p });
  process.disconnect();
}

interface TargetResult extends Progress {
  target: string;
  runs: number;
  hangs: number;
  seconds: number;
}

function runTarget(target: string, runs: number, seed: number, broker: string): Promise<TargetResult> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const args: WorkerArgs = { target, runs, seed, broker };
    const worker = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ZIBRATO_FUZZ_WORKER: JSON.stringify(args) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let last: Progress = { done: 0, failures: 0, examples: [], slowestMs: 0, calls: 0 };
    let lastMoveAt = Date.now();
    let hangs = 0;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      resolve({ target, runs, hangs, seconds: (Date.now() - t0) / 1000, ...last });
    };
    worker.on('message', (m: WorkerMessage) => {
      last = m;
      lastMoveAt = Date.now();
      if (m.type === 'end') finish();
    });
    worker.on('error', (err) => {
      last = { ...last, failures: last.failures + 1, examples: [...last.examples, `worker crashed: ${err.stack ?? err}`] };
      finish();
    });
    worker.on('exit', (code, signal) => {
      if (!settled && last.done < runs) last = { ...last, failures: last.failures + 1, examples: [...last.examples, `worker exited (${signal ?? code}) after ${last.done} inputs`] };
      finish();
    });
    // Progress comes twice a second while inputs finish: silence past the limit is one input that did not.
    const watchdog = setInterval(() => {
      if (Date.now() - lastMoveAt > PER_INPUT_LIMIT_MS) {
        hangs++;
        last = { ...last, examples: [...last.examples, `hang: an input ran past ${PER_INPUT_LIMIT_MS} ms (after input ${last.done})`] };
        worker.kill('SIGKILL');
        finish();
      }
    }, 1000);
  });
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const seedArg = process.argv.find((a) => a.startsWith('--seed='));
  const seed = seedArg ? Number(seedArg.slice(7)) : Date.now() % 2 ** 31;
  const broker = `tcp://127.0.0.1:${await freeTcpPort()}`;
  const results: TargetResult[] = [];
  process.stdout.write(`fuzz: seed ${seed}${quick ? ' (quick: 1 % of the inputs)' : ''}\n`);
  for (const [target, full] of Object.entries(TARGETS)) {
    if (filters.length > 0 && !filters.some((f) => target.includes(f))) continue;
    const runs = quick ? Math.ceil(full / 100) : full;
    const r = await runTarget(target, runs, seed, broker);
    results.push(r);
    process.stdout.write(`  ${target}: ${r.done.toLocaleString('en-US')} inputs (${r.calls.toLocaleString('en-US')} calls) in ${r.seconds.toFixed(1)} s, failures ${r.failures}, hangs ${r.hangs}, slowest input ${r.slowestMs.toFixed(1)} ms\n`);
    for (const e of r.examples) process.stdout.write(`    ${e}\n`);
  }
  const total = (k: 'done' | 'failures' | 'hangs') => results.reduce((n, r) => n + r[k], 0);
  const clientThrows = results.filter((r) => r.target === 'client-api').reduce((n, r) => n + r.failures, 0);
  const crashes = total('failures') - clientThrows;
  process.stdout.write(`fuzz: ${total('done').toLocaleString('en-US')} inputs; crashes ${crashes}, client throws or miscounts ${clientThrows}, hangs ${total('hangs')} (per-input limit ${PER_INPUT_LIMIT_MS} ms)\n`);
  process.stdout.write(`@@result ${JSON.stringify({ bench: 'fuzz', seed, quick, inputs: total('done'), crashes, clientThrows, hangs: total('hangs'), targets: results })}\n`);
  process.exitCode = total('failures') + total('hangs') === 0 && results.every((r) => r.done === r.runs) ? 0 : 1;
}

if (process.env.ZIBRATO_FUZZ_WORKER === undefined) {
  main().catch((err) => {
    process.stderr.write(`fuzz: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  });
} else {
  runInWorker().catch((err) => {
    process.stderr.write(`fuzz worker: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  });
}
