import type { MetricPoint } from '../../sinks/sink.js';
import type { Tags } from '../../wire/series-encoding.js';
import type { Level } from '../../levels.js';

/** Identity of a series: what a point carries besides its values. */
export interface SeriesIdentity {
  name: string;
  source: string;
  tags: Tags;
  /** The level of the series' first record (a series is keyed without its level); the store shows it. */
  level?: Level;
  /** What the series says about itself (wire version 3), the last one received; absent when never described. */
  description?: string;
  /** The unit of its values (wire version 3), the last one received; absent when never given. */
  unit?: string;
}

/**
 * One aggregator per series, one file per kind (as in OpenTelemetry's
 * sdk-metrics). Each declares how two accumulations merge, so pre-aggregated
 * input from clients or other backends folds in exactly.
 */
export interface Aggregator<Self> {
  /** Adds a sample. `weight` is 1 / sample rate (1 when not sampled). */
  add(value: number, weight: number): void;
  /** Folds another accumulation of the same series into this one. */
  merge(other: Self): void;
  /** True when something arrived since the last {@link reset}. */
  readonly touched: boolean;
  /** The point for an interval of `intervalMs`. */
  toPoint(id: SeriesIdentity, intervalMs: number): MetricPoint;
  /** Starts the next interval. */
  reset(): void;
}
