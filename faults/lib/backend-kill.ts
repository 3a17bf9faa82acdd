/**
 * The backend-crash fault scenarios (kill loop, torn log tail, full disk under
 * the log): a file backend with a write-ahead log under load, killed with
 * SIGKILL and restarted at once on the same log and file, with an optional
 * fault applied to the log between the kill and the restart.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { silentlyLost, type ScenarioResult } from '../scenario.ts';
import { stopAll, type Proc } from '../../test/helpers/processes.ts';
import { backendCounts, publisherResult, recovery, RssSampler, settled, setup, startBackend, startBroker, startPublisher } from './delivery.ts';

export interface KillRunOptions {
  label: string;
  rate: number;
  kills: number;
  killEveryMs: number;
  /** The log's root directory; a fresh one under the scratch directory when absent. */
  walRoot?: (scratch: string) => string;
  /** More backend arguments (e.g. a longer flush). */
  backendArgs?: string[];
  /** Acts on the killed backend's log directory before the restart. */
  damage?: (walDir: string) => void;
  /** Waits for this line of the backend before each kill. */
  killAfterLine?: RegExp;
  /** At each kill's time, waits (up to 3 s) until this holds of the backend's log directory, then kills. */
  killWhen?: (walDir: string) => boolean;
  /** Called after the processes are stopped, also on failure. */
  cleanup?: () => void;
}

/** The segment files of a log directory, oldest first. */
export function walSegments(walDir: string): string[] {
  return readdirSync(walDir)
    .filter((f) => f.endsWith('.wal'))
    .sort()
    .map((f) => join(walDir, f));
}

export async function runKillScenario(o: KillRunOptions): Promise<ScenarioResult & { lines: string[] }> {
  const durationMs = o.killEveryMs * (o.kills + 1) + 1000;
  const ep = await setup(o.label);
  const file = join(ep.dir, 'backend.jsonl');
  const walRoot = o.walRoot?.(ep.dir) ?? join(ep.dir, 'wal');
  const name = 'killed';
  const args = ['--wal-dir', walRoot, ...(o.backendArgs ?? [])];
  const lines: string[] = [];
  try {
    const broker = await startBroker(ep);
    let backend: Proc = await startBackend(ep, file, name, args);
    const pids = [broker.pid, backend.pid];
    const rss = new RssSampler(() => pids);
    const pub = startPublisher(ep, o.rate, durationMs);
    await pub.waitFor(/^made /, 15_000);
    let worstRecoverMs = 0;
    // Kills on a fixed schedule from the publisher's start: timed from the end of each restart instead, they drifted
    // by a restart each, and the last ones of a full run came after the publisher had stopped (nothing to recover).
    const firstMadeAt = Date.now();
    for (let k = 0; k < o.kills; k++) {
      if (o.killAfterLine) await backend.waitFor(o.killAfterLine, o.killEveryMs * 2);
      await new Promise((r) => setTimeout(r, Math.max(0, firstMadeAt + (k + 1) * o.killEveryMs - Date.now())));
      if (o.killWhen) {
        const until = Date.now() + 3000;
        while (Date.now() < until && !o.killWhen(join(walRoot, name))) await new Promise((r) => setTimeout(r, 20));
      }
      const before = backendCounts(file).received;
      await backend.stop('SIGKILL');
      lines.push(...backend.lines);
      o.damage?.(join(walRoot, name));
      const downAt = Date.now();
      backend = await startBackend(ep, file, name, args);
      pids.push(backend.pid);
      worstRecoverMs = Math.max(worstRecoverMs, (await recovery(() => backendCounts(file).received, before, downAt)) ?? Infinity);
    }
    const result = await publisherResult(pub, durationMs + 60_000);
    await settled(() => {
      const x = backendCounts(file);
      return x.received + x.lost;
    });
    await backend.stop('SIGTERM');
    lines.push(...backend.lines);
    await broker.stop('SIGTERM');
    const peakRssMiB = rss.stop();
    const b = backendCounts(file);
    // The log keeps each publisher's sequence across a kill, so what the restarted backend did not get is in its gap
    // (lost at the kill), except what the publisher let go itself: the client holds a level whose subscriber left for
    // 2 s (src/client/transport.ts), so a restart that takes longer has the held records counted as unsubscribed,
    // which do not advance the sequence (docs/delivery.md), so they are added here, once. Calls made after that, while
    // the level is off, are counted nowhere (nobody listens): the notes show them (madeWhileOff), and they are silent.
    const counted = { 'backend.lost': b.lost, 'client.dropped': result.stats.dropped, 'client.unsubscribed': result.stats.unsubscribed };
    const atKill = b.lost;
    const perKill = (n: number) => `${Math.round(n / o.kills)} records (${Math.round((n / o.kills / o.rate) * 1000)} ms of traffic)`;
    // Both directions: a batch replayed from the log after it had already been flushed would inflate received and hide
    // a loss of the same size; received + lost − sent shows it (0: every record the client sent is received once or in a gap).
    const replayedTwice = b.received + b.lost - result.stats.sent;
    return {
      made: result.made,
      received: b.received,
      counted,
      silentlyLost: silentlyLost(result.made, b.received, counted),
      recoverMs: Number.isFinite(worstRecoverMs) ? worstRecoverMs : null,
      peakRssMiB,
      notes:
        `${o.rate.toLocaleString('en-US')} records/s for ${durationMs / 1000} s, ${o.kills} SIGKILL(s) ${o.killEveryMs / 1000} s apart, restart at once; ` +
        `lost per kill ${perKill(b.lost + result.stats.unsubscribed)}: ${perKill(atKill)} in flight or not in the log at the kill, ${perKill(result.stats.unsubscribed)} held by the client past its 2 s wait for a subscriber; ` +
        `${result.madeWhileOff} calls made while the client had the level off; received + lost − sent = ${replayedTwice}; recoverMs is the slowest restart`,
      lines,
    };
  } finally {
    await stopAll();
    o.cleanup?.();
  }
}
