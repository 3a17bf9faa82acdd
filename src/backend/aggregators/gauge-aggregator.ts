import type { GaugePoint } from '../../sinks/sink.js';
import type { Aggregator, SeriesIdentity } from './aggregator.js';

/**
 * Keeps the last value. The value survives a flush so StatsD-style deltas
 * (`+3`, `-2`) apply to it; a gauge is reported only in intervals where it
 * changed. Merge rule: last writer wins.
 */
export class GaugeAggregator implements Aggregator<GaugeAggregator> {
  value = 0;
  /** Lowest and highest value the gauge took in the interval (the store keeps them). */
  min = Infinity;
  max = -Infinity;
  touched = false;

  add(value: number): void {
    this.value = value;
    this.note();
  }

  /** Applies a delta to the last value. */
  addDelta(delta: number): void {
    this.value += delta;
    this.note();
  }

  private note(): void {
    if (this.value < this.min) this.min = this.value;
    if (this.value > this.max) this.max = this.value;
    this.touched = true;
  }

  merge(other: GaugeAggregator): void {
    if (other.touched) {
      this.value = other.value;
      this.min = Math.min(this.min, other.min);
      this.max = Math.max(this.max, other.max);
      this.touched = true;
    }
  }

  toPoint(id: SeriesIdentity): GaugePoint {
    return { type: 'gauge', ...id, value: this.value, min: this.min, max: this.max };
  }

  reset(): void {
    this.touched = false;
    this.min = Infinity;
    this.max = -Infinity;
  }
}
