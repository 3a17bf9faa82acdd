import { join } from 'node:path';
import { silentlyLost, type Scenario } from '../scenario.ts';
import { stopAll } from '../../test/helpers/processes.ts';
import { backendCounts, publisherResult, recovery, RssSampler, settled, setup, startBackend, startBroker, startPublisher } from '../lib/delivery.ts';

const scenario: Scenario = {
  name: 'publisher-during-outage',
  description: 'A publisher starts while the broker is down (a backend is waiting for it); the broker comes up later.',
  async run({ quick }) {
    const rate = quick ? 10_000 : 50_000;
    const durationMs = quick ? 5000 : 30_000;
    const outageMs = quick ? 2000 : 10_000;
    const ep = await setup('pub-outage');
    const file = join(ep.dir, 'backend.jsonl');
    try {
      const backend = await startBackend(ep, file, 'b');
      const pub = startPublisher(ep, rate, durationMs);
      await pub.waitFor(/^made /, 15_000);
      await new Promise((r) => setTimeout(r, outageMs));
      const upAt = Date.now();
      const broker = await startBroker(ep);
      const rss = new RssSampler(() => [broker.pid, backend.pid, pub.pid]);
      const recoverMs = await recovery(() => backendCounts(file).received, 0, upAt);
      const result = await publisherResult(pub, durationMs + 60_000);
      await settled(() => {
        const x = backendCounts(file);
        return x.received + x.lost;
      });
      await backend.stop('SIGTERM');
      await broker.stop('SIGTERM');
      const peak = rss.stop();
      const final = backendCounts(file);
      const counted = { 'client.dropped': result.stats.dropped, 'client.unsubscribed': result.stats.unsubscribed, 'backend.lost': final.lost };
      return {
        made: result.made,
        received: final.received,
        counted,
        silentlyLost: silentlyLost(result.made, final.received, counted),
        recoverMs,
        peakRssMiB: peak,
        notes: `${rate.toLocaleString('en-US')} records/s for ${durationMs / 1000} s, the first ${outageMs / 1000} s before any broker; recovery from broker start to the first delivered flush; RSS of broker, backend, publisher`,
      };
    } finally {
      await stopAll();
    }
  },
};
export default scenario;
