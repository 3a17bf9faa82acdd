import type { ExpBuckets, ExpHistogram } from '../backend/aggregators/exp-histogram.js';
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
  /** Timers as native histograms (Prometheus ≥ 2.40 with `--enable-feature=native-histograms`) instead of summaries. */
  nativeHistograms?: boolean;
}

/**
 * A native histogram sample (prompb `Histogram`, integer counts): bucket
 * counts as spans + deltas, as remote write 1.0 carries them.
 */
export interface NativeHistogram {
  count: number;
  /** In the metric's unit (seconds for timers). */
  sum: number;
  /** Prometheus' schema is the exponential scale: base 2^(2^-schema). */
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  positiveSpans: [offset: number, length: number][];
  positiveDeltas: number[];
  negativeSpans: [offset: number, length: number][];
  negativeDeltas: number[];
}

/** One remote-write time series: labels (sorted, `__name__` included) and one sample or one native histogram. */
interface WireSeries {
  labels: [string, string][];
  value: number;
  histogram?: NativeHistogram;
}

/**
 * A gap of at most this many empty buckets is sent as zeros inside one span
 * rather than as a new span: a span costs two varints, a zero delta one byte
 * (Prometheus' own encoder does the same).
 */
const MAX_GAP_IN_SPAN = 2;

/**
 * Buckets as Prometheus spans and deltas. Prometheus numbers the bucket
 * `(base^(i-1), base^i]` as `i`, our histogram (OTLP's convention) as `i-1`:
 * hence the `+ 1`. Counts are rounded to integers (a sampled timer weighs
 * 1/rate); cumulative counts rounded stay monotonic.
 */
function spansAndDeltas(buckets: ExpBuckets): { spans: [number, number][]; deltas: number[]; total: number } {
  const spans: [number, number][] = [];
  const deltas: number[] = [];
  let previousIndex: number | undefined;
  let previousCount = 0;
  let total = 0;
  for (const [index, raw] of buckets.entries()) {
    const count = Math.round(raw);
    const promIndex = index + 1;
    const gap = previousIndex === undefined ? Infinity : promIndex - previousIndex - 1;
    if (gap > MAX_GAP_IN_SPAN) {
      spans.push([previousIndex === undefined ? promIndex : gap, 1]);
    } else {
      for (let g = 0; g < gap; g++) {
        deltas.push(-previousCount);
        previousCount = 0;
      }
      spans[spans.length - 1]![1] += gap + 1;
    }
    deltas.push(count - previousCount);
    previousCount = count;
    previousIndex = promIndex;
    total += count;
  }
  return { spans, deltas, total };
}

/** A histogram (values in seconds) as a Prometheus native histogram sample with integer counts. */
export function nativeHistogram(h: ExpHistogram, sumSeconds: number): NativeHistogram {
  const pos = spansAndDeltas(h.positive);
  const neg = spansAndDeltas(h.negative);
  const zeroCount = Math.round(h.zeroCount);
  return {
    // The sum of the rounded buckets, so count and buckets always agree.
    count: zeroCount + pos.total + neg.total,
    sum: sumSeconds,
    schema: h.scale,
    zeroThreshold: h.zeroThreshold,
    zeroCount,
    positiveSpans: pos.spans,
    positiveDeltas: pos.deltas,
    negativeSpans: neg.spans,
    negativeDeltas: neg.deltas,
  };
}

function byName(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** The remote-write series of one Prometheus series at a flush: summaries expand to quantiles, _sum and _count. */
function wireSeries(s: PromSeries): WireSeries[] {
  const withName = (name: string, extra: [string, string][] = []): [string, string][] => [['__name__', name] as [string, string], ...s.labels, ...extra].sort(byName);
  if (s.type === 'histogram') return s.histogram ? [{ labels: withName(s.family), value: 0, histogram: nativeHistogram(s.histogram, s.sum) }] : [];
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
 * `Sample { double value = 1; int64 timestamp = 2; }` (ms),
 * and for native histograms `TimeSeries.histograms = 4`:
 * `Histogram { uint64 count_int = 1; double sum = 3; sint32 schema = 4;
 * double zero_threshold = 5; uint64 zero_count_int = 6;
 * repeated BucketSpan negative_spans = 8; repeated sint64 negative_deltas = 9;
 * repeated BucketSpan positive_spans = 11; repeated sint64 positive_deltas = 12;
 * ResetHint reset_hint = 14; int64 timestamp = 15; }`,
 * `BucketSpan { sint32 offset = 1; uint32 length = 2; }`. The reset hint is
 * left UNKNOWN: Prometheus detects a reset (a restarted backend) from the counts.
 */
export function encodeWriteRequest(series: readonly WireSeries[], timestampMs: number): Buffer {
  const w = new ProtoWriter();
  for (const s of series) {
    w.message(1, (ts) => {
      for (const [name, value] of s.labels) ts.message(1, (l) => l.string(1, name).string(2, value));
      const h = s.histogram;
      if (h === undefined) ts.message(2, (sample) => sample.double(1, s.value).uint(2, timestampMs));
      else {
        ts.message(4, (m) => {
          m.uint(1, h.count).double(3, h.sum).sint(4, h.schema).double(5, h.zeroThreshold).uint(6, h.zeroCount);
          for (const [offset, length] of h.negativeSpans) m.message(8, (sp) => sp.sint(1, offset).uint(2, length));
          m.packedSint(9, h.negativeDeltas);
          for (const [offset, length] of h.positiveSpans) m.message(11, (sp) => sp.sint(1, offset).uint(2, length));
          m.packedSint(12, h.positiveDeltas);
          m.uint(15, timestampMs);
        });
      }
    });
  }
  return w.finish();
}

/** Prometheus remote write: protobuf WriteRequest, snappy block-compressed, POSTed. */
export class RemoteWriteTransport implements Transport {
  readonly name = 'prometheus-remote-write';
  readonly temporality = 'cumulative';
  /** Native histograms are cumulative per bucket: the backend keeps each timer's merged sketch. */
  readonly cumulativeHistograms: boolean;
  private readonly state: PromState;
  private readonly headers: Record<string, string>;

  constructor(private readonly o: RemoteWriteOptions) {
    this.state = new PromState(o.namespace, o.nativeHistograms === true);
    this.cumulativeHistograms = o.nativeHistograms === true;
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
    { key: 'nativeHistograms', type: 'boolean', default: false, description: 'timers as native histograms (mergeable; Prometheus needs --enable-feature=native-histograms) instead of summaries' },
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
      nativeHistograms: o.nativeHistograms === true,
    };
    const redactor = new Redactor([opts.bearerToken, opts.password, ...Redactor.urlSecrets(opts.url)], opts.username !== undefined || opts.password !== undefined ? [[opts.username ?? '', opts.password ?? '']] : []);
    return new DeliveringSink(new RemoteWriteTransport(opts), delivery, context.log, redactor);
  },
};
