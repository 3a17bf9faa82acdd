import { withBackendTotals } from '../../../src/backend/temporality.js';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { graphiteSinkSpec } from '../../../src/sinks/graphite-sink.js';
import { libratoSinkSpec } from '../../../src/sinks/librato-sink.js';
import { otlpSinkSpec } from '../../../src/sinks/otlp-sink.js';
import { prometheusRemoteWriteSinkSpec } from '../../../src/sinks/prometheus-remote-write-sink.js';
import { resolveSinkOptions, type SinkSpec } from '../../../src/sinks/registry.js';
import type { Sink } from '../../../src/sinks/sink.js';
import { statsdSinkSpec } from '../../../src/sinks/statsd-sink.js';
import { freeTcpPort } from '../ports.js';
import { pollUntil } from '../processes.js';
import { CarbonPeer } from './carbon.js';
import { closeServer, listenLocal } from './http-server.js';
import { libratoReceiver, type LibratoBody } from './librato-receiver.js';
import type { JsonApiReceiver } from './json-api-receiver.js';
import { OtlpReceiver } from './otlp-receiver.js';
import { PrometheusPeer } from './prometheus.js';
import { StatsdPeer } from './statsd.js';
import { driveSink, rssMiB } from './sink-drive.js';

/** Every point the fault scenarios send is a counter named `fault.dest.<k>` of value 1, source `fault`. */
const NAME = 'fault.dest';

/** A forced HTTP answer: status and headers. */
export interface ForcedAnswer {
  status: number;
  headers?: Record<string, string>;
}

/**
 * A real destination (or the project's stand-in where the service is gone)
 * that can be stopped and started again on the same port, and asked how many
 * records (counter increments) it holds.
 */
export interface Destination {
  readonly name: string;
  /** HTTP destinations can be told to answer errors. */
  readonly http: boolean;
  /**
   * Cumulative destinations (remote write, Librato) get running totals, so a
   * dropped request's records arrive with the next one: their `sink.dropped`
   * is not a loss and is reported in the notes, not as counted.
   */
  readonly cumulative: boolean;
  /** The TCP port the sink connects to (a hung stand-in takes it during the fault). */
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  makeSink(spoolDir: string): Sink;
  /** The next requests get these answers (HTTP destinations only). */
  force(answers: ForcedAnswer[]): void;
  /** Records the destination holds, for flush timestamps in [fromMs, toMs]. */
  received(fromMs: number, toMs: number): Promise<number>;
  /** Removes temporary files. */
  remove(): void;
}

/** Delivery options for the scenarios: short backoffs, so a few seconds of fault are enough; a request timeout above the 2 s the old TCP sender waited before assuming delivery. */
const FAULT_DELIVERY = { quickRetries: 1, retryInitialDelayMs: 50, retryMaxDelayMs: 1_000, requestTimeoutMs: 3_000, exportBudgetMs: 1_000, stopBudgetMs: 10_000 };

function sinkOf(spec: SinkSpec, options: Record<string, unknown>): Sink {
  // Driven without a backend: a cumulative sink gets the totals a backend would give it.
  return withBackendTotals(spec.create(resolveSinkOptions(spec, { ...FAULT_DELIVERY, ...options }, 'fault'), { backendName: 'fault', log: () => undefined }));
}

async function statsdDestination(dir: string): Promise<Destination> {
  const peer = await StatsdPeer.create(dir);
  return {
    name: 'statsd',
    http: false,
    cumulative: false,
    port: peer.tcpPort,
    start: () => peer.start(),
    stop: () => peer.stop(),
    // Over TCP: over UDP an outage cannot be noticed at all (documented), so nothing could be spooled.
    makeSink: (spoolDir) => sinkOf(statsdSinkSpec, { port: peer.tcpPort, protocol: 'tcp', spoolDir }),
    force: () => undefined,
    received: async () => Object.values(peer.totals('fault.').counters).reduce((a, b) => a + b, 0),
    remove: () => undefined,
  };
}

async function graphiteDestination(dir: string): Promise<Destination> {
  const peer = await CarbonPeer.create(dir);
  return {
    name: 'graphite',
    http: false,
    cumulative: false,
    port: peer.linePort,
    start: () => peer.start(),
    stop: () => peer.stop(),
    makeSink: (spoolDir) => sinkOf(graphiteSinkSpec, { port: peer.linePort, tags: 'path', spoolDir }),
    force: () => undefined,
    // Each flush has its own second, so summing `.count` over the range counts every record once.
    received: (fromMs, toMs) => peer.sumRange(NAME, 'count', Math.floor(fromMs / 1000), Math.floor(toMs / 1000)),
    remove: () => undefined,
  };
}

/**
 * An HTTP front that answers forced errors and otherwise forwards to `target`
 * (a real Prometheus), so a real destination can be made to answer 400/429/503.
 */
class ForcingProxy {
  readonly forced: ForcedAnswer[] = [];
  private server: HttpServer | undefined;
  port = 0;
  constructor(private readonly targetPort: () => number) {}
  async start(port = 0): Promise<void> {
    const server = createHttpServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const f = this.forced.shift();
        if (f) {
          res.writeHead(f.status, f.headers).end(`forced ${f.status}`);
          return;
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
        fetch(`http://127.0.0.1:${this.targetPort()}${req.url ?? '/'}`, { method: req.method, headers, body: Buffer.concat(chunks), signal: AbortSignal.timeout(5_000) })
          .then(async (r) => res.writeHead(r.status).end(Buffer.from(await r.arrayBuffer())))
          .catch(() => res.destroy());
      });
    });
    this.port = await listenLocal(server, port);
    this.server = server;
  }
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await closeServer(s);
  }
}

async function remoteWriteDestination(dir: string): Promise<Destination> {
  const peer = await PrometheusPeer.create(dir);
  const proxy = new ForcingProxy(() => peer.port);
  const port = await freeTcpPort();
  return {
    name: 'prometheus-remote-write',
    http: true,
    cumulative: true,
    port,
    async start() {
      await peer.start();
      await proxy.start(port);
    },
    async stop() {
      await proxy.stop();
      await peer.stop();
    },
    makeSink: (spoolDir) => sinkOf(prometheusRemoteWriteSinkSpec, { url: `http://127.0.0.1:${port}/api/v1/write`, spoolDir }),
    force: (answers) => proxy.forced.push(...answers),
    async received(_fromMs, toMs) {
      const r = await peer.query(`sum({__name__=~"fault_dest_.*_total"})`, toMs / 1000);
      return r.length === 0 ? 0 : Number(r[0]!.value[1]);
    },
    remove: () => undefined,
  };
}

async function otlpDestination(): Promise<Destination> {
  const receiver = new OtlpReceiver();
  const port = await freeTcpPort();
  return {
    name: 'otlp',
    http: true,
    cumulative: false,
    port,
    start: () => receiver.start(port),
    stop: () => receiver.stop(),
    makeSink: (spoolDir) => sinkOf(otlpSinkSpec, { url: `http://127.0.0.1:${port}/v1/metrics`, spoolDir }),
    force: (answers) => receiver.failures.push(...answers),
    async received() {
      let n = 0;
      for (const r of receiver.received) {
        for (const rm of (r.request.resourceMetrics ?? []) as { scopeMetrics: { metrics: { name: string; sum?: { dataPoints: { asDouble: number }[] } }[] }[] }[]) {
          for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.name.startsWith(NAME) && m.sum) for (const dp of m.sum.dataPoints) n += dp.asDouble;
        }
      }
      return n;
    },
    remove: () => undefined,
  };
}

async function libratoDestination(): Promise<Destination> {
  const receiver: JsonApiReceiver<LibratoBody> = libratoReceiver('fault@example.com', 'fault-token');
  const port = await freeTcpPort();
  return {
    name: 'librato',
    http: true,
    cumulative: true,
    port,
    start: () => receiver.start(port),
    stop: () => receiver.stop(),
    makeSink: (spoolDir) => sinkOf(libratoSinkSpec, { url: `http://127.0.0.1:${port}`, email: 'fault@example.com', token: 'fault-token', spoolDir }),
    force: (answers) => receiver.failures.push(...answers),
    async received() {
      // Librato counters are running totals: the last total of each series is what it holds.
      const last = new Map<string, number>();
      for (const a of receiver.accepted) for (const c of a.body.counters ?? []) if (typeof c.name === 'string' && c.name.startsWith(NAME)) last.set(`${String(c.name)}|${String(c.source ?? '')}`, Number(c.value));
      let n = 0;
      for (const v of last.values()) n += v;
      return n;
    },
    remove: () => undefined,
  };
}

/** Every network destination, created on free ports (not started). */
export async function allDestinations(root: string): Promise<Destination[]> {
  const sub = (name: string): string => {
    const d = join(root, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  return [await statsdDestination(sub('statsd')), await graphiteDestination(sub('carbon')), await remoteWriteDestination(sub('prometheus')), await otlpDestination(), await libratoDestination()];
}

/** A TCP server that accepts connections and never reads or answers: a hung destination. */
export class HungServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  accepted = 0;
  async start(port: number): Promise<void> {
    const server = createServer((s) => {
      this.accepted++;
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.pause();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }
  /**
   * Resets every connection: a hung process never read the bytes, so when it
   * goes its kernel discards them with a reset. (A plain close would send FIN,
   * which a sender cannot tell from "read everything": the limit of protocols
   * without acknowledgements.)
   */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

/** What happens to a destination between flush `from` and flush `to`. */
export interface Fault {
  begin(d: Destination): Promise<void>;
  end(d: Destination): Promise<void>;
}

/** The outcome for one destination. */
export interface DestinationOutcome {
  name: string;
  made: number;
  received: number;
  sinkDropped: number;
  cumulative: boolean;
  recoverMs: number | null;
}

/** Waits (bounded) for `check`; false when it never held, so the outcome is counted rather than thrown. */
function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  return pollUntil(check, Boolean, 'the destination', timeoutMs).then(
    () => true,
    () => false,
  );
}

/**
 * Runs one destination through a fault: flushes before, during and after it,
 * then waits (bounded) for the spool to drain and the destination to hold
 * everything, and accounts for every record.
 */
export async function runDestinationFault(
  d: Destination,
  spoolDir: string,
  fault: Fault,
  o: { flushesBefore: number; faultMs: number; flushesAfter: number; intervalMs: number; pointsPerFlush: number },
): Promise<DestinationOutcome> {
  await d.start();
  const sink = d.makeSink(spoolDir);
  // Synthetic flush times one second apart (each its own Carbon bucket), recent enough for Prometheus.
  const flushes = o.flushesBefore + Math.ceil(o.faultMs / o.intervalMs) + o.flushesAfter;
  const baseMs = (Math.floor(Date.now() / 1000) - flushes - 120) * 1000;
  let faultBegan = false;
  let faultEndedAt: number | undefined;
  let sentAtEnd = 0;
  let recoverMs: number | null = null;
  let poll: NodeJS.Timeout | undefined;
  try {
    await sink.start?.();
    const { made } = await driveSink(sink, {
      flushes,
      intervalMs: o.intervalMs,
      pointsPerFlush: o.pointsPerFlush,
      name: NAME,
      timeMs: (i) => baseMs + i * 1000,
      before: async (i) => {
        if (i === o.flushesBefore) {
          // Carbon and StatsD keep acknowledged data in memory for a moment; stopping them
          // before they persist it would lose it at the destination, not in the pipeline.
          const sent = sink.status().sent;
          if (!d.cumulative) await until(async () => (await d.received(baseMs, baseMs + flushes * 1000)) >= sent, 15_000);
          await fault.begin(d);
          faultBegan = true;
        }
        if (faultBegan && faultEndedAt === undefined && i >= o.flushesBefore + Math.ceil(o.faultMs / o.intervalMs)) {
          await fault.end(d);
          faultEndedAt = Date.now();
          sentAtEnd = sink.status().sent;
          poll = setInterval(() => {
            if (recoverMs === null && sink.status().sent > sentAtEnd) {
              recoverMs = Date.now() - faultEndedAt!;
              clearInterval(poll);
            }
          }, 10);
        }
      },
    });
    await until(() => sink.status().spooled === 0, 60_000);
    await sink.stop();
    const toMs = baseMs + flushes * 1000;
    const sinkDropped = sink.status().dropped;
    // Records the sink counted as dropped never arrive (except at cumulative destinations, where later totals carry them).
    const expected = made - (d.cumulative ? 0 : sinkDropped);
    let received = 0;
    await until(async () => (received = await d.received(baseMs, toMs)) >= expected, 30_000);
    return { name: d.name, made, received, sinkDropped, cumulative: d.cumulative, recoverMs };
  } finally {
    clearInterval(poll);
    await sink.stop().catch(() => undefined);
    await d.stop();
  }
}

/** Runs every destination in parallel through one kind of fault and sums the outcomes into a scenario row. */
export async function destinationScenario(
  fault: Fault,
  o: { quick: boolean; httpOnly?: boolean; faultMs: number },
): Promise<{ made: number; received: number; counted: Record<string, number>; recoverMs: number | null; peakRssMiB: number; notes: string }> {
  const root = mkdtempSync(join(tmpdir(), 'zibrato-fault-dest-'));
  try {
    const all = (await allDestinations(root)).filter((d) => !o.httpOnly || d.http);
    const results = await Promise.all(
      all.map((d) => runDestinationFault(d, join(root, `spool-${d.name}`), fault, { flushesBefore: 5, faultMs: o.faultMs, flushesAfter: o.quick ? 10 : 30, intervalMs: o.quick ? 200 : 1_000, pointsPerFlush: 5 })),
    );
    let made = 0;
    let received = 0;
    const counted: Record<string, number> = {};
    let recoverMs: number | null = null;
    const notes: string[] = [];
    for (const r of results) {
      made += r.made;
      received += r.received;
      if (!r.cumulative) counted[`${r.name} sink.dropped`] = r.sinkDropped;
      if (r.recoverMs !== null) recoverMs = Math.max(recoverMs ?? 0, r.recoverMs);
      notes.push(`${r.name}: made ${r.made}, received ${r.received}, sink dropped ${r.sinkDropped}${r.cumulative ? ' (cumulative totals: later requests carry them)' : ''}, recovery ${r.recoverMs ?? '—'} ms`);
    }
    return { made, received, counted, recoverMs, peakRssMiB: rssMiB(), notes: `${notes.join('; ')}. Sinks in-process (RSS of that process), destinations real processes or the project's stand-ins.` };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
