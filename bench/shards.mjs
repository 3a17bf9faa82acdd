// Aggregation throughput with 1, 2 and 4 backends sharing the `info` level by
// series (`--shard K/N`, docs/delivery.md "Sharded backends"), in one run: the
// same lossless rate search as bench/throughput.mjs (every record made reached
// one of the backends, the publishers kept up, the last record arrived within
// the delivery window) for each layout, with the CPU each stage spent per record.
// With 1 backend it is unsharded (`info|`); with N ≥ 2 every backend has --shard K/N.
// usage: node bench/shards.mjs [--quick]
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSecondsOf, emitResult, freeTcpPort, isQuick, pollUntil, runBench, zibrato } from './lib/common.mjs';
import { runPublishers, ZIB_PUBLISHER } from './lib/systems.mjs';

const quick = isQuick();
const DURATION_MS = quick ? 2000 : 5000;
const PUBLISHERS = 2;
/**
 * Series per publisher: enough that every shard gets a fair share (jump
 * hashing spreads them within a few %), and few enough that one batch's
 * series table (16 KiB, ~490 of these series) holds them all. With more, an
 * unsharded publisher's batches are cut at ~490 records by the table, every
 * record then costs the backend a series lookup, and the comparison would
 * measure that (sharding splits the table) instead of the backends.
 */
const SERIES = 256;
/** As in bench/throughput.mjs: everything must have arrived within two of the backends' 500 ms flushes. */
const DELIVERY_MS = 1000;
const LAYOUTS = (process.env.ZIBRATO_BENCH_SHARD_LAYOUTS ?? "1,2,4").split(",").map(Number);
const RATES = quick ? [1_000_000, 2_000_000, 4_000_000] : [1_000_000, 2_000_000, 4_000_000, 6_000_000, 8_000_000, 12_000_000, 16_000_000, 24_000_000];

/** Sum of counter `name` over a file sink's rows (a line being written is skipped). */
function counted(file, name) {
  if (!existsSync(file)) return 0;
  let n = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes(name)) continue;
    try {
      const r = JSON.parse(line);
      if (r.type === 'counter' && r.name === name) n += r.value;
    } catch {
      // a line being written
    }
  }
  return n;
}

/** A broker and `shards` file backends (one unsharded when `shards` is 1). */
async function startLayout(shards) {
  const dir = mkdtempSync(join(tmpdir(), `zibrato-bench-shards-${shards}-`));
  const pub = `tcp://127.0.0.1:${await freeTcpPort()}`;
  const sub = `tcp://127.0.0.1:${await freeTcpPort()}`;
  const broker = zibrato(['broker', '--publish', pub, '--subscribe', sub, '--stats-interval', '0'], 'broker');
  await broker.waitFor(/broker up/);
  const backends = [];
  for (let k = 1; k <= shards; k++) {
    const file = join(dir, `shard-${k}.jsonl`);
    const args = ['backend', 'file', '--name', `shard-${k}`, '--levels', 'info', '--flush', '500ms', '--broker', sub, '--path', file, '--no-self-metrics'];
    if (shards > 1) args.push('--shard', `${k}/${shards}`);
    const proc = zibrato(args, `backend ${k}/${shards}`);
    backends.push({ proc, file });
  }
  await Promise.all(backends.map((b) => b.proc.waitFor(/subscribed/)));
  return { pub, broker, backends };
}

async function search(shards) {
  const layout = await startLayout(shards);
  const trials = [];
  let best = null;
  let trialNo = 0;
  try {
    for (const rate of RATES) {
      let passed = false;
      for (let attempt = 0; attempt < 2 && !passed; attempt++) {
        const name = `bench.shards.n${shards}.t${++trialNo}`;
        const pids = [layout.broker.pid, ...layout.backends.map((b) => b.proc.pid)];
        const cpu0 = pids.map(cpuSecondsOf);
        // The publishers wait in ready() until every shard of the count they learned subscribes.
        const p = await runPublishers(ZIB_PUBLISHER, PUBLISHERS, { endpoint: layout.pub, name, rate, durationMs: DURATION_MS, kind: 'counter', series: SERIES }, 'zib-pub');
        const endedAt = Date.now();
        let perBackend = [];
        await pollUntil(() => (perBackend = layout.backends.map((b) => counted(b.file, name))).reduce((a, n) => a + n, 0) >= p.made, Math.max(2000, DURATION_MS / 2), 100);
        const received = perBackend.reduce((a, n) => a + n, 0);
        const deliveredMs = received >= p.made ? Date.now() - endedAt : null;
        const cpu = pids.map((pid, i) => cpuSecondsOf(pid) - cpu0[i]);
        const [brokerCpuS, ...backendCpuS] = cpu;
        passed = received === p.made && p.dropped === 0 && p.achievedRate >= 0.95 * rate && deliveredMs !== null && deliveredMs <= DELIVERY_MS;
        const trial = { rate, attempt, passed, made: p.made, received, perBackend, dropped: p.dropped, achievedRate: p.achievedRate, deliveredMs, brokerCpuS, backendCpuS, publisherCpuMs: p.publisherCpuMs };
        trials.push(trial);
        process.stderr.write(
          `shards ${shards}: ${rate}/s → made ${p.made}, received ${received} (${perBackend.join(' + ')}), achieved ${Math.round(p.achievedRate)}/s, broker ${brokerCpuS.toFixed(2)} s CPU, backends ${backendCpuS.map((c) => c.toFixed(2)).join('/')} s CPU ${passed ? 'PASS' : 'fail'}\n`,
        );
      }
      if (!passed) break;
      best = rate;
    }
  } finally {
    for (const b of layout.backends) await b.proc.stop('SIGTERM');
    await layout.broker.stop('SIGTERM');
  }
  return { shards, losslessRate: best, maxTried: RATES.at(-1), limit: limitOf(trials, best), trials };
}

/**
 * What stopped the search, from the first failing trial: the publishers could
 * not make the rate, or records arrived late or not at all; and which process
 * was the busiest per second of the trial (the stage nearest to one core).
 */
function limitOf(trials, best) {
  const failed = trials.find((t) => !t.passed && t.rate > (best ?? 0) && t.attempt === 1) ?? trials.find((t) => !t.passed && t.rate > (best ?? 0));
  const seconds = DURATION_MS / 1000;
  const last = failed ?? trials.at(-1);
  if (!last) return null;
  const busiestBackend = Math.max(...last.backendCpuS) / seconds;
  const broker = last.brokerCpuS / seconds;
  const publishers = last.publisherCpuMs / 1000 / seconds;
  const reason = !failed
    ? 'every rate tried passed'
    : failed.achievedRate < 0.95 * failed.rate
      ? `the publishers made only ${Math.round(failed.achievedRate).toLocaleString('en-US')}/s of ${failed.rate.toLocaleString('en-US')}/s`
      : failed.received < failed.made
        ? `${(failed.made - failed.received).toLocaleString('en-US')} records not counted within the window`
        : `the last record arrived after ${failed.deliveredMs ?? '>' + DELIVERY_MS} ms`;
  return { reason, atRate: last.rate, cores: { publishers, broker, busiestBackend, backendsTotal: last.backendCpuS.reduce((a, c) => a + c, 0) / seconds } };
}

async function main() {
  const layouts = [];
  for (const n of LAYOUTS) layouts.push(await search(n));
  emitResult({ bench: 'shards', durationMs: DURATION_MS, deliveryMs: DELIVERY_MS, publishers: PUBLISHERS, seriesPerPublisher: SERIES, layouts });
}

runBench('shards', main);
