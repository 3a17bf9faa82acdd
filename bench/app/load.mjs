// The load generator, in its own process so its CPU is not the service's. It
// stays up for the whole run and takes one command per line on stdin, so the
// benchmark can drive the variants in turn, in slices a second long, without a
// process start between them:
//   node bench/app/load.mjs
//   → {"id":1,"url":"http://127.0.0.1:PORT","rate":2000,"amount":2000,"connections":10,"userOffset":0,"collect":"zibrato"}
//   ← {"id":1,"completed":2000,…,"nextUser":2000}
//   → {"id":2,"latencies":"zibrato"}
//   ← {"id":2,"latencyMs":{"p50":…,"p99":…,"p999":…,"mean":…,"samples":…}}
// Requests alternate between /json and /db; the user id walks 10,000 values.
// `rate` 0 = saturation (as fast as the connections go). A command always sends
// an exact `amount` of requests and waits for every answer, so what completed is
// what the service measured (a run cut at a deadline would leave requests the
// service counts and autocannon does not). Latencies are kept per `collect` key
// across commands, from every response's own duration (autocannon's histogram
// keeps whole milliseconds only), until a `latencies` command reads them out:
// exact percentiles over every slice of a variant. Exits when stdin closes.
import autocannon from 'autocannon';
import { createInterface } from 'node:readline';

/** Response times (ms) per `collect` key, since that key was last read out. */
const collected = new Map();

function samplesFor(key) {
  let s = collected.get(key);
  if (!s) collected.set(key, (s = []));
  return s;
}

/** Exact percentiles of what `key` collected, then forgets it. */
function latencies(key) {
  const xs = Float64Array.from(collected.get(key) ?? []).sort();
  collected.delete(key);
  const n = xs.length;
  const q = (p) => (n ? xs[Math.min(n - 1, Math.floor(p * n))] : null);
  return { p50: q(0.5), p99: q(0.99), p999: q(0.999), mean: n ? xs.reduce((a, b) => a + b, 0) / n : null, samples: n };
}

/** One load command: `amount` requests at `rate` (0: saturation) over `connections`. */
async function run(o) {
  const users = o.users ?? 10_000;
  let seq = o.userOffset ?? 0;
  const sink = o.collect === undefined ? undefined : samplesFor(o.collect);
  const opts = {
    url: o.url,
    connections: o.connections ?? 10,
    pipelining: 1,
    timeout: 10,
    // autocannon notices that the last request is done only on its sampling tick (1 s by default):
    // a short tick ends the run promptly, so the service's CPU is not read after a second of idling.
    sampleInt: 20,
    requests: [
      {
        setupRequest: (req) => {
          const i = seq++;
          req.path = `${i & 1 ? '/db' : '/json'}?user=u${i % users}`;
          return req;
        },
      },
    ],
    // With `amount`, autocannon has no time limit of its own: the harness kills this process by PID past its bound.
    amount: o.amount,
  };
  // A fixed rate, paced smoothly. autocannon's own limiter lets each connection send its whole
  // per-second quota back to back at the start of every second, then idle: at 2,000/s that is
  // a burst of 2,000 requests a second, and latency would measure the queue of the burst. So
  // each connection is paced to one request per `windowMs`: its limiter's 1 s interval is
  // replaced, on its first response, by a `windowMs` tick that allows what the schedule says is
  // due by now (a late tick or a slow response is caught up, at most `maxCatchUp` at once).
  const windowMs = o.rate ? (1000 * opts.connections) / o.rate : 0;
  const maxCatchUp = 4;
  if (o.rate) {
    opts.connectionRate = 1;
    // Latency comes from every response's own duration (below), not autocannon's histogram.
    opts.ignoreCoordinatedOmission = true;
  }
  const paced = new WeakSet();
  const pace = (client) => {
    if (paced.has(client)) return;
    paced.add(client);
    if (typeof client._doRequest !== 'function' || !('reqsMadeThisSecond' in client) || !('rateInterval' in client) || !('reqsMade' in client)) {
      throw new Error('autocannon internals changed: cannot pace its connections (bench/app/load.mjs)');
    }
    const start = performance.now();
    const madeAtStart = client.reqsMade;
    clearInterval(client.rateInterval);
    client.rateInterval = setInterval(() => {
      const due = madeAtStart + Math.floor((performance.now() - start) / windowMs);
      client.rate = Math.min(maxCatchUp, Math.max(0, due - client.reqsMade));
      client.reqsMadeThisSecond = 0;
      if (client.paused && client.rate > 0) {
        client.paused = false;
        client._doRequest(client.cer);
      }
    }, windowMs);
  };

  const startedAt = performance.now();
  let lastResponseAt = startedAt;
  const instance = autocannon(opts);
  instance.on('response', (client, statusCode, _bytes, responseTimeMs) => {
    lastResponseAt = performance.now();
    if (windowMs) pace(client);
    if (sink && statusCode === 200) sink.push(responseTimeMs);
  });
  const r = await instance;
  const completed = r['2xx'] + r.non2xx;
  const seconds = (lastResponseAt - startedAt) / 1000;
  return { completed, ok: r['2xx'], non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, seconds, rps: completed / seconds, nextUser: seq };
}

// One command at a time, in order: the harness waits for each answer before the next.
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const o = JSON.parse(line);
  const answer = o.latencies !== undefined ? { latencyMs: latencies(o.latencies) } : await run(o);
  process.stdout.write(`${JSON.stringify({ id: o.id, ...answer })}\n`);
}
process.exit(0);
