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

/** Self-metrics (the client's, the broker's, the backend's) share this prefix; the console groups them apart. */
const SELF_METRIC_PREFIX = 'zibrato.';

/**
 * While nothing but self-metrics arrives, the console prints one line at most
 * this often (and once when the app goes quiet), so a terminal left open on an
 * idle backend does not scroll a table every flush.
 */
export const IDLE_HEARTBEAT_MS = 60_000;

function isSelfMetric(p: MetricPoint): boolean {
  return p.name.startsWith(SELF_METRIC_PREFIX);
}

/**
 * Formats a flush as an aligned, readable table: the app's series first, then
 * the self-metrics (`zibrato.*`) under their own heading, each row with its
 * level (`-` when the backend does not know it).
 */
export function formatTable(batch: FlushBatch): string {
  const app = batch.points.filter((p) => !isSelfMetric(p));
  const self = batch.points.filter(isSelfMetric);
  const row = (p: MetricPoint) => [p.level ?? '-', p.type, seriesLabel(p), describe(p)] as const;
  const appRows = app.map(row);
  const selfRows = self.map(row);
  const all = [...appRows, ...selfRows];
  const w0 = Math.max(5, ...all.map((r) => r[0].length));
  const w1 = Math.max(4, ...all.map((r) => r[1].length));
  const w2 = Math.max(6, ...all.map((r) => r[2].length));
  const line = (r: readonly [string, string, string, string]) => `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2].padEnd(w2)}  ${r[3]}`.trimEnd();
  const head = `── ${new Date(batch.timeMs).toISOString()} (${batch.intervalMs / 1000}s, ${app.length} series${self.length ? `, ${self.length} self-metrics` : ''}) ──`;
  const out = [head, line(['level', 'type', 'series', 'values']), ...appRows.map(line)];
  if (selfRows.length > 0) out.push(`── self-metrics (${SELF_METRIC_PREFIX}*) ──`, ...selfRows.map(line));
  return out.join('\n') + '\n';
}

/** The one line an idle flush may print. */
export function formatHeartbeat(batch: FlushBatch, selfMetrics: number): string {
  return `── ${new Date(batch.timeMs).toISOString()} idle: no app records in ${batch.intervalMs / 1000}s${selfMetrics ? ` (${selfMetrics} self-metrics not shown)` : ''} ──\n`;
}

/**
 * Prints each flush with app records as a table on stdout. A flush without
 * any prints nothing, or one heartbeat line when the app has just gone quiet
 * and then at most every {@link IDLE_HEARTBEAT_MS}.
 */
export class ConsoleSink implements Sink {
  readonly name = 'console';
  private sent = 0;
  /** Epoch ms of the last line printed for an idle flush; undefined while the app is active. */
  private lastHeartbeatMs: number | undefined;

  constructor(private readonly write: (s: string) => void = (s) => process.stdout.write(s)) {}

  async export(batch: FlushBatch): Promise<void> {
    const appPoints = batch.points.reduce((n, p) => (isSelfMetric(p) ? n : n + 1), 0);
    if (appPoints === 0) {
      if (this.lastHeartbeatMs === undefined || batch.timeMs - this.lastHeartbeatMs >= IDLE_HEARTBEAT_MS) {
        this.write(formatHeartbeat(batch, batch.points.length));
        this.lastHeartbeatMs = batch.timeMs;
      }
      return;
    }
    this.lastHeartbeatMs = undefined;
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
  description: 'Prints each flush as a readable table on stdout (level column, self-metrics apart, one heartbeat line when idle).',
  options: [],
  create: () => new ConsoleSink(),
};
