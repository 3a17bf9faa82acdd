import type { GaugePoint } from '../../sinks/sink.js';
import type { Aggregator, SeriesIdentity } from './aggregator.js';

/**
 * Keeps the last value. The value survives a flush so StatsD-style deltas
 * (`+3`, `-2`) apply to it; a gauge is reported only in intervals where it
 * changed. Merge rule: last writer wins.
 */
export class GaugeAggregator implements Aggregator<GaugeAggregator> {
  value = 0;
  touched = false;

  add(value: number): void {
    this.value = value;
    this.touched = true;
  }

  /** Applies a delta to the last value. */
  addDelta(delta: number): void {
    this.value += delta;
    this.touched = true;
  }

  merge(other: GaugeAggregator): void {
    if (other.touched) {
      this.value = other.value;
      this.touched = true;
    }
  }

  toPoint(id: SeriesIdentity): GaugePoint {
    return { type: 'gauge', ...id, value: this.value };
  }

  reset(): void {
    this.touched = false;
  }
}
