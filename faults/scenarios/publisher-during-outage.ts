import { join } from 'node:path';
import type { Scenario } from '../scenario.ts';
import { stopAll } from '../../test/helpers/processes.ts';
import { backendCounts, finish, toResult, recovery, RssSampler, setup, startBackend, startBroker, startPublisher } from '../lib/delivery.ts';

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
      const a = await finish(pub, durationMs + 60_000, [file], [backend, broker], rss);
      return toResult(a, recoverMs, `${rate.toLocaleString('en-US')} records/s for ${durationMs / 1000} s, the first ${outageMs / 1000} s before any broker; recovery from broker start to the first delivered flush; RSS of broker, backend, publisher`);
    } finally {
      await stopAll();
    }
  },
};
export default scenario;
