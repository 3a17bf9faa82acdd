// The load generator, in its own process so its CPU is not the service's. Two modes:
//   node bench/app/load.mjs '{"url":"http://127.0.0.1:PORT","rate":2000,"amount":10000,"connections":10}'
//     one run, one JSON line, exit;
//   node bench/app/load.mjs --serve
//     one JSON command a line on stdin, one `@@load <json>` line per run on stdout, so the
//     harness's many short windows pay no process start-up (and the generator stays as warm
//     from one window to the next). A command may name `pools`: every response's latency of
//     that run is also kept under each name, and `{"summary":true}` answers `@@pools <json>`,
//     the percentiles over everything each pool gathered (bench/app/main.ts pools by variant).
// Requests alternate between /json and /db; the user id walks 10,000 values.
// `rate` 0 = saturation (as fast as the connections go). It always sends an
// exact `amount` of requests and waits for every answer, so what completed is
// what the service measured (a run cut at a deadline would leave requests the
// service counts and autocannon does not). A run answers what completed,
// errors, and latencies (exact percentiles in ms, from every response's own
// duration: autocannon's histogram keeps whole milliseconds only).
import autocannon from 'autocannon';
import { createInterface } from 'node:readline';

const maxSamples = 2_000_000;
const lat = new Float64Array(maxSamples);

/** Exact percentiles (ms) of `xs`, sorted in place. */
function percentiles(xs) {
  xs.sort();
  const n = xs.length;
  const q = (p) => (n ? xs[Math.min(n - 1, Math.floor(p * n))] : null);
  return { p50: q(0.5), p99: q(0.99), p999: q(0.999), mean: n ? xs.reduce((a, b) => a + b, 0) / n : null, samples: n };
}

/** Latencies (ms) gathered per pool name, grown as needed. */
const pools = new Map();
function addToPool(name, xs) {
  let p = pools.get(name);
  if (!p) pools.set(name, (p = { xs: new Float64Array(Math.max(65_536, xs.length)), n: 0 }));
  if (p.n + xs.length > p.xs.length) {
    const next = new Float64Array(Math.max(p.xs.length * 2, p.n + xs.length));
    next.set(p.xs.subarray(0, p.n));
    p.xs = next;
  }
  p.xs.set(xs, p.n);
  p.n += xs.length;
}

/** One run of `o.amount` requests; resolves with what completed and its latencies. */
async function run(o) {
  const USERS = o.users ?? 10_000;
  let seq = o.userOffset ?? 0;
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
  const intervals = [];
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
      client.rate = Math.min(maxCatchUp, Math.max(0, due - client.reqsMade));
      client.reqsMadeThisSecond = 0;
      if (client.paused && client.rate > 0) {
        client.paused = false;
        client._doRequest(client.cer);
      }
    }, windowMs);
    intervals.push(client.rateInterval);
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
  // autocannon clears its own limiter, not the ticks that replaced it.
  for (const t of intervals) clearInterval(t);
  const xs = lat.subarray(0, n);
  for (const name of o.pools ?? []) addToPool(name, xs);
  const completed = r['2xx'] + r.non2xx;
  return {
    completed,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    seconds: (lastResponseAt - startedAt) / 1000,
    rps: completed / ((lastResponseAt - startedAt) / 1000),
    latencyMs: percentiles(xs),
    nextUser: seq,
  };
}

if (process.argv[2] === '--serve') {
  // Commands run one after the other, in the order they came.
  let chain = Promise.resolve();
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (!line.trim()) return;
    const o = JSON.parse(line);
    chain = chain.then(async () => {
      if (o.summary) {
        const out = {};
        for (const [name, p] of pools) out[name] = percentiles(p.xs.subarray(0, p.n));
        process.stdout.write(`@@pools ${JSON.stringify(out)}\n`);
        return;
      }
      try {
        process.stdout.write(`@@load ${JSON.stringify({ id: o.id, ...(await run(o)) })}\n`);
      } catch (err) {
        process.stdout.write(`@@load ${JSON.stringify({ id: o.id, failed: String(err?.stack ?? err) })}\n`);
      }
    });
  }).on('close', () => void chain.then(() => process.exit(0)));
} else {
  process.stdout.write(JSON.stringify(await run(JSON.parse(process.argv[2] ?? '{}'))) + '\n');
  process.exit(0);
}
