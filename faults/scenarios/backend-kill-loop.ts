import { join } from 'node:path';
import { silentlyLost, type Scenario } from '../scenario.ts';
import { stopAll } from '../../test/helpers/processes.ts';
import { backendCounts, publisherResult, recovery, RssSampler, settled, setup, startBackend, startBroker, startPublisher } from '../lib/delivery.ts';

const scenario: Scenario = {
  name: 'backend-kill-loop',
  description: 'Under load a backend with a write-ahead log is killed with SIGKILL every few seconds and restarted at once on the same log and file.',
  async run({ quick }) {
    const rate = quick ? 20_000 : 100_000;
    const kills = quick ? 2 : 12;
    const killEveryMs = quick ? 4000 : 10_000;
    const durationMs = killEveryMs * (kills + 1) + (quick ? 1000 : 0);
    const ep = await setup('backend-kill-loop');
    const file = join(ep.dir, 'backend.jsonl');
    const walArgs = ['--wal-dir', join(ep.dir, 'wal')];
    try {
      const broker = await startBroker(ep);
      let backend = await startBackend(ep, file, 'killed', walArgs);
      const pids = [broker.pid, backend.pid];
      const rss = new RssSampler(() => pids);
      const pub = startPublisher(ep, rate, durationMs);
      await pub.waitFor(/^made /, 15_000);
      let worstRecoverMs = 0;
      for (let k = 0; k < kills; k++) {
        await new Promise((r) => setTimeout(r, killEveryMs));
        const before = backendCounts(file).received;
        await backend.stop('SIGKILL');
        const downAt = Date.now();
        backend = await startBackend(ep, file, 'killed', walArgs);
        pids.push(backend.pid);
        // Recovery: the first records past what the killed backend had flushed land in the file.
        worstRecoverMs = Math.max(worstRecoverMs, (await recovery(() => backendCounts(file).received, before, downAt)) ?? Infinity);
      }
      const result = await publisherResult(pub, durationMs + 60_000);
      await settled(() => {
        const x = backendCounts(file);
        return x.received + x.lost;
      });
      await backend.stop('SIGTERM');
      await broker.stop('SIGTERM');
      const peakRssMiB = rss.stop();
      const b = backendCounts(file);
      // The log keeps each publisher's sequence across a kill, so every record the restarted backend did not get is in its
      // gap: those lost at the kill and those the publisher discarded while nobody subscribed (also in client.unsubscribed, not added twice).
      const counted = { 'backend.lost': b.lost, 'client.dropped': result.stats.dropped };
      const lostAtKill = Math.max(0, b.lost - result.stats.unsubscribed);
      return {
        made: result.made,
        received: b.received,
        counted,
        silentlyLost: silentlyLost(result.made, b.received, counted),
        recoverMs: Number.isFinite(worstRecoverMs) ? worstRecoverMs : null,
        peakRssMiB,
        notes:
          `${rate.toLocaleString('en-US')} records/s for ${durationMs / 1000} s, ${kills} SIGKILLs ${killEveryMs / 1000} s apart, restart at once; ` +
          `lost per kill ${Math.round(b.lost / kills)} records (${Math.round((b.lost / kills / rate) * 1000)} ms of traffic), of which ${Math.round(result.stats.unsubscribed / kills)} made while no backend was subscribed (the restart) ` +
          `and ${Math.round(lostAtKill / kills)} (${Math.round((lostAtKill / kills / rate) * 1000)} ms) in flight at the kill; recoverMs is the slowest restart`,
      };
    } finally {
      await stopAll();
    }
  },
};
export default scenario;
