import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FlushBatch, MetricPoint, Sink, SinkStatus } from './sink.js';
import type { SinkSpec } from './registry.js';
import { DEFAULT_FILE_SINK_PATH } from '../defaults.js';

/**
 * The JSON Lines row for one point: exactly the fields documented in
 * docs/file-format.md, in a stable order.
 */
export function fileRow(p: MetricPoint, timeMs: number, intervalMs: number): Record<string, unknown> {
  const base = { time: timeMs, interval_ms: intervalMs, type: p.type, name: p.name, source: p.source, tags: p.tags };
  switch (p.type) {
    case 'counter':
      return { ...base, value: p.value, rate: p.rate };
    case 'gauge':
    case 'set':
      return { ...base, value: p.value };
    case 'timer':
      return { ...base, count: p.count, sum: p.sum, min: p.min, max: p.max, mean: p.mean, stddev: p.stddev, p50: p.p50, p90: p.p90, p95: p.p95, p99: p.p99 };
  }
}

/** Appends one JSON object per series per flush to a file (JSON Lines). */
export class FileSink implements Sink {
  readonly name = 'file';
  private handle: FileHandle | undefined;
  private sent = 0;
  private failed = 0;
  private lastError: string | undefined;

  constructor(readonly path: string) {}

  async start(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    this.handle = await open(this.path, 'a');
  }

  async export(batch: FlushBatch): Promise<void> {
    if (batch.points.length === 0) return;
    if (!this.handle) await this.start();
    let text = '';
    for (const p of batch.points) text += JSON.stringify(fileRow(p, batch.timeMs, batch.intervalMs)) + '\n';
    try {
      await this.handle!.write(text);
      this.sent += batch.points.length;
    } catch (err) {
      this.failed++;
      this.lastError = (err as Error).message;
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.handle?.sync().catch(() => undefined);
    await this.handle?.close();
    this.handle = undefined;
  }

  status(): SinkStatus {
    return { sent: this.sent, failed: this.failed, spooled: 0, dropped: 0, lastError: this.lastError };
  }
}

export const fileSinkSpec: SinkSpec = {
  name: 'file',
  description: 'Appends JSON Lines, one object per series per flush (schema: docs/file-format.md).',
  options: [{ key: 'path', type: 'string', default: DEFAULT_FILE_SINK_PATH, description: 'file to append to (directories are created)' }],
  create: (o) => new FileSink(String(o.path)),
};
