import { join } from 'node:path';
import type { Scenario } from '../scenario.ts';
import { stopAll } from '../../test/helpers/processes.ts';
import { backendCounts, finish, toResult, RssSampler, setup, startBackend, startBroker, startPublisher } from '../lib/delivery.ts';

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
      const a = await finish(pub, durationMs + 60_000, [healthyFile, pausedFile], [healthy, paused, broker], rss);
      const [h, p] = a.backends as [ReturnType<typeof backendCounts>, ReturnType<typeof backendCounts>];
      return toResult(a, null, `${rate.toLocaleString('en-US')} records/s, 1 ms client flush, paused ${pauseMs / 1000} s; made = 2 × ${a.result.made} (one copy per backend); healthy received ${h.received} (${healthyDuringPause} during the pause), paused received ${p.received} and counted ${p.lost} lost (healthy lost ${h.lost}); RSS of broker and healthy backend`);
    } finally {
      await stopAll();
    }
  },
};
export default scenario;
