import type { ExpiredSeries, FlushBatch, MetricPoint } from './sink.js';
import { familyName, pointLabels, MS_PER_SECOND } from './prometheus-naming.js';
import { TimerSketch } from '../backend/aggregators/timer-aggregator.js';

/** Prometheus metric types we produce; `histogram` is a native histogram (remote write with `nativeHistograms`). */
export type PromType = 'counter' | 'gauge' | 'summary' | 'histogram';

/** One labelled series with its cumulative state. */
export interface PromSeries {
  family: string;
  type: PromType;
  labels: [string, string][];
  /** counter: running total; gauge: last value. */
  value: number;
  /** summary only (timers, in seconds): cumulative count and sum, and the latest interval's quantiles. */
  count: number;
  sum: number;
  /** summary only: the cumulative sum in milliseconds, as received; `sum` is it in seconds (one division, no drift from adding rounded seconds). */
  sumMs: number;
  quantiles: Record<'p50' | 'p90' | 'p95' | 'p99', number>;
  /**
   * histogram only: the timer's merged sketch since its start (buckets of
   * seconds), the backend's cumulative one when there is a backend; read it
   * when encoding, at the flush that set it.
   */
  histogram?: TimerSketch;
  /** Epoch ms of the flush that last updated it. */
  updatedMs: number;
}

/** A metric family: its type, `# HELP` text and series. */
export interface PromFamily {
  type: PromType;
  /** Unescaped help text: the series' description, else the Zibrato type and the first original name seen. */
  help: string;
  series: PromSeries[];
}

interface FamilyInfo {
  type: PromType;
  help: string;
  /** Series currently held, so a family (and its sample names) is released with its last series. */
  size: number;
}

function promType(p: Pick<MetricPoint, 'type'>, nativeHistograms: boolean): PromType {
  return p.type === 'counter' ? 'counter' : p.type === 'timer' ? (nativeHistograms ? 'histogram' : 'summary') : 'gauge';
}

/** The sample names a family writes: a summary also owns `_sum` and `_count`. */
function sampleNames(family: string, type: PromType): string[] {
  return type === 'summary' ? [family, `${family}_sum`, `${family}_count`] : [family];
}

function finite(p: MetricPoint): boolean {
  if (p.type === 'timer') return [p.count, p.sum, p.p50, p.p90, p.p95, p.p99].every(Number.isFinite);
  return Number.isFinite(p.value);
}

/**
 * Holds what a Prometheus sink exposes: counters and summary count/sum are the
 * cumulative totals the backend keeps for a `cumulative` sink (Prometheus
 * takes a decrease as a counter reset, which a restart is); gauges and
 * quantiles are the latest interval's.
 *
 * Every sample name belongs to one family. After sanitising, a timer `lat`
 * (samples `lat`, `lat_sum`, `lat_count`) and a gauge `lat.count` would both
 * write `lat_count`, which Prometheus cannot tell apart: the later family is
 * refused (counted and logged by the sink), never exposed twice.
 *
 * State is bounded by the backend's series store: series it forgets
 * (`batch.expired`) are forgotten here too.
 */
export class PromState {
  private readonly series = new Map<string, PromSeries>();
  private readonly familyInfo = new Map<string, FamilyInfo>();
  private readonly sampleOwner = new Map<string, string>();

  /** `nativeHistograms`: timers become native histograms instead of summaries (only remote write can carry them). */
  constructor(private readonly namespace: string, private readonly nativeHistograms = false) {}

  private key(family: string, labels: [string, string][]): string {
    return family + '\u0000' + labels.map(([k, v]) => `${k}\u0001${v}`).join('\u0000');
  }

  /** Why a point's family cannot be used, or undefined when it can. */
  private conflict(family: string, type: PromType): string | undefined {
    const known = this.familyInfo.get(family);
    if (known !== undefined) return known.type === type ? undefined : `${family} is already a ${known.type}; a ${type} cannot share the name`;
    for (const n of sampleNames(family, type)) {
      const owner = this.sampleOwner.get(n);
      if (owner !== undefined) return `${n} is already a sample of the ${this.familyInfo.get(owner)?.type ?? ''} ${owner}; a ${type} ${family} would write it twice`;
    }
    return undefined;
  }

  /**
   * Folds a flush in. Returns the series it touched and the points refused:
   * non-finite values, or a name already used by another family.
   */
  apply(batch: FlushBatch): { touched: PromSeries[]; rejected: { name: string; reason: string }[] } {
    if (batch.expired) this.forget(batch.expired);
    const touched: PromSeries[] = [];
    const rejected: { name: string; reason: string }[] = [];
    for (const p of batch.points) {
      if (!finite(p)) {
        rejected.push({ name: p.name, reason: 'value is not a finite number' });
        continue;
      }
      const family = familyName(p, this.namespace);
      const type = promType(p, this.nativeHistograms);
      if (type === 'histogram' && p.type === 'timer' && p.sketch === undefined && p.cumulative?.histogram === undefined) {
        rejected.push({ name: p.name, reason: 'a timer without its sketch cannot be a native histogram' });
        continue;
      }
      const why = this.conflict(family, type);
      if (why !== undefined) {
        rejected.push({ name: p.name, reason: why });
        continue;
      }
      let info = this.familyInfo.get(family);
      // A description that arrives later (or is reworded) replaces the generated help.
      if (info && p.description !== undefined && info.help !== p.description) info.help = p.description;
      if (!info) {
        info = { type, help: p.description ?? `zibrato ${p.type} ${p.name}`, size: 0 };
        this.familyInfo.set(family, info);
        for (const n of sampleNames(family, type)) this.sampleOwner.set(n, family);
      }
      const labels = pointLabels(p);
      const key = this.key(family, labels);
      let s = this.series.get(key);
      if (!s) {
        s = { family, type, labels, value: 0, count: 0, sum: 0, sumMs: 0, quantiles: { p50: 0, p90: 0, p95: 0, p99: 0 }, updatedMs: batch.timeMs };
        this.series.set(key, s);
        info.size++;
      }
      s.updatedMs = batch.timeMs;
      // The totals come from the backend (src/backend/temporality.ts); summing here is only for a sink used without one.
      if (p.type === 'counter') s.value = p.cumulative?.value ?? s.value + p.value;
      else if (p.type === 'timer') {
        const k = MS_PER_SECOND;
        s.count = p.cumulative?.count ?? s.count + p.count;
        s.sumMs = p.cumulative?.sum ?? s.sumMs + p.sum;
        s.sum = s.sumMs / k;
        s.quantiles = { p50: p.p50 / k, p90: p.p90 / k, p95: p.p95 / k, p99: p.p99 / k };
        if (type === 'histogram') {
          if (p.cumulative?.histogram) s.histogram = p.cumulative.histogram;
          else if (p.sketch) (s.histogram ??= new TimerSketch()).merge(p.sketch);
        }
      } else s.value = p.value;
      touched.push(s);
    }
    return { touched, rejected };
  }

  /** Every live series, in first-seen order. */
  all(): PromSeries[] {
    return [...this.series.values()];
  }

  /** Every family with its series (families in first-seen order). */
  families(): Map<string, PromFamily> {
    const out = new Map<string, PromFamily>();
    for (const s of this.series.values()) {
      const f = out.get(s.family);
      if (f) f.series.push(s);
      else out.set(s.family, { type: s.type, help: this.familyInfo.get(s.family)?.help ?? s.family, series: [s] });
    }
    return out;
  }

  /** Forgets the series the backend forgot. */
  forget(expired: readonly ExpiredSeries[]): void {
    for (const x of expired) {
      const family = familyName(x, this.namespace);
      const key = this.key(family, pointLabels(x));
      const s = this.series.get(key);
      if (s && s.type === promType(x, this.nativeHistograms)) this.remove(key, s);
    }
  }

  /** Forgets series not updated since `beforeMs`, so vanished series stop being exposed. */
  expire(beforeMs: number): void {
    for (const [k, s] of this.series) if (s.updatedMs < beforeMs) this.remove(k, s);
  }

  private remove(key: string, s: PromSeries): void {
    this.series.delete(key);
    const info = this.familyInfo.get(s.family);
    if (info && --info.size <= 0) {
      this.familyInfo.delete(s.family);
      for (const n of sampleNames(s.family, info.type)) if (this.sampleOwner.get(n) === s.family) this.sampleOwner.delete(n);
    }
  }
}
