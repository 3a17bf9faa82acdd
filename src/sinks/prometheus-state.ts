import type { FlushBatch, MetricPoint } from './sink.js';
import { familyName, pointLabels } from './prometheus-naming.js';

/** Prometheus metric types we produce. */
export type PromType = 'counter' | 'gauge' | 'summary';

/** One labelled series with its cumulative state. */
export interface PromSeries {
  family: string;
  type: PromType;
  labels: [string, string][];
  /** counter: running total; gauge: last value. */
  value: number;
  /** summary only: cumulative count and sum, and the latest interval's quantiles. */
  count: number;
  sum: number;
  quantiles: Record<'p50' | 'p90' | 'p95' | 'p99', number>;
  /** Epoch ms of the flush that last updated it. */
  updatedMs: number;
}

function promType(p: MetricPoint): PromType {
  return p.type === 'counter' ? 'counter' : p.type === 'timer' ? 'summary' : 'gauge';
}

function finite(p: MetricPoint): boolean {
  if (p.type === 'timer') return [p.count, p.sum, p.p50, p.p90, p.p95, p.p99].every(Number.isFinite);
  return Number.isFinite(p.value);
}

/**
 * Turns per-interval aggregates into what Prometheus expects: counters and
 * summary count/sum are cumulative since this process started (Prometheus
 * takes a decrease as a counter reset, which a restart is); gauges and
 * quantiles are the latest interval's.
 */
export class PromState {
  private readonly series = new Map<string, PromSeries>();
  private readonly familyTypes = new Map<string, PromType>();

  constructor(private readonly namespace: string) {}

  /**
   * Folds a flush in. Returns the series it touched (for remote write) and the
   * points refused: non-finite values, or a name already used by another type.
   */
  apply(batch: FlushBatch): { touched: PromSeries[]; rejected: { name: string; reason: string }[] } {
    const touched: PromSeries[] = [];
    const rejected: { name: string; reason: string }[] = [];
    for (const p of batch.points) {
      if (!finite(p)) {
        rejected.push({ name: p.name, reason: 'value is not a finite number' });
        continue;
      }
      const family = familyName(p, this.namespace);
      const type = promType(p);
      const known = this.familyTypes.get(family);
      if (known !== undefined && known !== type) {
        rejected.push({ name: p.name, reason: `${family} is already a ${known}; a ${type} cannot share the name` });
        continue;
      }
      this.familyTypes.set(family, type);
      const labels = pointLabels(p);
      const key = family + '\u0000' + labels.map(([k, v]) => `${k}\u0001${v}`).join('\u0000');
      let s = this.series.get(key);
      if (!s) {
        s = { family, type, labels, value: 0, count: 0, sum: 0, quantiles: { p50: 0, p90: 0, p95: 0, p99: 0 }, updatedMs: batch.timeMs };
        this.series.set(key, s);
      }
      s.updatedMs = batch.timeMs;
      if (p.type === 'counter') s.value += p.value;
      else if (p.type === 'timer') {
        s.count += p.count;
        s.sum += p.sum;
        s.quantiles = { p50: p.p50, p90: p.p90, p95: p.p95, p99: p.p99 };
      } else s.value = p.value;
      touched.push(s);
    }
    return { touched, rejected };
  }

  /** Every series, grouped by family (families in first-seen order). */
  families(): Map<string, PromSeries[]> {
    const out = new Map<string, PromSeries[]>();
    for (const s of this.series.values()) {
      const list = out.get(s.family);
      if (list) list.push(s);
      else out.set(s.family, [s]);
    }
    return out;
  }

  /** Forgets series not updated since `beforeMs`, so vanished series stop being exposed. */
  expire(beforeMs: number): void {
    for (const [k, s] of this.series) if (s.updatedMs < beforeMs) this.series.delete(k);
  }
}
