import type { FlushBatch, Sink, SinkStatus } from './sink.js';
import type { SinkSpec } from './registry.js';

/**
 * Keeps every flush in memory. Tests assert on what it received, the way
 * OpenTelemetry's InMemoryMetricExporter is used.
 */
export class MemorySink implements Sink {
  readonly name = 'memory';
  readonly batches: FlushBatch[] = [];
  stopped = false;
  private sent = 0;

  async export(batch: FlushBatch): Promise<void> {
    this.batches.push(batch);
    this.sent += batch.points.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  status(): SinkStatus {
    return { sent: this.sent, failed: 0, spooled: 0, dropped: 0 };
  }
}

export const memorySinkSpec: SinkSpec = {
  name: 'memory',
  description: 'Keeps flushes in memory (for tests and embedding; nothing is written).',
  options: [],
  create: () => new MemorySink(),
};
