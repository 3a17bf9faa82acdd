// A paced Zibrato publisher for the end-to-end benchmarks.
// usage: node zibrato-publisher.mjs <json options>
//   { endpoint, name, rate (records/s), durationMs, startAt (epoch ms), kind: 'counter'|'timer'|'latency', seed, flushIntervalMs,
//     series (counters only: spread over this many series, tag s=0…series−1; default 1) }
// Prints one JSON line: what it made, what the client says it sent and dropped.
import { Zibrato } from '../../dist/index.js';
import { lognormalValues } from '../lib/values.mjs';

const o = JSON.parse(process.argv[2]);
const z = new Zibrato({ broker: o.endpoint, source: o.source ?? '', maxBufferedRecords: o.maxBufferedRecords ?? 1_000_000, flushIntervalMs: o.flushIntervalMs ?? 10, log: (l) => process.stderr.write(`${l}\n`) });
if (!(await z.ready({ levels: ['info'], timeoutMs: 10_000 }))) {
  process.stderr.write('publisher: no subscriber for info\n');
  process.exit(3);
}
process.stderr.write('publisher ready\n');
const counter = z.counterHandle({ name: o.name });
/** Sharded benchmarks need many series: one per shard would measure one backend. */
const counters = Array.from({ length: o.series ?? 1 }, (_, i) => (o.series > 1 ? z.counterHandle({ name: o.name, tags: { s: String(i) } }) : counter));
const timer = z.timerHandle({ name: o.name });
const gauge = z.gaugeHandle({ name: o.name });
const total = Math.round((o.rate * o.durationMs) / 1000);
const values = o.kind === 'timer' ? lognormalValues(o.seed ?? 1, total) : undefined;

const wait = o.startAt - Date.now();
if (wait > 0) await new Promise((r) => setTimeout(r, wait));
const t0 = performance.now();
const cpu0 = process.cpuUsage();
let made = 0;
/** Most records per slice between yields, so batches leave while we produce (as in a real app). */
const slice = Math.max(1000, Math.round(o.rate / 500));
while (made < total) {
  const byTime = Math.floor((o.rate * (performance.now() - t0)) / 1000);
  const due = Math.min(total, byTime, made + slice);
  if (o.kind === 'timer') for (; made < due; made++) timer.record(values[made]);
  else if (o.kind === 'latency') for (; made < due; made++) gauge.set(Number(process.hrtime.bigint()) / 1e6);
  else if (counters.length > 1) for (; made < due; made++) counters[made % counters.length].inc();
  else for (; made < due; made++) counter.inc();
  // Ahead of schedule: sleep a millisecond; behind: just let I/O run.
  await new Promise((r) => (made >= byTime ? setTimeout(r, 1) : setImmediate(r)));
}
const elapsedMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
await z.close({ timeoutMs: 20_000 });
console.log(JSON.stringify({ made, elapsedMs, achievedRate: made / (elapsedMs / 1000), cpuMs, ...z.stats() }));
process.exit(0);
