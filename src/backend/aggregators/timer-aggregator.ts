import { DDSketch } from '@datadog/sketches-js';
import type { TimerPoint } from '../../sinks/sink.js';
import type { Aggregator, SeriesIdentity } from './aggregator.js';

/**
 * Relative accuracy of the quantile sketch. 0.5 % leaves headroom under the
 * 1 % promise for the difference between rank conventions. DDSketch memory
 * depends on the range of values (log buckets), never on the sample count.
 */
export const TIMER_RELATIVE_ACCURACY = 0.005;

/**
 * Magnitudes below this (ms) go to the sketch's zero bucket. DDSketch keeps one
 * bucket per log step between the smallest and largest value it has seen, and
 * sketches-js overflows the call stack on a span like 1e-300…1e308 (found by
 * fuzzing); a picosecond is far below any clock a timer reads. min, max, sum
 * and count stay exact.
 */
export const TIMER_SKETCH_MIN_MS = 1e-9;

/** Timer statistics: exact count/sum/min/max/stddev, percentiles from a mergeable DDSketch. Merge rule: sketch merge, sums add. */
export class TimerAggregator implements Aggregator<TimerAggregator> {
  count = 0;
  sum = 0;
  sumSquares = 0;
  min = Infinity;
  max = -Infinity;
  touched = false;
  sketch = new DDSketch({ relativeAccuracy: TIMER_RELATIVE_ACCURACY });

  add(value: number, weight: number): void {
    this.count += weight;
    this.sum += value * weight;
    this.sumSquares += value * value * weight;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.sketch.accept(value > -TIMER_SKETCH_MIN_MS && value < TIMER_SKETCH_MIN_MS ? 0 : value, weight);
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
    this.sketch = new DDSketch({ relativeAccuracy: TIMER_RELATIVE_ACCURACY });
  }
}
