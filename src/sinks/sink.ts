import type { TimerSketch } from '../backend/aggregators/timer-aggregator.js';
import type { Tags } from '../wire/series-encoding.js';
import type { Level } from '../levels.js';

/** What every aggregated point has. */
interface PointBase {
  name: string;
  /** '' when the record had no source. */
  source: string;
  tags: Tags;
  /** The level of the series' first record, when the backend knows it (series are keyed without level). */
  level?: Level;
  /** What the series says about itself, when its publisher described it (docs/wire-format.md, version 3). */
  description?: string;
  /**
   * The unit of its values as the publisher named it (`seconds`, `bytes`, `ratio` …), when given.
   * Timer values are milliseconds whatever this says; sinks that convert (Prometheus: seconds) do so themselves.
   */
  unit?: string;
}

/**
 * What a sink wants: each interval's values (`delta`, the default) or, besides
 * them, running totals since the series started (`cumulative`: Prometheus,
 * Librato counters, OTLP summaries). The backend keeps the totals, bounded
 * and expiring with its series, so no sink keeps a copy (OTel's
 * `selectAggregationTemporality`).
 */
export type Temporality = 'delta' | 'cumulative';

/** A counter's running total since `startMs` (epoch ms), for sinks that want cumulative values. */
export interface CounterTotals {
  startMs: number;
  value: number;
}

/** A timer's running count and sum since `startMs`, for sinks that want cumulative values. */
export interface TimerTotals {
  startMs: number;
  count: number;
  sum: number;
  /**
   * The merged sketch of every interval since `startMs`, for a sink that also
   * set {@link Sink.cumulativeHistograms} (native histograms). The backend's
   * own object, updated at each flush: encode it during `export`, keep no reference.
   */
  histogram?: TimerSketch;
}

/** A counter rolled up over one flush interval. */
export interface CounterPoint extends PointBase {
  type: 'counter';
  /** Sum over the interval. */
  value: number;
  /** Per second over the interval. */
  rate: number;
  /** Set by the backend for a sink whose temporality is `cumulative`. */
  cumulative?: CounterTotals;
}

/** A gauge's last value in the interval. */
export interface GaugePoint extends PointBase {
  type: 'gauge';
  value: number;
  /** Lowest and highest value set in the interval (the store keeps them; absent for gauges built elsewhere). */
  min?: number;
  max?: number;
}

/** Timer statistics over the interval, in milliseconds. Percentiles come from a sketch with ≤ 1 % relative error. */
export interface TimerPoint extends PointBase {
  type: 'timer';
  count: number;
  sum: number;
  min: number;
  max: number;
  mean: number;
  stddev: number;
  /** Sum of squares of the samples; needed by Librato's multi-sample gauges. */
  sumSquares: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  /**
   * The interval's quantile sketch, handed over (the aggregator starts a new
   * one on reset) so a sink that merges percentiles (the store) can serialize
   * it; other sinks ignore it and pay nothing.
   */
  sketch?: TimerSketch;
  /** Set by the backend for a sink whose temporality is `cumulative`. */
  cumulative?: TimerTotals;
}

/** Distinct members seen in the interval (StatsD sets). */
export interface SetPoint extends PointBase {
  type: 'set';
  /** Distinct count; exact up to the set cap, then estimated. */
  value: number;
  /**
   * The interval's members (hashes) or HyperLogLog registers, handed over
   * like a timer's sketch so a sink that unions sets over time (the store)
   * can; other sinks ignore it.
   */
  summary?: { members?: Set<number>; registers?: Uint8Array };
}

/** One aggregated series at one flush. */
export type MetricPoint = CounterPoint | GaugePoint | TimerPoint | SetPoint;

/** A series the backend forgot (idle too long, or evicted at its series cap). */
export interface ExpiredSeries extends PointBase {
  type: MetricPoint['type'];
}

/** Everything one backend flush hands to its sink. */
export interface FlushBatch {
  /** Epoch ms of the end of the interval (aligned to a multiple of `intervalMs`). */
  timeMs: number;
  intervalMs: number;
  /**
   * The backend's configured flush interval. Scheduled flushes end on its
   * multiples; the final flush on stop does not (it ends at the stop time).
   */
  scheduleMs?: number;
  points: MetricPoint[];
  /**
   * Series forgotten since the previous flush. A sink that keeps state per
   * series (cumulative totals) forgets theirs, so its state stays bounded by
   * the backend's series cap.
   */
  expired?: ExpiredSeries[];
}

/** Delivery counters every sink reports. */
export interface SinkStatus {
  /** Points delivered. */
  sent: number;
  /** Delivery attempts that failed (each retry counts). */
  failed: number;
  /** Points currently waiting in the disk spool. */
  spooled: number;
  /** Points given up on (invalid for the destination, or spool over its cap). */
  dropped: number;
  /** Last error message, credentials removed. */
  lastError?: string;
}

/**
 * A destination. A backend calls {@link Sink.export} once per flush and
 * {@link Sink.stop} once on shutdown, after the final flush. `export` must not
 * throw for a point the destination cannot take: fix it by the sink's
 * documented rule or drop and count it, and deliver the rest.
 */
export interface Sink {
  /** Short name used in logs and `status`. */
  readonly name: string;
  /** `cumulative` to get running totals on counter and timer points; default `delta`. */
  readonly temporality?: Temporality;
  /**
   * With `cumulative`: true to also get each timer's merged sketch since its
   * start (`cumulative.histogram`). Off by default: it costs one histogram per
   * timer series, kept as long as the series.
   */
  readonly cumulativeHistograms?: boolean;
  /** Opens connections or servers; called once before the first export. */
  start?(): Promise<void>;
  export(batch: FlushBatch): Promise<void>;
  stop(): Promise<void>;
  status(): SinkStatus;
}
