// The service under test: a fastify app with one JSON route and one route that
// waits on a small async "database" call, instrumented by one of the variants.
//   node --import tsx bench/app/service.ts '{"variant":"zibrato","port":0,"peers":{...}}'
// GET /__cpu answers the process's CPU time. Prints `@@listening <port>` once it serves; on SIGTERM it closes the
// instrumentation (a final send/export) and exits.
import Fastify, { type FastifyInstance } from 'fastify';
import { setTimeout as delay } from 'node:timers/promises';
import { createInstrumentation, type PeerEndpoints, type Variant } from './instrumentations.js';

interface ServiceConfig {
  variant: Variant;
  port: number;
  peers: PeerEndpoints;
  /** The "DB" wait of /db, in ms. */
  dbWaitMs?: number;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as ServiceConfig;
const dbWaitMs = cfg.dbWaitMs ?? 1;
const inst = await createInstrumentation(cfg.variant, cfg.peers);

const app = Fastify({ logger: false });

/** The two routes every variant serves; a user id comes in the query string. */
async function routes(scope: FastifyInstance): Promise<void> {
  if (inst) {
    scope.addHook('onRequest', (_req, _reply, done) => {
      inst.requestStarted();
      done();
    });
    scope.addHook('onResponse', (req, reply, done) => {
      // reply.elapsedTime is fastify's own per-request clock: every variant times the same interval.
      inst.requestEnded(req.routeOptions.url ?? 'unknown', req.method, String(reply.statusCode), reply.elapsedTime, (req.query as { user?: string }).user ?? 'anonymous');
      done();
    });
  }
  scope.get('/json', async (req) => ({ ok: true, user: (req.query as { user?: string }).user ?? null, items: [1, 2, 3] }));
  scope.get('/db', async (req) => {
    await delay(dbWaitMs);
    return { ok: true, user: (req.query as { user?: string }).user ?? null, rows: 1 };
  });
}
await app.register(routes);

// Outside the instrumented scope: the harness reads the process's CPU time here
// (getrusage: every thread, µs resolution, where /proc/<pid>/stat counts 10 ms ticks).
// monotonicUs (CLOCK_MONOTONIC, the clock of V8's CPU profile timestamps) lets the harness cut a
// `--cpu-prof` profile down to the measured phase, without start-up and warm-up.
app.get('/__cpu', async () => ({ ...process.cpuUsage(), monotonicUs: Number(process.hrtime.bigint() / 1000n) }));

// Outside the instrumented scope too: a scrape is not a request of the app.
if (inst?.metricsText) {
  const text = inst.metricsText.bind(inst);
  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(await text()));
}

await app.listen({ host: '127.0.0.1', port: cfg.port });
const addr = app.server.address();
process.stdout.write(`@@listening ${typeof addr === 'object' && addr ? addr.port : cfg.port}\n`);

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void (async () => {
    await app.close();
    await inst?.close();
    process.stdout.write('@@closed\n');
    process.exit(0);
  })();
});
