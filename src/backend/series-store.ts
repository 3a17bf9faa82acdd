import type { MetricPoint } from '../sinks/sink.js';
import { MetricKind } from '../wire/constants.js';
import type { Tags } from '../wire/series-encoding.js';
import type { Level } from '../levels.js';
import type { SeriesIdentity } from './aggregators/aggregator.js';
import { CounterAggregator } from './aggregators/counter-aggregator.js';
import { GaugeAggregator } from './aggregators/gauge-aggregator.js';
import { SetAggregator } from './aggregators/set-aggregator.js';
import { TimerAggregator } from './aggregators/timer-aggregator.js';

type AnyAggregator = CounterAggregator | GaugeAggregator | TimerAggregator | SetAggregator;

/** A series and its aggregator. Gauge deltas share the gauge's aggregator. */
export interface SeriesEntry {
  id: SeriesIdentity;
  kind: MetricKind;
  aggregator: AnyAggregator;
}

function family(kind: MetricKind): MetricKind {
  return kind === MetricKind.gaugeDelta ? MetricKind.gauge : kind;
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

/** Builds the identity key once per series entry of a batch, never per record. */
export function seriesKey(kind: MetricKind, name: string, source: string, tags: Tags): string {
  let key = `${family(kind)}\u0000${name}\u0000${source}`;
  // Writers sort tags; sort anyway so keys from other senders agree.
  const keys = Object.keys(tags);
  if (keys.length > 1) keys.sort();
  for (const k of keys) key += `\u0000${k}=${tags[k]}`;
  return key;
}

/**
 * All series a backend aggregates, bounded by `maxSeries`: past it, new
 * series are refused (counted by the caller) so memory cannot grow without
 * bound on a cardinality explosion.
 */
export class SeriesStore {
  private readonly series = new Map<string, SeriesEntry>();

  constructor(readonly maxSeries = 100_000) {}

  get size(): number {
    return this.series.size;
  }

  /** The entry for a series, created on first sight; undefined when the store is full. */
  resolve(kind: MetricKind, name: string, source: string, tags: Tags, level?: Level): SeriesEntry | undefined {
    const key = seriesKey(kind, name, source, tags);
    let e = this.series.get(key);
    if (e === undefined) {
      if (this.series.size >= this.maxSeries) return undefined;
      e = { id: level === undefined ? { name, source, tags } : { name, source, tags, level }, kind: family(kind), aggregator: newAggregator(kind) };
      this.series.set(key, e);
    }
    return e;
  }

  /** Adds one record to an entry. `kind` is the record's own kind (a gauge delta differs from a gauge). */
  static add(entry: SeriesEntry, kind: MetricKind, value: number, weight: number): void {
    if (kind === MetricKind.gaugeDelta) (entry.aggregator as GaugeAggregator).addDelta(value);
    else entry.aggregator.add(value, weight);
  }

  /**
   * The points of every series touched in the interval, then starts the next
   * interval. Untouched counters, timers and sets are forgotten so idle series
   * do not accumulate; gauges are kept for their deltas.
   */
  collect(intervalMs: number): MetricPoint[] {
    const points: MetricPoint[] = [];
    for (const [key, e] of this.series) {
      if (e.aggregator.touched) {
        points.push(e.aggregator.toPoint(e.id, intervalMs));
        e.aggregator.reset();
      } else if (e.kind !== MetricKind.gauge) {
        this.series.delete(key);
      }
    }
    return points;
  }
}
