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

export interface OtlpMetric {
  name: string;
  description?: string;
  unit?: string;
  gauge?: { dataPoints: OtlpNumberDataPoint[] };
  /** `isMonotonic` is omitted when false, as protobuf JSON omits default values. */
  sum?: { dataPoints: OtlpNumberDataPoint[]; aggregationTemporality: number; isMonotonic?: true };
  summary?: { dataPoints: OtlpSummaryDataPoint[] };
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
 *   the interval;
 * - a series' description → `description`, its unit → `unit` (Sum and Gauge; a Summary's is `ms`);
 * - tags → data point attributes (string values), sorted by key.
 */
export function buildOtlpRequest(
  batch: FlushBatch,
  serviceName: string,
  points: readonly MetricPoint[] = batch.points,
  cumulative?: (p: TimerPoint) => SummaryTotals | undefined,
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
    const kind = p.type === 'counter' ? 'sum' : p.type === 'timer' ? 'summary' : 'gauge';
    let m = metrics.get(p.name);
    if (m && !m[kind]) {
      rejected.push({ name: p.name, reason: `already exported as another metric kind in this flush` });
      continue;
    }
    if (!m) {
      m = { name: p.name };
      if (p.description !== undefined) m.description = p.description;
      // Timer values are milliseconds whatever unit the publisher named.
      if (p.unit !== undefined && kind !== 'summary') m.unit = p.unit;
      if (kind === 'sum') m.sum = { dataPoints: [], aggregationTemporality: OTLP_TEMPORALITY_DELTA, isMonotonic: true };
      else if (kind === 'summary') {
        m.unit = 'ms';
        m.summary = { dataPoints: [] };
      } else m.gauge = { dataPoints: [] };
      metrics.set(p.name, m);
    }
    const attrs = attributes(p.tags);
    if (p.type === 'counter') {
      m.sum!.dataPoints.push({ ...attrs, startTimeUnixNano: start, timeUnixNano: end, asDouble: p.value });
      if (p.value < 0) delete m.sum!.isMonotonic;
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
