// A paced hot-shots publisher for the StatsD side of the end-to-end benchmarks.
// usage: node statsd-publisher.mjs <json options>
//   { port, name, rate, durationMs, startAt, kind: 'counter'|'timer', seed, maxBufferSize }
import StatsD from 'hot-shots';
import { lognormalValues } from '../lib/values.mjs';

const o = JSON.parse(process.argv[2]);
let errors = 0;
const client = new StatsD({ host: '127.0.0.1', port: o.port, maxBufferSize: o.maxBufferSize ?? 0, bufferFlushInterval: 10, errorHandler: () => errors++ });
const total = Math.round((o.rate * o.durationMs) / 1000);
const values = o.kind === 'timer' ? lognormalValues(o.seed ?? 1, total) : undefined;
client.increment('bench.warmup', 1); // binds the socket
process.stderr.write('publisher ready\n');
const wait = o.startAt - Date.now();
if (wait > 0) await new Promise((r) => setTimeout(r, wait));
const t0 = performance.now();
const cpu0 = process.cpuUsage();
let made = 0;
const slice = Math.max(200, Math.round(o.rate / 500));
while (made < total) {
  const byTime = Math.floor((o.rate * (performance.now() - t0)) / 1000);
  const due = Math.min(total, byTime, made + slice);
  if (o.kind === 'timer') for (; made < due; made++) client.timing(o.name, values[made]);
  else for (; made < due; made++) client.increment(o.name, 1);
  // Ahead of schedule: sleep a millisecond; behind: just let I/O run.
  await new Promise((r) => (made >= byTime ? setTimeout(r, 1) : setImmediate(r)));
}
const elapsedMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
await new Promise((r) => setTimeout(r, 50));
await new Promise((r) => client.close(() => r()));
console.log(JSON.stringify({ made, elapsedMs, achievedRate: made / (elapsedMs / 1000), cpuMs, sent: made, dropped: 0, errors }));
process.exit(0);
