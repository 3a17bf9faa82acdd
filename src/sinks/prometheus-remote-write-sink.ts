import type { SinkSpec } from './registry.js';
import type { FlushBatch } from './sink.js';
import { DeliveringSink } from './delivery/delivering-sink.js';
import { DELIVERY_OPTION_SPECS, deliveryOptionsFrom } from './delivery/delivery-options.js';
import { httpPost } from './delivery/http-post.js';
import { Redactor } from './delivery/redact.js';
import type { DeliveryPayload, EncodedBatch, Transport } from './delivery/transport.js';
import { SUMMARY_QUANTILES } from './prometheus-naming.js';
import { PromState, type PromSeries } from './prometheus-state.js';
import { ProtoWriter } from './protobuf-writer.js';
import { snappyCompress } from './snappy-block.js';

export interface RemoteWriteOptions {
  /** Full endpoint, e.g. `http://127.0.0.1:9090/api/v1/write`. */
  url: string;
  namespace: string;
  /** Series per request; larger flushes are split. */
  maxSeriesPerRequest: number;
  /** Optional credentials: bearer token, or basic auth user + password. */
  bearerToken?: string;
  username?: string;
  password?: string;
  timeoutMs: number;
}

/** One remote-write time series: labels (sorted, `__name__` included) and one sample. */
interface WireSeries {
  labels: [string, string][];
  value: number;
}

function byName(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** The remote-write series of one Prometheus series at a flush: summaries expand to quantiles, _sum and _count. */
function wireSeries(s: PromSeries): WireSeries[] {
  const withName = (name: string, extra: [string, string][] = []): [string, string][] => [['__name__', name] as [string, string], ...s.labels, ...extra].sort(byName);
  if (s.type !== 'summary') return [{ labels: withName(s.family), value: s.value }];
  return [
    ...SUMMARY_QUANTILES.map(([q, field]) => ({ labels: withName(s.family, [['quantile', q]]), value: s.quantiles[field] })),
    { labels: withName(`${s.family}_sum`), value: s.sum },
    { labels: withName(`${s.family}_count`), value: s.count },
  ];
}

/**
 * Encodes a `prometheus.WriteRequest` (remote write 1.0):
 * `WriteRequest { repeated TimeSeries timeseries = 1; }`,
 * `TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }`,
 * `Label { string name = 1; string value = 2; }`,
 * `Sample { double value = 1; int64 timestamp = 2; }` (ms).
 */
export function encodeWriteRequest(series: readonly WireSeries[], timestampMs: number): Buffer {
  const w = new ProtoWriter();
  for (const s of series) {
    w.message(1, (ts) => {
      for (const [name, value] of s.labels) ts.message(1, (l) => l.string(1, name).string(2, value));
      ts.message(2, (sample) => sample.double(1, s.value).uint(2, timestampMs));
    });
  }
  return w.finish();
}

/** Prometheus remote write: protobuf WriteRequest, snappy block-compressed, POSTed. */
export class RemoteWriteTransport implements Transport {
  readonly name = 'prometheus-remote-write';
  readonly temporality = 'cumulative';
  private readonly state: PromState;
  private readonly headers: Record<string, string>;

  constructor(private readonly o: RemoteWriteOptions) {
    this.state = new PromState(o.namespace);
    this.headers = {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
      'User-Agent': 'zibrato',
    };
    if (o.bearerToken) this.headers.Authorization = `Bearer ${o.bearerToken}`;
    else if (o.username !== undefined || o.password !== undefined) {
      this.headers.Authorization = `Basic ${Buffer.from(`${o.username ?? ''}:${o.password ?? ''}`).toString('base64')}`;
    }
  }

  /**
   * Cumulative values are computed here, at flush time, so a payload that
   * waits in the spool still carries the totals as of its own flush.
   *
   * Every live series is sent each flush, not only those updated in it: a
   * counter that stops moving must keep its value in queries (Prometheus marks
   * a series stale after 5 minutes without samples). Live means held by the
   * backend's series store, which bounds it.
   */
  encode(batch: FlushBatch): EncodedBatch {
    const { rejected } = this.state.apply(batch);
    const live = this.state.all();
    const payloads: DeliveryPayload[] = [];
    for (let i = 0; i < live.length; i += this.o.maxSeriesPerRequest) {
      const chunk = live.slice(i, i + this.o.maxSeriesPerRequest);
      const body = snappyCompress(encodeWriteRequest(chunk.flatMap(wireSeries), batch.timeMs));
      payloads.push({ points: chunk.length, body });
    }
    return { payloads, rejected };
  }

  send(payload: DeliveryPayload): Promise<void> {
    return httpPost({ url: this.o.url, headers: this.headers, body: payload.body, timeoutMs: this.o.timeoutMs });
  }
}

export const prometheusRemoteWriteSinkSpec: SinkSpec = {
  name: 'prometheus-remote-write',
  description: 'Pushes to a Prometheus remote-write endpoint (protobuf + snappy): counters cumulative, timers as summaries.',
  options: [
    { key: 'url', type: 'string', default: 'http://127.0.0.1:9090/api/v1/write', description: 'remote-write endpoint' },
    { key: 'namespace', type: 'string', default: '', description: 'prefix for every metric name, e.g. zibrato_' },
    { key: 'maxSeriesPerRequest', type: 'number', default: 2000, description: 'series per request; larger flushes are split' },
    { key: 'bearerToken', type: 'string', env: 'PROMETHEUS_REMOTE_WRITE_TOKEN', secret: true, description: 'bearer token (env PROMETHEUS_REMOTE_WRITE_TOKEN)' },
    { key: 'username', type: 'string', env: 'PROMETHEUS_REMOTE_WRITE_USERNAME', description: 'basic auth user (env PROMETHEUS_REMOTE_WRITE_USERNAME)' },
    { key: 'password', type: 'string', env: 'PROMETHEUS_REMOTE_WRITE_PASSWORD', secret: true, description: 'basic auth password (env PROMETHEUS_REMOTE_WRITE_PASSWORD)' },
    ...DELIVERY_OPTION_SPECS,
  ],
  create(o, context) {
    const delivery = deliveryOptionsFrom(o, context, 'prometheus-remote-write');
    const str = (v: unknown): string | undefined => (v === undefined || v === '' ? undefined : String(v));
    const opts: RemoteWriteOptions = {
      url: String(o.url),
      namespace: String(o.namespace ?? ''),
      maxSeriesPerRequest: Math.max(1, Math.floor(Number(o.maxSeriesPerRequest))),
      bearerToken: str(o.bearerToken),
      username: str(o.username),
      password: str(o.password),
      timeoutMs: delivery.requestTimeoutMs,
    };
    const redactor = new Redactor([opts.bearerToken, opts.password, ...Redactor.urlSecrets(opts.url)], opts.username !== undefined || opts.password !== undefined ? [[opts.username ?? '', opts.password ?? '']] : []);
    return new DeliveringSink(new RemoteWriteTransport(opts), delivery, context.log, redactor);
  },
};
