import type { FlushBatch, MetricPoint, Sink, SinkStatus } from './sink.js';
import type { SinkSpec } from './registry.js';

function fmt(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(1) : n.toPrecision(4);
}

function seriesLabel(p: MetricPoint): string {
  const tags = Object.entries(p.tags).map(([k, v]) => `${k}=${v}`).join(',');
  return p.name + (p.source ? ` @${p.source}` : '') + (tags ? ` {${tags}}` : '');
}

function describe(p: MetricPoint): string {
  switch (p.type) {
    case 'counter':
      return `value=${fmt(p.value)} rate=${fmt(p.rate)}/s`;
    case 'gauge':
    case 'set':
      return `value=${fmt(p.value)}`;
    case 'timer':
      return `count=${p.count} mean=${fmt(p.mean)} p50=${fmt(p.p50)} p90=${fmt(p.p90)} p99=${fmt(p.p99)} max=${fmt(p.max)} ms`;
  }
}

/** Formats a flush as an aligned, readable table. */
export function formatTable(batch: FlushBatch): string {
  const rows = batch.points.map((p) => [p.type, seriesLabel(p), describe(p)] as const);
  const w0 = Math.max(4, ...rows.map((r) => r[0].length));
  const w1 = Math.max(6, ...rows.map((r) => r[1].length));
  const head = `── ${new Date(batch.timeMs).toISOString()} (${batch.intervalMs / 1000}s, ${rows.length} series) ──`;
  const lines = rows.map((r) => `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`);
  return [head, `${'type'.padEnd(w0)}  ${'series'.padEnd(w1)}  values`, ...lines].join('\n') + '\n';
}

/** Prints each flush as a table on stdout. */
export class ConsoleSink implements Sink {
  readonly name = 'console';
  private sent = 0;

  constructor(private readonly write: (s: string) => void = (s) => process.stdout.write(s)) {}

  async export(batch: FlushBatch): Promise<void> {
    if (batch.points.length === 0) return;
    this.write(formatTable(batch));
    this.sent += batch.points.length;
  }

  async stop(): Promise<void> {}

  status(): SinkStatus {
    return { sent: this.sent, failed: 0, spooled: 0, dropped: 0 };
  }
}

export const consoleSinkSpec: SinkSpec = {
  name: 'console',
  description: 'Prints each flush as a readable table on stdout.',
  options: [],
  create: () => new ConsoleSink(),
};
