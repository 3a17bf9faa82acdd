import { join } from 'node:path';
import { stopAll } from '../../test/helpers/processes.ts';
import { RssSampler, setup, startBackend, startBroker } from '../lib/delivery.ts';
import { publishDistinctSeries, seriesResult, seriesTotals } from '../lib/series.ts';
import type { Scenario } from '../scenario.ts';

const scenario: Scenario = {
  name: 'series-overflow',
  description: 'One app makes 1,000,000 distinct series of one counter in 60 s (quick: 50,000 in 5 s); the backend folds every series past its per-metric cap (2,000) into one overflow series.',
  async run({ quick }) {
    const values = quick ? 50_000 : 1_000_000;
    const durationMs = quick ? 5_000 : 60_000;
    const ep = await setup('series-overflow');
    const path = join(ep.dir, 'metrics.jsonl');
    try {
      const broker = await startBroker(ep);
      const backend = await startBackend(ep, path, 'overflow');
      const rss = new RssSampler(() => [backend.pid]);
      const pub = await publishDistinctSeries(ep.publish, values, durationMs);
      await backend.stop('SIGTERM', 60_000);
      await broker.stop('SIGTERM');
      const peakRssMiB = rss.stop();
      const t = await seriesTotals(path);
      if (t.overflow === 0) throw new Error('nothing reached the overflow series');
      if (peakRssMiB > 256) throw new Error(`backend peak RSS ${peakRssMiB.toFixed(0)} MiB is over 256 MiB`);
      return seriesResult(pub, t, peakRssMiB, `backend (watched) with the default caps; ${t.series} distinct series written, ${t.overflow.toLocaleString('en-US')} records through the zibrato.overflow=true series; received is the metric's total over all its series`);
    } finally {
      await stopAll();
    }
  },
};
export default scenario;
