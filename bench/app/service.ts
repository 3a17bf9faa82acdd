// The service under test: a fastify app with one JSON route and one route that
// waits on a small async "database" call, instrumented by one of the variants.
//   node --import tsx bench/app/service.ts '{"variant":"zibrato","port":0,"peers":{...}}'
// Prints `@@listening <port>` once it serves; on SIGTERM it closes the instrumentation
// (a final send/export) and exits. The harness reads its CPU time from the scheduler
// (bench/app/cpu.ts), so measuring sends it no request of its own.
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

// Outside the instrumented scope: a scrape is not a request of the app.
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
