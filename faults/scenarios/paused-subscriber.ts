import { join } from 'node:path';
import { silentlyLost, type Scenario } from '../scenario.ts';
import { stopAll } from '../../test/helpers/processes.ts';
import { backendCounts, publisherResult, RssSampler, settled, setup, startBackend, startBroker, startPublisher } from '../lib/delivery.ts';

const scenario: Scenario = {
  name: 'paused-subscriber',
  description: 'One backend is paused (SIGSTOP) beside a healthy one while a publisher with a 1 ms flush sends many small batches; then it resumes (SIGCONT).',
  async run({ quick }) {
    const rate = quick ? 20_000 : 50_000;
    const pauseMs = quick ? 3000 : 60_000;
    const durationMs = pauseMs + (quick ? 4000 : 15_000);
    const ep = await setup('paused');
    const healthyFile = join(ep.dir, 'healthy.jsonl');
    const pausedFile = join(ep.dir, 'paused.jsonl');
    try {
      const broker = await startBroker(ep);
      const healthy = await startBackend(ep, healthyFile, 'healthy');
      const paused = await startBackend(ep, pausedFile, 'paused');
      const rss = new RssSampler(() => [broker.pid, healthy.pid]);
      const pub = startPublisher(ep, rate, durationMs, 1);
      await pub.waitFor(/^made /, 15_000);
      paused.child.kill('SIGSTOP');
      const healthyAtPause = backendCounts(healthyFile).received;
      await new Promise((r) => setTimeout(r, pauseMs));
      const healthyDuringPause = backendCounts(healthyFile).received - healthyAtPause;
      paused.child.kill('SIGCONT');
      const result = await publisherResult(pub, durationMs + 60_000);
      for (const f of [healthyFile, pausedFile]) {
        await settled(() => {
          const x = backendCounts(f);
          return x.received + x.lost;
        });
      }
      await healthy.stop('SIGTERM');
      await paused.stop('SIGTERM');
      await broker.stop('SIGTERM');
      const peak = rss.stop();
      const h = backendCounts(healthyFile);
      const p = backendCounts(pausedFile);
      // Each record is owed to both backends: made counts one copy per backend.
      const made = 2 * result.made;
      const counted = { 'client.dropped': 2 * result.stats.dropped, 'client.unsubscribed': 2 * result.stats.unsubscribed, 'healthy.lost': h.lost, 'paused.lost': p.lost };
      return {
        made,
        received: h.received + p.received,
        counted,
        silentlyLost: silentlyLost(made, h.received + p.received, counted),
        recoverMs: null,
        peakRssMiB: peak,
        notes: `${rate.toLocaleString('en-US')} records/s, 1 ms client flush, paused ${pauseMs / 1000} s; made = 2 × ${result.made} (one copy per backend); healthy received ${h.received} (${healthyDuringPause} during the pause), paused received ${p.received} and counted ${p.lost} lost; RSS of broker and healthy backend`,
      };
    } finally {
      await stopAll();
    }
  },
};
export default scenario;
