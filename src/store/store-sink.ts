import { DEFAULT_STORE_DIR, DEFAULT_STORE_HOST, DEFAULT_STORE_PORT } from '../defaults.js';
import { RateLimitedLog } from '../diagnostics.js';
import { ZibratoError } from '../errors.js';
import { parseDurationMs } from '../cli/duration.js';
import type { FlushBatch, Sink, SinkStatus } from '../sinks/sink.js';
import type { SinkSpec } from '../sinks/registry.js';
import { isLoopback, StoreHttpServer } from './http-server.js';
import type { SeriesSource } from './prometheus-source.js';
import { PrometheusSource } from './prometheus-source.js';
import { DEFAULT_RETENTION, MetricStore, type MetricStoreOptions } from './store.js';
import { numbersOfMiB, RECENT_MAX_MIB } from './recent-rows.js';

/** How often rollups and retention run. One minute: a 1-minute bucket is rolled soon after it ends. */
const DEFAULT_MAINTENANCE_INTERVAL_MS = 60_000;
/** A query to a Prometheus source that takes longer fails (the page shows the error) rather than hanging the chart. */
const PROMETHEUS_SOURCE_TIMEOUT_MS = 10_000;
/** How far back a Prometheus source lists series: a day, the span the UI's search usually means. */
const PROMETHEUS_SOURCE_LOOKBACK_MS = 86_400_000;
/** A database that failed to open is tried again at most this often (each attempt logs). */
const REOPEN_INTERVAL_MS = 60_000;

export interface StoreSinkOptions {
  dir: string;
  host: string;
  port: number;
  token?: string;
  retention: { raw: string; m1: string; h1: string };
  maintenanceIntervalMs?: number;
  /** Serve the HTTP API and UI. Default true. */
  http?: boolean;
  now?: () => number;
  rollupGraceMs?: number;
  log: (line: string) => void;
  /** Where the UI's series and charts come from instead of the database (docs/http-api.md, "Reading from Prometheus"). */
  source?: SeriesSource;
  /** Memory for every series' newest 1-minute rows (see RecentRows), in MiB; 0: none. Default {@link RECENT_MAX_MIB}. */
  recentRowsMiB?: number;
}

/**
 * Stores every flush in the embedded database and serves the HTTP API and
 * web UI. When the database cannot be opened or written the backend keeps
 * running: the flush is dropped and counted, and opening is retried.
 */
export class StoreSink implements Sink {
  readonly name = 'store';
  store: MetricStore | undefined;
  readonly http: StoreHttpServer | undefined;
  private readonly storeOptions: MetricStoreOptions;
  private readonly diag: RateLimitedLog;
  private sent = 0;
  private failed = 0;
  private dropped = 0;
  private lastError: string | undefined;
  private lastOpenAttemptMs = 0;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: StoreSinkOptions) {
    const r = options.retention;
    this.storeOptions = {
      dir: options.dir,
      retentionMs: { raw: parseDurationMs(r.raw, 'retentionRaw'), m1: parseDurationMs(r.m1, 'retention1m'), h1: parseDurationMs(r.h1, 'retention1h') },
      retentionText: r,
      now: options.now,
      rollupGraceMs: options.rollupGraceMs,
      recentMaxNumbers: numbersOfMiB(options.recentRowsMiB ?? RECENT_MAX_MIB),
    };
    this.diag = new RateLimitedLog(options.log, 60_000);
    this.http =
      options.http === false
        ? undefined
        : new StoreHttpServer({
            host: options.host,
            port: options.port,
            token: options.token,
            store: () => this.store,
            status: { storeError: () => this.lastError, retention: () => ({ raw: r.raw, '1m': r.m1, '1h': r.h1 }) },
            log: options.log,
            source: options.source,
          });
  }

  async start(): Promise<void> {
    await this.open();
    if (this.http) {
      await this.http.start();
      this.options.log(`web UI and API on ${this.http.url}`);
    }
    const every = this.options.maintenanceIntervalMs ?? DEFAULT_MAINTENANCE_INTERVAL_MS;
    this.maintenanceTimer = setInterval(() => void this.maintain(), every);
    this.maintenanceTimer.unref();
  }

  /** Opens the database; a failure is logged with its code and leaves the sink dropping (a missing dependency is fatal). */
  private async open(): Promise<void> {
    this.lastOpenAttemptMs = Date.now();
    try {
      this.store = await MetricStore.open(this.storeOptions);
      this.lastError = undefined;
      this.options.log(`store ${this.store.path}: ${this.store.seriesCount} series`);
    } catch (err) {
      if (err instanceof ZibratoError && err.code === 'ZIB_ERR_STORE_DEPENDENCY_MISSING') throw err;
      this.lastError = (err as Error).message;
      this.diag.report('ZIB_ERR_STORE_FAILED', `${(err as Error).message}; flushes are dropped and counted until it opens (retried every ${REOPEN_INTERVAL_MS / 1000}s)`);
    }
  }

  /** One rollup and retention pass (also run by tests). */
  async maintain(): Promise<void> {
    try {
      await this.store?.maintain();
    } catch (err) {
      this.diag.report('ZIB_ERR_STORE_FAILED', (err as Error).message);
    }
  }

  export(batch: FlushBatch): Promise<void> {
    const run = this.writes.then(() => this.exportNow(batch));
    this.writes = run.catch(() => undefined);
    return run;
  }

  private async exportNow(batch: FlushBatch): Promise<void> {
    if (!this.store && Date.now() - this.lastOpenAttemptMs >= REOPEN_INTERVAL_MS) await this.open();
    if (!this.store) {
      this.dropped += batch.points.length;
      this.diag.report('ZIB_ERR_STORE_FAILED', `dropped a flush of ${batch.points.length} points: ${this.lastError ?? 'the store is not open'}`);
      return;
    }
    try {
      this.sent += await this.store.write(batch);
    } catch (err) {
      this.failed++;
      this.dropped += batch.points.length;
      this.lastError = (err as Error).message;
      this.diag.report('ZIB_ERR_STORE_FAILED', `dropped a flush of ${batch.points.length} points: ${this.lastError}`);
      return;
    }
    this.http?.flushed(batch.timeMs, batch.points.length);
  }

  async stop(): Promise<void> {
    clearInterval(this.maintenanceTimer);
    await this.writes;
    await this.http?.stop();
    await this.store?.close();
    this.store = undefined;
  }

  status(): SinkStatus {
    return { sent: this.sent, failed: this.failed, spooled: 0, dropped: this.dropped, lastError: this.lastError };
  }
}

export const storeSinkSpec: SinkSpec = {
  name: 'store',
  pathIsDirectory: true,
  listens: true,
  description: 'Stores every flush in an embedded DuckDB database and serves the HTTP API and web UI (docs/http-api.md).',
  options: [
    { key: 'path', type: 'string', default: DEFAULT_STORE_DIR, description: 'directory of the database (store.duckdb)' },
    { key: 'host', type: 'string', default: DEFAULT_STORE_HOST, description: 'address of the HTTP API and UI; other than loopback requires a token' },
    { key: 'port', type: 'number', default: DEFAULT_STORE_PORT, description: 'port of the HTTP API and UI (0 picks a free one)' },
    { key: 'token', type: 'string', env: 'ZIBRATO_TOKEN', secret: true, description: 'bearer token the API and UI require' },
    { key: 'retentionRaw', type: 'string', default: DEFAULT_RETENTION.raw, description: 'how long raw flush-resolution rows are kept' },
    { key: 'retention1m', type: 'string', default: DEFAULT_RETENTION.m1, description: 'how long 1-minute rollups are kept' },
    { key: 'retention1h', type: 'string', default: DEFAULT_RETENTION.h1, description: 'how long 1-hour rollups are kept' },
    { key: 'source', type: 'string', default: 'store', choices: ['store', 'prometheus'], description: 'where the UI reads series and charts: this store, or a Prometheus-compatible query API (sourceUrl)' },
    { key: 'sourceUrl', type: 'string', default: 'http://127.0.0.1:9090', description: 'Prometheus or VictoriaMetrics query API base URL, with source prometheus' },
    { key: 'sourceNamespace', type: 'string', default: '', description: 'the namespace the remote-write sink used (e.g. zibrato_), with source prometheus' },
    { key: 'recentRowsMiB', type: 'number', default: RECENT_MAX_MIB, description: "memory for every series' newest 1-minute rows, so a series' first query reads no recent row from disk, plus a quarter of it for raw rows not rolled up yet (0: none)" },
  ],
  validate(o, where) {
    for (const key of ['retentionRaw', 'retention1m', 'retention1h']) parseDurationMs(String(o[key]), `${where}.${key}`);
    if (!(Number(o.recentRowsMiB) >= 0)) throw new ZibratoError('ZIB_ERR_INVALID_CONFIG', `${where}.recentRowsMiB: expected a number of MiB, 0 or more, got ${String(o.recentRowsMiB)}`);
    if (!isLoopback(String(o.host)) && (o.token === undefined || o.token === '')) {
      throw new ZibratoError('ZIB_ERR_TOKEN_REQUIRED', `${where}.host: ${String(o.host)} is reachable from other machines; set a token (option token or env ZIBRATO_TOKEN) or listen on 127.0.0.1`);
    }
  },
  create: (o, context) =>
    new StoreSink({
      dir: String(o.path),
      host: String(o.host),
      port: Number(o.port),
      token: o.token === undefined || o.token === '' ? undefined : String(o.token),
      retention: { raw: String(o.retentionRaw), m1: String(o.retention1m), h1: String(o.retention1h) },
      recentRowsMiB: Number(o.recentRowsMiB),
      log: context.log,
      source:
        o.source === 'prometheus'
          ? new PrometheusSource({ url: String(o.sourceUrl), namespace: String(o.sourceNamespace ?? ''), timeoutMs: PROMETHEUS_SOURCE_TIMEOUT_MS, lookbackMs: PROMETHEUS_SOURCE_LOOKBACK_MS })
          : undefined,
    }),
};
