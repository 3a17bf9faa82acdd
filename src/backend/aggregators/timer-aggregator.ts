import type { TimerPoint } from '../../sinks/sink.js';
import type { Aggregator, SeriesIdentity } from './aggregator.js';
import { EXP_HISTOGRAM_MAX_BUCKETS, EXP_HISTOGRAM_MAX_SCALE, ExpHistogram } from './exp-histogram.js';

/**
 * Magnitudes at or below this (ms) go to the sketch's zero bucket: a
 * picosecond is far below any clock a timer reads, and a value like 1e-300
 * next to 1e3 would otherwise force the histogram down to a coarse scale.
 * min, max, sum and count stay exact.
 */
export const TIMER_SKETCH_MIN_MS = 1e-9;

/** Timers travel in milliseconds; their sketch buckets seconds (see {@link TimerSketch}). */
const MS_PER_SECOND = 1000;

/**
 * A timer's quantile sketch: a base-2 exponential histogram of the values **in
 * seconds**, so its buckets are the ones Prometheus native histograms and
 * OTLP exponential histograms of a `_seconds` / `s` metric use, exported
 * without re-bucketing (1000 is not a power of 2: bucketing milliseconds
 * would put every boundary off the seconds grid). Its API speaks
 * milliseconds, like the rest of the timer: {@link accept} and
 * {@link getValueAtQuantile} (the names the store used with DDSketch).
 */
export class TimerSketch extends ExpHistogram {
  constructor(maxScale = EXP_HISTOGRAM_MAX_SCALE) {
    super(TIMER_SKETCH_MIN_MS / MS_PER_SECOND, EXP_HISTOGRAM_MAX_BUCKETS, maxScale);
  }

  /** Adds `weight` samples of `ms` milliseconds. */
  accept(ms: number, weight = 1): void {
    this.record(ms / MS_PER_SECOND, weight);
  }

  /** The value at quantile `q`, in milliseconds (≤ 0.27 % relative error at scale 7). */
  getValueAtQuantile(q: number): number {
    return this.quantile(q) * MS_PER_SECOND;
  }
}

/** Timer statistics: exact count/sum/min/max/stddev, percentiles from a mergeable exponential histogram. Merge rule: histogram merge, sums add. */
export class TimerAggregator implements Aggregator<TimerAggregator> {
  count = 0;
  sum = 0;
  sumSquares = 0;
  min = Infinity;
  max = -Infinity;
  touched = false;
  sketch = new TimerSketch();

  add(value: number, weight: number): void {
    this.count += weight;
    this.sum += value * weight;
    this.sumSquares += value * value * weight;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.sketch.accept(value, weight);
    this.touched = true;
  }

  merge(other: TimerAggregator): void {
    if (!other.touched) return;
    this.count += other.count;
    this.sum += other.sum;
    this.sumSquares += other.sumSquares;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
    this.sketch.merge(other.sketch);
    this.touched = true;
  }

  /** The value at quantile q, clamped to the exact min/max the sketch may overshoot. */
  private quantile(q: number): number {
    const v = this.sketch.getValueAtQuantile(q);
    return Math.min(this.max, Math.max(this.min, v));
  }

  toPoint(id: SeriesIdentity): TimerPoint {
    const mean = this.count > 0 ? this.sum / this.count : 0;
    const variance = this.count > 0 ? Math.max(0, this.sumSquares / this.count - mean * mean) : 0;
    return {
      type: 'timer',
      ...id,
      count: this.count,
      sum: this.sum,
      min: this.count > 0 ? this.min : 0,
      max: this.count > 0 ? this.max : 0,
      mean,
      stddev: Math.sqrt(variance),
      sumSquares: this.sumSquares,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p95: this.quantile(0.95),
      p99: this.quantile(0.99),
      sketch: this.sketch,
    };
  }

  reset(): void {
    this.count = 0;
    this.sum = 0;
    this.sumSquares = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.touched = false;
    this.sketch = new TimerSketch();
  }
}
