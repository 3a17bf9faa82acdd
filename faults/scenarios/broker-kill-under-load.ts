import { join } from 'node:path';
import type { Scenario } from '../scenario.ts';
import { stopAll } from '../../test/helpers/processes.ts';
import { backendCounts, finish, toResult, recovery, RssSampler, setup, startBackend, startBroker, startPublisher } from '../lib/delivery.ts';

const scenario: Scenario = {
  name: 'broker-kill-under-load',
  description: 'The broker is killed (SIGKILL) under load and restarted; the publisher and the backend stay up.',
  async run({ quick }) {
    const rate = quick ? 20_000 : 200_000;
    const durationMs = quick ? 6000 : 40_000;
    const killAtMs = quick ? 2000 : 15_000;
    const downMs = quick ? 1000 : 5000;
    const ep = await setup('broker-kill');
    const file = join(ep.dir, 'backend.jsonl');
    try {
      let broker = await startBroker(ep, 'broker-1');
      const backend = await startBackend(ep, file, 'b');
      const pub = startPublisher(ep, rate, durationMs);
      const rss = new RssSampler(() => [broker.pid, backend.pid]);
      await pub.waitFor(/^made /, 15_000);
      await new Promise((r) => setTimeout(r, killAtMs));
      await broker.stop('SIGKILL');
      await new Promise((r) => setTimeout(r, downMs));
      const before = backendCounts(file).received;
      const restartedAt = Date.now();
      broker = await startBroker(ep, 'broker-2');
      const recoverMs = await recovery(() => backendCounts(file).received, before, restartedAt);
      const a = await finish(pub, durationMs + 60_000, [file], [backend, broker], rss);
      return toResult(a, recoverMs, `${rate.toLocaleString('en-US')} records/s for ${durationMs / 1000} s, broker down ${downMs / 1000} s; recovery is to the next 1 s backend flush; RSS of broker and backend `);
    } finally {
      await stopAll();
    }
  },
};
export default scenario;
