import type { ExpBuckets, ExpHistogram } from '../backend/aggregators/exp-histogram.js';
import type { FlushBatch, MetricPoint, TimerPoint, TimerTotals } from './sink.js';

/**
 * The subset of the OTLP metrics data model (opentelemetry/proto/metrics/v1)
 * Zibrato produces, in the shape of its JSON encoding: lowerCamelCase field
 * names, 64-bit integers as decimal strings, enums as integers.
 */
export interface OtlpKeyValue {
  key: string;
  value: { stringValue: string };
}

export interface OtlpNumberDataPoint {
  /** Omitted when empty, as protobuf JSON omits empty repeated fields. */
  attributes?: OtlpKeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano: string;
  asDouble: number;
}

export interface OtlpSummaryDataPoint {
  attributes?: OtlpKeyValue[];
  startTimeUnixNano: string;
  timeUnixNano: string;
  count: string;
  sum: number;
  quantileValues: { quantile: number; value: number }[];
}

/** Buckets from `offset` (OTLP numbering: bucket i covers (base^i, base^(i+1)]), dense; no counts when empty, as protobuf JSON omits empty repeated fields. */
export interface OtlpBuckets {
  offset: number;
  bucketCounts?: string[];
}

export interface OtlpExponentialHistogramDataPoint {
  attributes?: OtlpKeyValue[];
  startTimeUnixNano: string;
  timeUnixNano: string;
  count: string;
  sum: number;
  scale: number;
  zeroCount: string;
  positive: OtlpBuckets;
  negative: OtlpBuckets;
  /** Only with delta temporality: the interval's exact extremes. */
  min?: number;
  max?: number;
  zeroThreshold: number;
}

export interface OtlpMetric {
  name: string;
  description?: string;
  unit?: string;
  gauge?: { dataPoints: OtlpNumberDataPoint[] };
  /** `isMonotonic` is omitted when false, as protobuf JSON omits default values. */
  sum?: { dataPoints: OtlpNumberDataPoint[]; aggregationTemporality: number; isMonotonic?: true };
  summary?: { dataPoints: OtlpSummaryDataPoint[] };
  exponentialHistogram?: { dataPoints: OtlpExponentialHistogramDataPoint[]; aggregationTemporality: number };
}

export interface OtlpResourceMetrics {
  resource: { attributes: OtlpKeyValue[] };
  scopeMetrics: { scope: { name: string; version: string }; metrics: OtlpMetric[] }[];
}

export interface OtlpExportRequest {
  resourceMetrics: OtlpResourceMetrics[];
}

/** `AGGREGATION_TEMPORALITY_DELTA`: each counter point covers only its own interval. */
export const OTLP_TEMPORALITY_DELTA = 1;

/** `AGGREGATION_TEMPORALITY_CUMULATIVE`: a point covers everything since its start time. */
export const OTLP_TEMPORALITY_CUMULATIVE = 2;

/** How timers are exported: Summaries (the default), or exponential histograms, delta or cumulative. */
export interface OtlpTimerExport {
  exponentialHistograms: boolean;
  /** For exponential histograms; Summaries are always cumulative, as the data model says. */
  histogramTemporality: 'delta' | 'cumulative';
}

/** Timers as Summaries: what every OTLP receiver takes. */
export const OTLP_SUMMARY_TIMERS: OtlpTimerExport = { exponentialHistograms: false, histogramTemporality: 'cumulative' };

const MS_PER_SECOND = 1000;

function otlpBuckets(b: ExpBuckets): { buckets: OtlpBuckets; total: number } {
  let total = 0;
  // Counts are integers in OTLP (a sampled timer weighs 1/rate): rounded; cumulative counts rounded stay monotonic.
  const bucketCounts = b.counts.map((c) => {
    const n = Math.round(c);
    total += n;
    return String(n);
  });
  return { buckets: b.empty ? { offset: 0 } : { offset: b.offset, bucketCounts }, total };
}

/** A histogram of seconds as an ExponentialHistogramDataPoint (without attributes and times). */
export function exponentialPoint(h: ExpHistogram, sumSeconds: number): Pick<OtlpExponentialHistogramDataPoint, 'count' | 'sum' | 'scale' | 'zeroCount' | 'positive' | 'negative' | 'zeroThreshold'> {
  const pos = otlpBuckets(h.positive);
  const neg = otlpBuckets(h.negative);
  const zeroCount = Math.round(h.zeroCount);
  return {
    count: String(zeroCount + pos.total + neg.total),
    sum: sumSeconds,
    scale: h.scale,
    zeroCount: String(zeroCount),
    positive: pos.buckets,
    negative: neg.buckets,
    zeroThreshold: h.zeroThreshold,
  };
}

/** Instrumentation scope of everything Zibrato exports. */
export const OTLP_SCOPE = { name: 'zibrato', version: '1' } as const;

/** The service.name used when a point has no source and none is configured (the OpenTelemetry default's form). */
export const OTLP_UNKNOWN_SERVICE = 'unknown_service:zibrato';

/** A timer series' Summary totals since `startMs`. */
export type SummaryTotals = TimerTotals;

function nanos(ms: number): string {
  return (BigInt(Math.round(ms)) * 1_000_000n).toString();
}

/** `{ attributes }` for a point's tags, sorted by key, or `{}` when it has none. */
function attributes(tags: Record<string, string>): { attributes?: OtlpKeyValue[] } {
  const keys = Object.keys(tags).sort();
  return keys.length === 0 ? {} : { attributes: keys.map((key) => ({ key, value: { stringValue: tags[key]! } })) };
}

function finite(p: MetricPoint): boolean {
  if (p.type === 'timer') return [p.count, p.sum, p.min, p.max, p.p50, p.p90, p.p95, p.p99].every(Number.isFinite) && p.count >= 0;
  return Number.isFinite(p.value);
}

/**
 * Builds one export request from a flush:
 *
 * - one ResourceMetrics per source, `service.name` = the configured service
 *   name, else the source, else `unknown_service:zibrato`; with a configured
 *   name a non-empty source goes to the resource attribute `zibrato.source`;
 * - counter → Sum, DELTA temporality, startTimeUnixNano = interval start,
 *   isMonotonic true unless a data point of that metric in this flush is negative;
 * - gauge and set → Gauge;
 * - timer → Summary (unit `ms`): count (rounded to an integer, as the schema
 *   requires) and sum **cumulative** since `startTimeUnixNano`, as the OTLP
 *   data model says for Summary (given by `cumulative`; without it, the
 *   interval's own), quantiles 0 (min), 0.5, 0.9, 0.95, 0.99 and 1 (max) of
 *   the interval; or, with `timers.exponentialHistograms`, → ExponentialHistogram
 *   (unit `s`, the timer's own buckets: a base-2 histogram of seconds),
 *   DELTA (the interval's sketch, with its min and max) or CUMULATIVE (the
 *   backend's merged sketch since `startTimeUnixNano`);
 * - a series' description → `description`, its unit → `unit` (Sum and Gauge; a Summary's is `ms`);
 * - tags → data point attributes (string values), sorted by key.
 */
export function buildOtlpRequest(
  batch: FlushBatch,
  serviceName: string,
  points: readonly MetricPoint[] = batch.points,
  cumulative?: (p: TimerPoint) => SummaryTotals | undefined,
  timers: OtlpTimerExport = OTLP_SUMMARY_TIMERS,
): { request: OtlpExportRequest; rejected: { name: string; reason: string }[] } {
  const rejected: { name: string; reason: string }[] = [];
  const start = nanos(batch.timeMs - batch.intervalMs);
  const end = nanos(batch.timeMs);
  const bySource = new Map<string, Map<string, OtlpMetric>>();
  for (const p of points) {
    if (!finite(p)) {
      rejected.push({ name: p.name, reason: 'value is not a finite number' });
      continue;
    }
    let metrics = bySource.get(p.source);
    if (!metrics) bySource.set(p.source, (metrics = new Map()));
    // One Metric per (name, kind); a name reused with another kind is refused, as OTLP backends would.
    const kind = p.type === 'counter' ? 'sum' : p.type === 'timer' ? (timers.exponentialHistograms ? 'exponentialHistogram' : 'summary') : 'gauge';
    let m = metrics.get(p.name);
    if (m && !m[kind]) {
      rejected.push({ name: p.name, reason: `already exported as another metric kind in this flush` });
      continue;
    }
    if (!m) {
      m = { name: p.name };
      if (p.description !== undefined) m.description = p.description;
      // Timer values are milliseconds whatever unit the publisher named.
      if (p.unit !== undefined && kind !== 'summary' && kind !== 'exponentialHistogram') m.unit = p.unit;
      if (kind === 'sum') m.sum = { dataPoints: [], aggregationTemporality: OTLP_TEMPORALITY_DELTA, isMonotonic: true };
      else if (kind === 'summary') {
        m.unit = 'ms';
        m.summary = { dataPoints: [] };
      } else if (kind === 'exponentialHistogram') {
        m.unit = 's';
        m.exponentialHistogram = { dataPoints: [], aggregationTemporality: timers.histogramTemporality === 'delta' ? OTLP_TEMPORALITY_DELTA : OTLP_TEMPORALITY_CUMULATIVE };
      } else m.gauge = { dataPoints: [] };
      metrics.set(p.name, m);
    }
    const attrs = attributes(p.tags);
    if (p.type === 'counter') {
      m.sum!.dataPoints.push({ ...attrs, startTimeUnixNano: start, timeUnixNano: end, asDouble: p.value });
      if (p.value < 0) delete m.sum!.isMonotonic;
    } else if (p.type === 'timer' && m.exponentialHistogram) {
      // Cumulative buckets are the backend's (the transport asks for them with `cumulativeHistograms`).
      const totals = timers.histogramTemporality === 'cumulative' ? cumulative?.(p) : undefined;
      const h = timers.histogramTemporality === 'cumulative' ? totals?.histogram : p.sketch;
      if (h === undefined) {
        rejected.push({ name: p.name, reason: `timer point without its ${timers.histogramTemporality} histogram` });
        continue;
      }
      m.exponentialHistogram.dataPoints.push({
        ...attrs,
        startTimeUnixNano: totals ? nanos(totals.startMs) : start,
        timeUnixNano: end,
        ...exponentialPoint(h, (totals ? totals.sum : p.sum) / MS_PER_SECOND),
        // min and max are the interval's: they describe a delta point only.
        ...(totals === undefined && p.count > 0 ? { min: p.min / MS_PER_SECOND, max: p.max / MS_PER_SECOND } : {}),
      });
    } else if (p.type === 'timer') {
      const totals = cumulative?.(p);
      m.summary!.dataPoints.push({
        ...attrs,
        startTimeUnixNano: totals ? nanos(totals.startMs) : start,
        timeUnixNano: end,
        count: String(Math.round(totals ? totals.count : p.count)),
        sum: totals ? totals.sum : p.sum,
        quantileValues: [
          { quantile: 0, value: p.min },
          { quantile: 0.5, value: p.p50 },
          { quantile: 0.9, value: p.p90 },
          { quantile: 0.95, value: p.p95 },
          { quantile: 0.99, value: p.p99 },
          { quantile: 1, value: p.max },
        ],
      });
    } else m.gauge!.dataPoints.push({ ...attrs, timeUnixNano: end, asDouble: p.value });
  }
  const resourceMetrics: OtlpResourceMetrics[] = [];
  for (const [source, metrics] of bySource) {
    const attrs: OtlpKeyValue[] = [{ key: 'service.name', value: { stringValue: serviceName || source || OTLP_UNKNOWN_SERVICE } }];
    if (serviceName && source) attrs.push({ key: 'zibrato.source', value: { stringValue: source } });
    resourceMetrics.push({ resource: { attributes: attrs }, scopeMetrics: [{ scope: { ...OTLP_SCOPE }, metrics: [...metrics.values()] }] });
  }
  return { request: { resourceMetrics }, rejected };
}
