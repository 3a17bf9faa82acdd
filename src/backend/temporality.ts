import type { CounterTotals, ExpiredSeries, FlushBatch, Sink, TimerTotals } from '../sinks/sink.js';
import { TimerSketch } from './aggregators/timer-aggregator.js';
import { MetricKind } from '../wire/constants.js';
import { seriesKey } from './series-store.js';

type Totals = CounterTotals & TimerTotals;

/**
 * The running totals a backend keeps for a sink that wants cumulative values
 * (`Sink.temporality === 'cumulative'`): one per counter and timer series,
 * forgotten when the series store forgets the series (`batch.expired`), so the
 * state is bounded by the store's caps and expires with its series. A series
 * that comes back starts again from 0 with a new `startMs` (a reset, which
 * Prometheus and OTLP consumers recognise).
 *
 * With `histograms`, each timer also keeps its merged sketch since `startMs`
 * (native / exponential histograms are cumulative counters per bucket).
 */
export class CumulativeState {
  private readonly totals = new Map<string, Totals>();

  constructor(private readonly histograms = false) {}

  /** Series with totals held now. */
  get size(): number {
    return this.totals.size;
  }

  private static key(p: Pick<ExpiredSeries, 'type' | 'name' | 'source' | 'tags'>): string {
    return seriesKey(p.type === 'counter' ? MetricKind.counter : MetricKind.timer, p.name, p.source, p.tags);
  }

  /**
   * Forgets the batch's expired series, then sets `cumulative` on each of its
   * counter and timer points (in place; the batch is returned). A non-finite
   * interval value is left without totals, so it cannot poison them.
   */
  apply(batch: FlushBatch): FlushBatch {
    for (const x of batch.expired ?? []) if (x.type === 'counter' || x.type === 'timer') this.totals.delete(CumulativeState.key(x));
    for (const p of batch.points) {
      if (p.type === 'counter') {
        if (!Number.isFinite(p.value)) continue;
        const t = this.cell(p, batch);
        t.value += p.value;
        p.cumulative = { startMs: t.startMs, value: t.value };
      } else if (p.type === 'timer') {
        if (!Number.isFinite(p.count) || !Number.isFinite(p.sum)) continue;
        const t = this.cell(p, batch);
        t.count += p.count;
        t.sum += p.sum;
        p.cumulative = { startMs: t.startMs, count: t.count, sum: t.sum };
        if (this.histograms && p.sketch) {
          t.histogram ??= new TimerSketch();
          t.histogram.merge(p.sketch);
          p.cumulative.histogram = t.histogram;
        }
      }
    }
    return batch;
  }

  private cell(p: Pick<ExpiredSeries, 'type' | 'name' | 'source' | 'tags'>, batch: FlushBatch): Totals {
    const key = CumulativeState.key(p);
    let t = this.totals.get(key);
    if (t === undefined) this.totals.set(key, (t = { startMs: batch.timeMs - batch.intervalMs, value: 0, count: 0, sum: 0 }));
    return t;
  }
}

/**
 * A sink driven without a backend (tests, fault scenarios, a tool feeding
 * batches) gets the totals a backend would give it: a `cumulative` sink's
 * `export` is given the same {@link CumulativeState}. A `delta` sink is
 * returned as it is.
 */
export function withBackendTotals<S extends Sink>(sink: S): S {
  if (sink.temporality !== 'cumulative') return sink;
  const state = new CumulativeState(sink.cumulativeHistograms === true);
  const exportBatch = sink.export.bind(sink);
  sink.export = (batch) => exportBatch(state.apply(batch));
  return sink;
}
