import type { CounterPoint } from '../../sinks/sink.js';
import type { Aggregator, SeriesIdentity } from './aggregator.js';

/** Sums increments over an interval. Merge rule: sum. */
export class CounterAggregator implements Aggregator<CounterAggregator> {
  sum = 0;
  touched = false;

  add(value: number, weight: number): void {
    // A sampled increment stands for 1/rate increments.
    this.sum += value * weight;
    this.touched = true;
  }

  merge(other: CounterAggregator): void {
    this.sum += other.sum;
    this.touched ||= other.touched;
  }

  toPoint(id: SeriesIdentity, intervalMs: number): CounterPoint {
    return { type: 'counter', ...id, value: this.sum, rate: intervalMs > 0 ? this.sum / (intervalMs / 1000) : 0 };
  }

  reset(): void {
    this.sum = 0;
    this.touched = false;
  }
}
