import { InvalidOptionError } from '../errors.js';
import type { ExpiredSeries, MetricPoint } from '../sinks/sink.js';
import { MetricKind } from '../wire/constants.js';
import type { SeriesMetadata, Tags } from '../wire/series-encoding.js';
import type { Level } from '../levels.js';
import type { SeriesIdentity } from './aggregators/aggregator.js';
import { CounterAggregator } from './aggregators/counter-aggregator.js';
import { GaugeAggregator } from './aggregators/gauge-aggregator.js';
import { SetAggregator } from './aggregators/set-aggregator.js';
import { TimerAggregator } from './aggregators/timer-aggregator.js';

type AnyAggregator = CounterAggregator | GaugeAggregator | TimerAggregator | SetAggregator;

/**
 * How long a series may go without a record before it is forgotten, whatever
 * its kind (StatsD's `gaugesMaxTTL` idea applied to every kind). Five minutes
 * matches Prometheus' staleness window: a series that idle would look stale
 * there anyway, and sinks keeping cumulative state drop theirs with it.
 */
export const DEFAULT_SERIES_IDLE_EXPIRY_MS = 300_000;

/** Default for `maxSeries`. */
export const DEFAULT_MAX_SERIES = 100_000;

/**
 * Default for `maxSeriesPerMetric`: the OpenTelemetry SDK's default
 * cardinality limit per instrument. Past it new series of that metric fold
 * into its overflow series, so the metric's totals stay exact.
 */
export const DEFAULT_MAX_SERIES_PER_METRIC = 2000;

/** The tag that marks a metric's overflow series (OTel's `otel.metric.overflow`). */
export const OVERFLOW_TAG = 'zibrato.overflow';

/** Per metric (kind family + name): how many series it holds and its overflow series, if any. */
interface MetricSeries {
  count: number;
  overflowKey: string | undefined;
}

/** A series and its aggregator. Gauge deltas share the gauge's aggregator. */
export interface SeriesEntry {
  id: SeriesIdentity;
  kind: MetricKind;
  aggregator: AnyAggregator;
  /** Epoch ms of the last flush in which it was touched (its creation before that). */
  lastTouchedMs: number;
  /**
   * Resolved in the current interval. Such a series is never evicted: a caller
   * may hold the entry between `resolve` and `add` (a batch resolves all its
   * series first), and records added to an evicted entry would be lost.
   */
  active: boolean;
  /** The key of its metric in the per-metric counts. */
  metricKey: string;
  /** The metric's overflow series. */
  overflow: boolean;
}

/** Options of a {@link SeriesStore}. */
export interface SeriesStoreOptions {
  /** Most series held at once. Default {@link DEFAULT_MAX_SERIES}. */
  maxSeries?: number;
  /** Most series of one metric (kind and name); past it they fold into its overflow series. Default {@link DEFAULT_MAX_SERIES_PER_METRIC}. */
  maxSeriesPerMetric?: number;
  /** Series untouched for this long are forgotten at a flush. Default {@link DEFAULT_SERIES_IDLE_EXPIRY_MS}. */
  idleExpiryMs?: number;
  /** Clock, injectable for tests. */
  now?: () => number;
}

function family(kind: MetricKind): MetricKind {
  return kind === MetricKind.gaugeDelta ? MetricKind.gauge : kind;
}

function pointType(kind: MetricKind): ExpiredSeries['type'] {
  switch (family(kind)) {
    case MetricKind.counter:
      return 'counter';
    case MetricKind.gauge:
      return 'gauge';
    case MetricKind.timer:
      return 'timer';
    default:
      return 'set';
  }
}

function newAggregator(kind: MetricKind): AnyAggregator {
  switch (family(kind)) {
    case MetricKind.counter:
      return new CounterAggregator();
    case MetricKind.gauge:
      return new GaugeAggregator();
    case MetricKind.timer:
      return new TimerAggregator();
    default:
      return new SetAggregator();
  }
}

function describe(id: SeriesIdentity, m: SeriesMetadata): void {
  if (m.description !== undefined && id.description !== m.description) id.description = m.description;
  if (m.unit !== undefined && id.unit !== m.unit) id.unit = m.unit;
}

/**
 * Builds the identity key once per series entry of a batch, never per record.
 * Every part is length-prefixed, so no character in a name, source, tag key or
 * value can make two different series share a key (`{'a=b':'c'}` and
 * `{a:'b=c'}` differ).
 */
export function seriesKey(kind: MetricKind, name: string, source: string, tags: Tags): string {
  let key = `${family(kind)}:${name.length}:${name}${source.length}:${source}`;
  // Writers sort tags; sort anyway so keys from other senders agree.
  const keys = Object.keys(tags);
  if (keys.length > 1) keys.sort();
  for (const k of keys) {
    const v = tags[k]!;
    key += `${k.length}:${k}${v.length}:${v}`;
  }
  return key;
}

/**
 * All series a backend aggregates, bounded by `maxSeries` so memory cannot
 * grow without bound on a cardinality explosion.
 *
 * - A series of any kind untouched for `idleExpiryMs` is forgotten at a flush.
 * - At the cap, a new series takes the place of the series idle longest among
 *   those untouched in the current interval (their last points were already
 *   flushed, so nothing is lost but an idle gauge's last value); only when
 *   every series was touched in this interval is a new one refused (the caller
 *   counts it). So a steady stream of new series is flushed every interval
 *   rather than every other one.
 * - Forgotten series are reported once through {@link SeriesStore.drainExpired}
 *   so sinks holding cumulative state per series can forget theirs too.
 */
export class SeriesStore {
  /** In order of last-touched flush (oldest first), so expiry and eviction look at the front. */
  private readonly series = new Map<string, SeriesEntry>();
  private readonly metrics = new Map<string, MetricSeries>();
  private expired: ExpiredSeries[] = [];
  /** Where the search for an evictable series stopped in this interval; undefined when exhausted. */
  private evictCursor: Iterator<[string, SeriesEntry]> | undefined;
  private evictExhausted = false;
  readonly maxSeries: number;
  readonly maxSeriesPerMetric: number;
  readonly idleExpiryMs: number;
  private readonly now: () => number;
  /** Series evicted at the cap since the store started. */
  evicted = 0;
  /** New series folded into their metric's overflow series since the store started. */
  overflowed = 0;
  /** Overflow series held now. */
  private overflowSeries = 0;
  /** Overflow series allowed past `maxSeries`: the store holds at most `maxSeries + overflowReserve`. */
  readonly overflowReserve: number;

  constructor(options: SeriesStoreOptions | number = {}) {
    const o = typeof options === 'number' ? { maxSeries: options } : options;
    this.maxSeries = o.maxSeries ?? DEFAULT_MAX_SERIES;
    if (!Number.isSafeInteger(this.maxSeries) || this.maxSeries <= 0) {
      throw new InvalidOptionError(`max series must be a positive integer, got ${String(o.maxSeries)}`);
    }
    this.maxSeriesPerMetric = o.maxSeriesPerMetric ?? DEFAULT_MAX_SERIES_PER_METRIC;
    if (!Number.isSafeInteger(this.maxSeriesPerMetric) || this.maxSeriesPerMetric <= 0) {
      throw new InvalidOptionError(`max series per metric must be a positive integer, got ${String(o.maxSeriesPerMetric)}`);
    }
    this.overflowReserve = Math.max(1, Math.ceil(this.maxSeries / 100));
    this.idleExpiryMs = o.idleExpiryMs ?? DEFAULT_SERIES_IDLE_EXPIRY_MS;
    if (!(this.idleExpiryMs >= 0)) throw new InvalidOptionError(`series idle expiry must be a number of ms ≥ 0, got ${String(o.idleExpiryMs)}`);
    this.now = o.now ?? Date.now;
  }

  get size(): number {
    return this.series.size;
  }

  /**
   * The entry for a series, created on first sight. Past the metric's cap, or
   * at the store's cap with every series active, a new series resolves to its
   * metric's overflow series instead; undefined only when even that has no
   * room (the store full of active series and no overflow series yet).
   */
  resolve(kind: MetricKind, name: string, source: string, tags: Tags, level?: Level, metadata?: SeriesMetadata): SeriesEntry | undefined {
    const key = seriesKey(kind, name, source, tags);
    let e = this.series.get(key);
    if (e !== undefined) {
      e.active = true;
      // Once per series per batch: the last description and unit seen win (a redeploy may reword them).
      if (metadata !== undefined) describe(e.id, metadata);
      return e;
    }
    const metricKey = `${family(kind)}:${name}`;
    let m = this.metrics.get(metricKey);
    if (m === undefined) {
      m = { count: 0, overflowKey: undefined };
      this.metrics.set(metricKey, m);
    }
    if (m.count >= this.maxSeriesPerMetric || (this.series.size >= this.maxSeries && !this.evictOne())) return this.overflowOf(m, metricKey, kind, name, level);
    e = { id: level === undefined ? { name, source, tags } : { name, source, tags, level }, kind: family(kind), aggregator: newAggregator(kind), lastTouchedMs: this.now(), active: true, metricKey, overflow: false };
    this.series.set(key, e);
    m.count++;
    if (metadata !== undefined) describe(e.id, metadata);
    return e;
  }

  /** The metric's overflow series, created when first needed (and room is left). */
  private overflowOf(m: MetricSeries, metricKey: string, kind: MetricKind, name: string, level: Level | undefined): SeriesEntry | undefined {
    if (m.count === 0 && m.overflowKey === undefined) this.metrics.delete(metricKey);
    if (m.overflowKey !== undefined) {
      const o = this.series.get(m.overflowKey)!;
      o.active = true;
      this.overflowed++;
      return o;
    }
    // Overflow series may use a reserve past the cap (1 %), so a full store of active series still keeps totals exact.
    if (this.series.size >= this.maxSeries && !this.evictOne() && this.overflowSeries >= this.overflowReserve) return undefined;
    // One series for every source and tag set past the cap: the source is dropped with the tags (as OTel drops the attributes).
    const tags = { [OVERFLOW_TAG]: 'true' };
    const key = seriesKey(kind, name, '', tags);
    const o: SeriesEntry = { id: level === undefined ? { name, source: '', tags } : { name, source: '', tags, level }, kind: family(kind), aggregator: newAggregator(kind), lastTouchedMs: this.now(), active: true, metricKey, overflow: true };
    this.series.set(key, o);
    m.overflowKey = key;
    this.overflowSeries++;
    if (!this.metrics.has(metricKey)) this.metrics.set(metricKey, m);
    this.overflowed++;
    return o;
  }

  /** Frees one slot held by a series not resolved in this interval; false when there is none. */
  private evictOne(): boolean {
    if (this.evictExhausted) return false;
    this.evictCursor ??= this.series.entries();
    for (;;) {
      const next = this.evictCursor.next();
      if (next.done) {
        this.evictExhausted = true;
        return false;
      }
      const [key, e] = next.value;
      if (e.active) continue;
      this.forget(key, e);
      this.evicted++;
      return true;
    }
  }

  private forget(key: string, e: SeriesEntry): void {
    this.series.delete(key);
    const m = this.metrics.get(e.metricKey);
    if (m !== undefined) {
      if (e.overflow) {
        m.overflowKey = undefined;
        this.overflowSeries--;
      }
      else m.count--;
      if (m.count <= 0 && m.overflowKey === undefined) this.metrics.delete(e.metricKey);
    }
    this.expired.push({ type: pointType(e.kind), ...e.id });
  }

  /** Adds one record to an entry. `kind` is the record's own kind (a gauge delta differs from a gauge). */
  static add(entry: SeriesEntry, kind: MetricKind, value: number, weight: number): void {
    if (kind === MetricKind.gaugeDelta) (entry.aggregator as GaugeAggregator).addDelta(value);
    else entry.aggregator.add(value, weight);
  }

  /**
   * The points of every series touched in the interval, then starts the next
   * interval. Series of any kind idle for `idleExpiryMs` are forgotten.
   */
  collect(intervalMs: number): MetricPoint[] {
    const now = this.now();
    const points: MetricPoint[] = [];
    const touchedKeys: string[] = [];
    for (const [key, e] of this.series) {
      e.active = false;
      if (e.aggregator.touched) {
        points.push(e.aggregator.toPoint(e.id, intervalMs));
        e.aggregator.reset();
        e.lastTouchedMs = now;
        touchedKeys.push(key);
      } else if (now - e.lastTouchedMs >= this.idleExpiryMs) {
        this.forget(key, e);
      }
    }
    // Move touched series to the back: the front is then always the longest idle.
    for (const key of touchedKeys) {
      const e = this.series.get(key)!;
      this.series.delete(key);
      this.series.set(key, e);
    }
    this.evictCursor = undefined;
    this.evictExhausted = false;
    return points;
  }

  /** The series forgotten (expired or evicted) since the last call, each reported once. */
  drainExpired(): ExpiredSeries[] {
    const out = this.expired;
    this.expired = [];
    return out;
  }
}
