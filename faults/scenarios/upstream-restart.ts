import { join } from 'node:path';
import type { Scenario } from '../scenario.ts';
import { stopAll } from '../../test/helpers/processes.ts';
import { tcpBrokerEndpoints } from '../../test/helpers/ports.ts';
import { backendCounts, finish, toResult, recovery, RssSampler, setup, startBackend, startBroker, startPublisher } from '../lib/delivery.ts';

/** The host broker's last `upstream:` status line, e.g. `upstream: forwarded 1 records, dropped 0, …`. */
function upstreamDropped(lines: string[]): number {
  const last = lines.filter((l) => l.includes('upstream stopped:') || l.includes('upstream: forwarded')).at(-1);
  return Number(/dropped (\d+)/.exec(last ?? '')?.[1] ?? 0);
}

const scenario: Scenario = {
  name: 'upstream-restart',
  description: 'A publisher sends through a host broker (--upstream) to a central broker; the central broker is killed (SIGKILL) under load and restarted while the host broker holds what arrives.',
  async run({ quick }) {
    const rate = quick ? 20_000 : 200_000;
    const durationMs = quick ? 6000 : 40_000;
    const killAtMs = quick ? 2000 : 15_000;
    const downMs = quick ? 1000 : 5000;
    const central = await setup('upstream-restart');
    const host = await tcpBrokerEndpoints();
    const file = join(central.dir, 'backend.jsonl');
    try {
      let centralBroker = await startBroker(central, 'central-1');
      const hostBroker = await startBroker(host, 'host', ['--upstream', central.publish, '--stats-interval', '1s']);
      const backend = await startBackend(central, file, 'b');
      const pub = startPublisher(host, rate, durationMs);
      const rss = new RssSampler(() => [centralBroker.pid, hostBroker.pid, backend.pid]);
      await pub.waitFor(/^made /, 15_000);
      await new Promise((r) => setTimeout(r, killAtMs));
      await centralBroker.stop('SIGKILL');
      await new Promise((r) => setTimeout(r, downMs));
      const before = backendCounts(file).received;
      const restartedAt = Date.now();
      centralBroker = await startBroker(central, 'central-2');
      const recoverMs = await recovery(() => backendCounts(file).received, before, restartedAt);
      const a = await finish(pub, durationMs + 60_000, [file], [backend, hostBroker, centralBroker], rss);
      const dropped = upstreamDropped(hostBroker.lines);
      return toResult(
        a,
        recoverMs,
        `${rate.toLocaleString('en-US')} records/s for ${durationMs / 1000} s through a host broker, central broker down ${downMs / 1000} s; the host broker dropped ${dropped} records it could not hold (the backend counts those from the sequence gaps, so they are in backend.lost, not added again); backend.lost is also what was in the TCP pipe to the central broker when it was killed; RSS of central broker, host broker and backend `,
      );
    } finally {
      await stopAll();
    }
  },
};
export default scenario;
