// A publisher process for the delivery fault scenarios: makes `rate` counter increments per second
// at level info for `durationMs`, then closes (waiting up to 30 s to send what it holds) and prints
// one line: `done {"made":…,"stats":{…client stats…}}`. Progress lines `made N` every second.
// usage: node rate-publisher.mjs <endpoint> <name> <rate> <durationMs> [flushIntervalMs] [source] [series]
// With `series` > 1 the increments go round-robin to that many series of the counter (tag s=0…series−1),
// so sharded backends (--shard K/N) each get a share.
import { Zibrato } from '../../dist/index.js';

const [endpoint, name, rateText, durationText, flushText, source, seriesText] = process.argv.slice(2);
const rate = Number(rateText);
const durationMs = Number(durationText);
const z = new Zibrato({ broker: endpoint, source: source || 'fault-publisher', flushIntervalMs: flushText ? Number(flushText) : undefined, log: (l) => console.error(l) });
const h = z.counterHandle({ name });
const series = Number(seriesText) > 1 ? Array.from({ length: Number(seriesText) }, (_, i) => z.counterHandle({ name, tags: { s: String(i) } })) : [h];
const TICK_MS = 5;
const start = Date.now();
let made = 0;
let lastReport = start;
while (Date.now() - start < durationMs) {
  // Catch up to the rate at each tick (bounded: never more than one second of records at once).
  const due = Math.min(Math.floor(((Date.now() - start) / 1000) * rate) - made, rate);
  for (let i = 0; i < due; i++) series[(made + i) % series.length].inc();
  made += Math.max(0, due);
  if (Date.now() - lastReport >= 1000) {
    lastReport = Date.now();
    console.log(`made ${made}`);
  }
  await new Promise((r) => setTimeout(r, TICK_MS));
}
await z.close({ timeoutMs: 30_000 });
console.log(`done ${JSON.stringify({ made, stats: z.stats() })}`);
process.exit(0);
