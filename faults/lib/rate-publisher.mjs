// A publisher process for the delivery fault scenarios: makes `rate` counter increments per second
// at level info for `durationMs`, then closes (waiting up to 30 s to send what it holds) and prints
// one line: `done {"made":…,"madeWhileOff":…,"stats":{…client stats…}}`. Progress lines `made N` every second.
// `madeWhileOff` is the calls made while the client had the level off (no subscriber): the client makes
// and counts nothing for them, by design, so a scenario that sees them can tell why they show up nowhere.
// For the multi-host test (test/multihost/netns.test.ts), optionally: `series` > 1 spreads the
// increments over that many series (tag i), so every shard gets some; a timer file adds one timer
// (level warn, `<name>.latency`) per 10 increments, with values from a seeded generator of shape
// `shape` (0 uniform, 1 heavy tail, 2 bimodal), and writes every value recorded to that file (JSON
// array, ms) so the test can compute the exact percentile; `done` then also carries `timers`. With
// `series` > 1 it waits (up to 20 s) until the client is ready before it starts.
// usage: node rate-publisher.mjs <endpoint> <name> <rate> <durationMs> [flushIntervalMs] [source] [series] [timerFile] [shape]
import { writeFileSync } from 'node:fs';
import { Zibrato } from '../../dist/index.js';

const [endpoint, name, rateText, durationText, flushText, source, seriesText, timerFile, shapeText] = process.argv.slice(2);
const rate = Number(rateText);
const durationMs = Number(durationText);
const series = Number(seriesText || 1);
const z = new Zibrato({ broker: endpoint, source: source || 'fault-publisher', flushIntervalMs: flushText ? Number(flushText) : undefined, log: (l) => console.error(l) });
const handles = series > 1 ? Array.from({ length: series }, (_, i) => z.counterHandle({ name, tags: { i: String(i) } })) : [z.counterHandle({ name })];
const timer = timerFile ? z.timerHandle({ name: `${name}.latency`, level: 'warn' }) : undefined;
const timerValues = [];
// mulberry32: deterministic per shape.
let seed = 0x9e3779b9 ^ Number(shapeText || 0);
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const shapes = [() => 2 + random() * 8, () => Math.exp(2 + 1.5 * (random() + random() + random() - 1.5)), () => (random() < 0.9 ? 20 + random() * 5 : 400 + random() * 200)];
const shape = shapes[Number(shapeText || 0)] ?? shapes[0];
// With several series (the multi-host test), start once the subscriptions and shard counts are known:
// records made before the client has learned that a level is sharded go out on the plain level topic,
// which only unsharded backends receive.
if (series > 1 && !(await z.ready({ levels: timer ? ['info', 'warn'] : ['info'], timeoutMs: 20_000 }))) console.error('not ready within 20 s; publishing anyway');
const TICK_MS = 5;
const start = Date.now();
let made = 0;
let madeWhileOff = 0;
let lastReport = start;
while (Date.now() - start < durationMs) {
  // Catch up to the rate at each tick (bounded: never more than one second of records at once).
  const due = Math.min(Math.floor(((Date.now() - start) / 1000) * rate) - made, rate);
  for (let n = 0; n < due; n++) {
    const h = handles[(made + n) % handles.length];
    if (!h.enabled) madeWhileOff++;
    h.inc();
    if (timer && (made + n) % 10 === 0) {
      const v = shape();
      timer.record(v);
      timerValues.push(v);
    }
  }
  made += Math.max(0, due);
  if (Date.now() - lastReport >= 1000) {
    lastReport = Date.now();
    console.log(`made ${made}`);
  }
  await new Promise((r) => setTimeout(r, TICK_MS));
}
await z.close({ timeoutMs: 30_000 });
if (timerFile) writeFileSync(timerFile, JSON.stringify(timerValues));
console.log(`done ${JSON.stringify({ made, madeWhileOff, ...(timerFile ? { timers: timerValues.length } : {}), stats: z.stats() })}`);
process.exit(0);
