import { join } from 'node:path';
import { stopAll } from '../../test/helpers/processes.ts';
import { RssSampler, setup, startBackend, startBroker } from '../lib/delivery.ts';
import { publishDistinctSeries, seriesResult, seriesTotals } from '../lib/series.ts';
import type { Scenario } from '../scenario.ts';

/** Peak of the samples in each half of the run. */
class HalfPeaks {
  readonly samples: { t: number; v: number }[] = [];
  add(v: number): void {
    this.samples.push({ t: Date.now(), v });
  }
  halves(): [number, number] {
    if (this.samples.length === 0) return [0, 0];
    const mid = (this.samples[0]!.t + this.samples[this.samples.length - 1]!.t) / 2;
    let a = 0;
    let b = 0;
    for (const s of this.samples) if (s.t <= mid) a = Math.max(a, s.v);
    else b = Math.max(b, s.v);
    return [a, b];
  }
}

const scenario: Scenario = {
  name: 'series-churn',
  description: 'Series appear and go idle without end: every record is a new series (5,000 a second), each idle after its first flush; the backend forgets them after 2 idle flushes. Full run 1 h (as the issue asks), quick 10 s.',
  async run({ quick }) {
    const rate = 5000;
    const durationMs = quick ? 10_000 : 3_600_000;
    const values = (rate * durationMs) / 1000;
    const ep = await setup('series-churn');
    const path = join(ep.dir, 'metrics.jsonl');
    try {
      const broker = await startBroker(ep);
      // Caps far above what churn holds at once, so only expiry keeps memory flat. The file never rotates: the totals
      // are read back from it, and at its default 100 MiB × 7 kept a full run's first rows (2.4 GB an hour) were deleted.
      const backend = await startBackend(ep, path, 'churn', ['--series-idle-flushes', '2', '--max-series-per-metric', '1000000', '--max-series', '1000000', '--max-bytes', '0', '--max-age-ms', '0']);
      const rss = new RssSampler(() => [backend.pid]);
      const rssHalves = new HalfPeaks();
      const sampler = setInterval(() => {
        const before = rss.peakMiB;
        rss.peakMiB = 0;
        rss.sample();
        rssHalves.add(rss.peakMiB);
        rss.peakMiB = Math.max(before, rss.peakMiB);
      }, 500);
      const pub = await publishDistinctSeries(ep.publish, values, durationMs);
      clearInterval(sampler);
      await backend.stop('SIGTERM', 60_000);
      await broker.stop('SIGTERM');
      const peakRssMiB = rss.stop();
      const t = await seriesTotals(path);
      const [rssFirst, rssSecond] = rssHalves.halves();
      const gauge = t.seriesGauge;
      const half = Math.floor(gauge.length / 2);
      const seriesFirst = Math.max(0, ...gauge.slice(0, half));
      const seriesSecond = Math.max(0, ...gauge.slice(half));
      // Flat: the second half holds no more series than the first (plus a flush's worth of jitter), and its memory stays close.
      if (seriesSecond > seriesFirst + rate * 2) throw new Error(`series held grew from ${seriesFirst} to ${seriesSecond}`);
      if (rssSecond > rssFirst * 1.25 + 16) throw new Error(`backend RSS grew from ${rssFirst.toFixed(0)} to ${rssSecond.toFixed(0)} MiB`);
      return seriesResult(pub, t, peakRssMiB, `${values.toLocaleString('en-US')} distinct series over ${durationMs / 1000} s; series held at most ${seriesFirst} (first half) / ${seriesSecond} (second half); backend RSS peak ${rssFirst.toFixed(0)} / ${rssSecond.toFixed(0)} MiB`);
    } finally {
      await stopAll();
    }
  },
};
export default scenario;
