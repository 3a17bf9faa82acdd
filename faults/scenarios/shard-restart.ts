import { join } from 'node:path';
import { silentlyLost, type Scenario } from '../scenario.ts';
import { stopAll } from '../../test/helpers/processes.ts';
import { backendCounts, finish, recovery, RssSampler, setup, startBackend, startBroker, startPublisher, toResult } from '../lib/delivery.ts';

/**
 * Sharded backends (docs/delivery.md, "Sharded backends"): two `--shard K/N`
 * backends and an unsharded one behind one broker; shard 1 is restarted
 * (SIGTERM, then started again under its name) under load. The two shards
 * together are owed every record once, the unsharded backend once more.
 */
const scenario: Scenario = {
  name: 'shard-restart',
  description: 'Two shard backends (--shard 1/2, 2/2) and an unsharded one share info under load; shard 1 is stopped (SIGTERM) and started again under its name a while later.',
  async run({ quick }) {
    const rate = quick ? 10_000 : 100_000;
    const durationMs = quick ? 7000 : 40_000;
    const stopAtMs = quick ? 2000 : 15_000;
    const downMs = quick ? 1000 : 5000;
    const series = 64;
    const ep = await setup('shard-restart');
    const files = { s1: join(ep.dir, 'shard-1.jsonl'), s2: join(ep.dir, 'shard-2.jsonl'), all: join(ep.dir, 'all.jsonl') };
    try {
      const broker = await startBroker(ep);
      let s1 = await startBackend(ep, files.s1, 's1', ['--shard', '1/2']);
      const s2 = await startBackend(ep, files.s2, 's2', ['--shard', '2/2']);
      const all = await startBackend(ep, files.all, 'all');
      const pub = startPublisher(ep, rate, durationMs, undefined, series);
      const pids = [broker.pid, s1.pid, s2.pid, all.pid];
      const rss = new RssSampler(() => pids);
      await pub.waitFor(/^made /, 15_000);
      await new Promise((r) => setTimeout(r, stopAtMs));
      await s1.stop('SIGTERM');
      await new Promise((r) => setTimeout(r, downMs));
      const before = backendCounts(files.s1).received;
      const restartedAt = Date.now();
      // Same name, same state directory: it counts what was sent on its shard while it was down.
      s1 = await startBackend(ep, files.s1, 's1', ['--shard', '1/2'], 's1-restarted');
      pids.push(s1.pid);
      const recoverMs = await recovery(() => backendCounts(files.s1).received, before, restartedAt);
      const a = await finish(pub, durationMs + 60_000, [files.s1, files.s2, files.all], [s1, s2, all, broker], rss);
      const [c1, c2, cAll] = a.backends as [ReturnType<typeof backendCounts>, ReturnType<typeof backendCounts>, ReturnType<typeof backendCounts>];
      // Two copies are owed: one to the set of shards, one to the unsharded backend.
      const made = 2 * a.result.made;
      const received = c1.received + c2.received + cAll.received;
      const counted = {
        'client.dropped': 2 * a.result.stats.dropped,
        'client.unsubscribed': 2 * a.result.stats.unsubscribed,
        'backend.lost': c1.lost + c2.lost + cAll.lost,
      };
      return toResult(
        { ...a, made, received, counted, silentlyLost: silentlyLost(made, received, counted) },
        recoverMs,
        `${rate.toLocaleString('en-US')} records/s over ${series} series for ${durationMs / 1000} s, shard 1 down ${downMs / 1000} s; made = 2 × ${a.result.made} (the shards together, and the unsharded backend); shard 1 received ${c1.received} and counted ${c1.lost} lost (sent on its shard while it was down: the unsharded backend kept the client sending), shard 2 received ${c2.received}, unsharded received ${cAll.received} (lost ${cAll.lost}); RSS of broker and backends`,
      );
    } finally {
      await stopAll();
    }
  },
};
export default scenario;
