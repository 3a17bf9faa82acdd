import type { FlushBatch, MetricPoint, Sink } from '../../../src/sinks/sink.js';

/**
 * Drives a sink the way a backend does, in real time: one flush every
 * `intervalMs`, each of `pointsPerFlush` counter points of value 1 (so one
 * point is one record and a sink's `sent`/`dropped` point counts are record
 * counts). `before(i)` runs before flush `i` (inject or lift a fault there);
 * flushes wait for the previous one, like the backend's flush chain.
 * Bounded by `flushes`.
 */
export async function driveSink(
  sink: Sink,
  o: { flushes: number; intervalMs: number; pointsPerFlush: number; name: string; before?: (i: number) => Promise<void> | void; timeMs?: (i: number) => number },
): Promise<{ made: number }> {
  let made = 0;
  const t0 = Date.now();
  for (let i = 0; i < o.flushes; i++) {
    await o.before?.(i);
    const points: MetricPoint[] = [];
    for (let k = 0; k < o.pointsPerFlush; k++) points.push({ type: 'counter', name: `${o.name}.${k}`, source: 'fault', tags: {}, value: 1, rate: 1000 / o.intervalMs });
    const batch: FlushBatch = { timeMs: o.timeMs?.(i) ?? Date.now(), intervalMs: o.intervalMs, scheduleMs: o.intervalMs, points };
    await sink.export(batch);
    made += points.length;
    const wait = t0 + (i + 1) * o.intervalMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return { made };
}

/** Peak RSS of this process so far, MiB (the sink runs in-process in these scenarios). */
export function rssMiB(): number {
  return process.memoryUsage().rss / (1024 * 1024);
}
