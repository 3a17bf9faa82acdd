// The load generator, in its own process so its CPU is not the service's:
//   node bench/app/load.mjs '{"url":"http://127.0.0.1:PORT","rate":2000,"amount":10000,"connections":10}'
// Requests alternate between /json and /db; the user id walks 10,000 values.
// `rate` 0 = saturation (as fast as the connections go). It always sends an
// exact `amount` of requests and waits for every answer, so what completed is
// what the service measured (a run cut at a deadline would leave requests the
// service counts and autocannon does not). Prints one JSON line: what
// completed, errors, and latencies (exact percentiles in ms, from every
// response's own duration: autocannon's histogram keeps whole milliseconds only).
import autocannon from 'autocannon';

const o = JSON.parse(process.argv[2] ?? '{}');
const USERS = o.users ?? 10_000;
let seq = o.userOffset ?? 0;
const maxSamples = 2_000_000;
const lat = new Float64Array(maxSamples);
let n = 0;

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
        req.path = `${i & 1 ? '/db' : '/json'}?user=u${i % USERS}`;
        return req;
      },
    },
  ],
};
// With `amount`, autocannon has no time limit of its own: the harness kills this process by PID past its bound.
opts.amount = o.amount;
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
function pace(client) {
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
    const allowed = Math.min(maxCatchUp, Math.max(0, due - client.reqsMade));
    // autocannon reads a rate of 0 as "no limit": with nothing due, the connection would send
    // back to back until the next tick. So the rate stays at least 1 and the tick's count starts
    // at what is not allowed: with nothing due (rate 1, count 1) the next request waits.
    client.rate = Math.max(1, allowed);
    client.reqsMadeThisSecond = client.rate - allowed;
    if (client.paused && allowed > 0) {
      client.paused = false;
      client._doRequest(client.cer);
    }
  }, windowMs);
}

const startedAt = performance.now();
let lastResponseAt = startedAt;
const instance = autocannon(opts);
instance.on('response', (client, statusCode, _bytes, responseTimeMs) => {
  lastResponseAt = performance.now();
  if (windowMs) pace(client);
  if (statusCode === 200 && n < maxSamples) lat[n++] = responseTimeMs;
});
const r = await instance;
const xs = lat.subarray(0, n).sort();
const q = (p) => (n ? xs[Math.min(n - 1, Math.floor(p * n))] : null);
const completed = r['2xx'] + r.non2xx;
process.stdout.write(
  JSON.stringify({
    completed,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    seconds: (lastResponseAt - startedAt) / 1000,
    rps: completed / ((lastResponseAt - startedAt) / 1000),
    latencyMs: { p50: q(0.5), p99: q(0.99), p999: q(0.999), mean: n ? xs.reduce((a, b) => a + b, 0) / n : null, samples: n },
    nextUser: seq,
  }) + '\n',
);
process.exit(0);
