import { join } from 'node:path';
import { silentlyLost, type Scenario } from '../scenario.ts';
import { stopAll } from '../../test/helpers/processes.ts';
import { backendCounts, finish, recovery, RssSampler, setup, startBackend, startBroker, startPublisher } from '../lib/delivery.ts';

const scenario: Scenario = {
  name: 'backend-restart-during-outage',
  description: 'Under load the broker is killed; while it is down the backend is stopped (SIGTERM) and a new one started; then the broker returns.',
  async run({ quick }) {
    const rate = quick ? 10_000 : 50_000;
    const durationMs = quick ? 7000 : 40_000;
    const beforeKillMs = quick ? 2000 : 10_000;
    const outageMs = quick ? 1500 : 10_000;
    const ep = await setup('backend-restart');
    const file1 = join(ep.dir, 'backend-1.jsonl');
    const file2 = join(ep.dir, 'backend-2.jsonl');
    try {
      let broker = await startBroker(ep, 'broker-1');
      const backend1 = await startBackend(ep, file1, 'b', [], 'b1');
      const pub = startPublisher(ep, rate, durationMs);
      const pids = [broker.pid, backend1.pid];
      const rss = new RssSampler(() => pids);
      await pub.waitFor(/^made /, 15_000);
      await new Promise((r) => setTimeout(r, beforeKillMs));
      await broker.stop('SIGKILL');
      await backend1.stop('SIGTERM');
      // The same backend restarted: same name, so it carries on from the old one's sequence positions.
      const backend2 = await startBackend(ep, file2, 'b', [], 'b2');
      pids.push(backend2.pid);
      await new Promise((r) => setTimeout(r, outageMs));
      const upAt = Date.now();
      broker = await startBroker(ep, 'broker-2');
      pids.push(broker.pid);
      const recoverMs = await recovery(() => backendCounts(file2).received, 0, upAt);
      // The old backend stopped cleanly during the outage; between them, the two are owed every record once.
      const a = await finish(pub, durationMs + 60_000, [file2], [backend2, broker], rss);
      const old = backendCounts(file1);
      const received = a.received + old.received;
      const counted = { ...a.counted, 'backend.lost': a.counted['backend.lost']! + old.lost };
      return {
        made: a.made,
        received,
        counted,
        silentlyLost: silentlyLost(a.made, received, counted),
        recoverMs,
        peakRssMiB: a.peakRssMiB,
        notes: `${rate.toLocaleString('en-US')} records/s for ${durationMs / 1000} s, broker down ${outageMs / 1000} s; received = old backend ${old.received} + new backend ${a.received}; records in flight in the killed broker are counted as lost by the restarted backend, which carries on from the old one's sequence positions`,
      };
    } finally {
      await stopAll();
    }
  },
};
export default scenario;
