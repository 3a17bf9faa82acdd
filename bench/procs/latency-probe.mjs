// Subscribes to `info` on the broker like a backend and, for every record of
// the gauge named on the command line, records receive time − value, where the
// publisher set value = process.hrtime.bigint() in ms at the call (the same
// monotonic clock in every process on a machine).
// usage: node latency-probe.mjs <subscribe endpoint> <name> <skipFirstMs> <maxMs>
import * as zmq from 'zeromq';
import * as wire from '../../dist/entries/wire.js';

const [endpoint, name, skipText, maxText] = process.argv.slice(2);
const skipMs = Number(skipText);
const sock = new zmq.Subscriber();
sock.connect(endpoint);
sock.subscribe('info|');
process.stderr.write('probe subscribed\n');
const lat = [];
let firstAt = 0;
let lastAt = 0;
const deadline = setTimeout(() => sock.close(), Number(maxText));
const idle = setInterval(() => {
  if (lastAt && performance.now() - lastAt > 1500) sock.close();
}, 200);
try {
  for await (const frames of sock) {
    if (frames.length !== 2) continue;
    const now = Number(process.hrtime.bigint()) / 1e6;
    const batch = wire.decodeBatch(frames[1]);
    const idx = batch.series.findIndex((s) => s.name === name);
    if (idx < 0) continue;
    lastAt = performance.now();
    if (!firstAt) firstAt = now;
    for (let i = 0; i < batch.recordCount; i++) {
      if (wire.recordSeries(batch, i) !== idx) continue;
      const v = wire.recordValue(batch, i);
      if (v - firstAt >= skipMs) lat.push(now - v);
    }
  }
} catch {
  // closed
}
clearTimeout(deadline);
clearInterval(idle);
lat.sort((a, b) => a - b);
const q = (x) => lat[Math.floor(x * (lat.length - 1))];
console.log(JSON.stringify({ records: lat.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: lat.at(-1) }));
process.exit(0);
