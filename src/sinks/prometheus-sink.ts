import { createServer, type Server } from 'node:http';
import { ZibratoError } from '../errors.js';
import type { SinkSpec } from './registry.js';
import type { FlushBatch, Sink, SinkStatus } from './sink.js';
import { PromState } from './prometheus-state.js';
import { PROMETHEUS_TEXT_CONTENT_TYPE, renderExposition } from './prometheus-text.js';

/** Default exposition address: the port OpenTelemetry's Prometheus exporter uses, loopback only. */
export const DEFAULT_PROMETHEUS_PORT = 9464;

export interface PrometheusExpositionOptions {
  host: string;
  port: number;
  /** Put in front of every metric name (e.g. `zibrato_`). */
  namespace: string;
  /** Series not updated for this long stop being exposed; 0 keeps them forever. */
  expireAfterMs: number;
}

/**
 * Serves `/metrics` in the Prometheus text format for Prometheus to scrape.
 * Nothing is pushed, so there is nothing to retry or spool: `sent` counts the
 * points taken into the exposed state, `dropped` those refused.
 */
export class PrometheusExpositionSink implements Sink {
  readonly name = 'prometheus';
  readonly temporality = 'cumulative';
  private readonly state: PromState;
  private server: Server | undefined;
  private sent = 0;
  private dropped = 0;
  private lastError: string | undefined;
  /** Scrapes answered, for `status` and tests. */
  scrapes = 0;

  constructor(readonly options: PrometheusExpositionOptions, private readonly log: (message: string) => void = () => undefined) {
    this.state = new PromState(options.namespace);
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : this.options.port;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end();
        return;
      }
      if (path !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found; metrics are at /metrics\n');
        return;
      }
      this.scrapes++;
      const body = renderExposition(this.state.families());
      res.writeHead(200, { 'Content-Type': PROMETHEUS_TEXT_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        // ZIB_ERR_ENDPOINT (exit 3), not SINK_FAILED (exit 1): a restart cannot free the port, so `zibrato up` stops instead of retrying forever.
        reject(new ZibratoError('ZIB_ERR_ENDPOINT', `--host/--port ${this.options.host}:${this.options.port}: prometheus cannot listen: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err })),
      );
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.server = server;
    // The address to give Prometheus as a scrape target (with port 0, the only way to learn it).
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    this.log(`serving /metrics on http://${host}:${this.port}/metrics`);
  }

  async export(batch: FlushBatch): Promise<void> {
    if (!this.server) await this.start();
    const { touched, rejected } = this.state.apply(batch);
    this.sent += touched.length;
    if (rejected.length > 0) {
      this.dropped += rejected.length;
      this.lastError = `dropped ${rejected.length} point(s), e.g. ${rejected[0]!.name}: ${rejected[0]!.reason}`;
      this.log(`prometheus: ${this.lastError}`);
    }
    if (this.options.expireAfterMs > 0) this.state.expire(batch.timeMs - this.options.expireAfterMs);
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  status(): SinkStatus {
    return { sent: this.sent, failed: 0, spooled: 0, dropped: this.dropped, lastError: this.lastError };
  }
}

export const prometheusSinkSpec: SinkSpec = {
  name: 'prometheus',
  listens: true,
  description: 'Serves /metrics in the Prometheus text format for scraping (counters cumulative, timers as summaries).',
  options: [
    { key: 'host', type: 'string', default: '127.0.0.1', description: 'address to listen on' },
    { key: 'port', type: 'number', default: DEFAULT_PROMETHEUS_PORT, description: 'port to listen on (0 picks a free one; the log line "serving /metrics on …" names it)' },
    { key: 'namespace', type: 'string', default: '', description: 'prefix for every metric name, e.g. zibrato_' },
    { key: 'expireAfterMs', type: 'number', default: 0, description: 'stop exposing series not updated for this long (0 = never)' },
  ],
  create: (o, context) =>
    new PrometheusExpositionSink(
      { host: String(o.host), port: Number(o.port), namespace: String(o.namespace ?? ''), expireAfterMs: Number(o.expireAfterMs ?? 0) },
      context.log,
    ),
};
