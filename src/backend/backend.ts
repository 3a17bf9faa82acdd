import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CurveClientKeys } from '../security/keys.js';
import { stderrLogger } from '../diagnostics.js';
import { DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_SUBSCRIBE_ENDPOINT } from '../defaults.js';
import { InvalidOptionError } from '../errors.js';
import type { Level } from '../levels.js';
import type { FlushBatch, MetricPoint, Sink, SinkStatus } from '../sinks/sink.js';
import { Receiver, type ReceiverStats } from './receiver.js';
import { SeriesStore } from './series-store.js';

/** Options of a {@link Backend}. */
export interface BackendOptions {
  /** Name in logs, spool paths and as the `source` of its self-metrics. */
  name: string;
  /** The broker's subscriber endpoint. Default `tcp://127.0.0.1:5551`. */
  broker?: string;
  /** Levels to subscribe to. */
  levels: Level[];
  /** Flush interval; flushes land on wall-clock multiples of it. Default 10 s. */
  flushIntervalMs?: number;
  sink: Sink;
  /** CURVE keys for a broker that requires them (docs/security.md). Default: none, plain ZeroMQ. */
  curve?: CurveClientKeys;
  /** Most series held at once. Default 100,000. */
  maxSeries?: number;
  /** Add `zibrato.backend.*` health points to every flush. Default true. */
  selfMetrics?: boolean;
  /**
   * A directory where the backend keeps its publishers' sequence positions
   * across its own restarts (`<name>.streams.json`, written on stop, read on
   * start), so records lost while it was restarting are counted as `lost`
   * instead of unseen. Default: `$ZIBRATO_BACKEND_STATE_DIR`, else none.
   */
  stateDir?: string;
  log?: (line: string) => void;
}

/** What `status()` reports. */
export interface BackendStatus extends ReceiverStats {
  name: string;
  levels: Level[];
  series: number;
  flushes: number;
  /** Points handed to the sink. */
  flushed: number;
  sinkErrors: number;
  sink: SinkStatus;
}

/**
 * A backend = a subscription to levels + aggregators + a flush schedule + a
 * sink. Each backend aggregates on its own, so backends with different levels
 * and intervals never interfere.
 */
export class Backend {
  readonly name: string;
  readonly levels: Level[];
  readonly flushIntervalMs: number;
  private readonly store: SeriesStore;
  private readonly receiver: Receiver;
  private readonly sink: Sink;
  private readonly log: (line: string) => void;
  private readonly selfMetrics: boolean;
  private timer: NodeJS.Timeout | undefined;
  private intervalStart = Date.now();
  private flushing: Promise<void> = Promise.resolve();
  private flushes = 0;
  private flushed = 0;
  private sinkErrors = 0;
  private reported = { received: 0, invalid: 0, dropped: 0, flushed: 0, sinkErrors: 0, sinkSent: 0, sinkFailed: 0, sinkDropped: 0, sinkSpooled: 0 };
  private stopped = false;
  /** `lost` per publisher source at the last health report. */
  private readonly reportedLost = new Map<string, number>();

  constructor(options: BackendOptions) {
    this.name = options.name;
    this.levels = options.levels;
    if (!options.levels?.length) throw new InvalidOptionError('backend levels: at least one level is required');
    this.flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    if (!(this.flushIntervalMs >= 10)) throw new InvalidOptionError(`backend flush interval must be at least 10 ms, got ${this.flushIntervalMs}`);
    this.sink = options.sink;
    this.log = options.log ?? stderrLogger(`backend ${options.name}`);
    this.selfMetrics = options.selfMetrics ?? true;
    this.store = new SeriesStore({ maxSeries: options.maxSeries });
    this.receiver = new Receiver(this.store, options.broker ?? DEFAULT_SUBSCRIBE_ENDPOINT, options.levels, this.log, undefined, options.curve);
    const dir = options.stateDir ?? process.env.ZIBRATO_BACKEND_STATE_DIR;
    this.stateFile = dir ? join(dir, `${options.name.replace(/[^A-Za-z0-9._-]/g, '_')}.streams.json`) : undefined;
  }

  private readonly stateFile: string | undefined;

  private loadState(): void {
    if (!this.stateFile) return;
    try {
      this.receiver.importStreams(JSON.parse(readFileSync(this.stateFile, 'utf8')) as [string, number, string][]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log(`ZIB_BACKEND_STATE: could not read ${this.stateFile} (${(err as Error).message}); gaps across the restart are not counted`);
    }
  }

  private saveState(): void {
    if (!this.stateFile) return;
    try {
      mkdirSync(dirname(this.stateFile), { recursive: true });
      writeFileSync(`${this.stateFile}.tmp`, JSON.stringify(this.receiver.exportStreams()));
      renameSync(`${this.stateFile}.tmp`, this.stateFile);
    } catch (err) {
      this.log(`ZIB_BACKEND_STATE: could not write ${this.stateFile}: ${(err as Error).message}`);
    }
  }

  /** Starts the sink, subscribes, and schedules flushes on wall-clock multiples of the interval. */
  async start(): Promise<void> {
    await this.sink.start?.();
    this.loadState();
    this.receiver.start();
    this.intervalStart = Date.now();
    this.schedule();
    this.log(`subscribed to ${this.levels.join(',')} at ${this.receiver.endpoint}; flushing every ${this.flushIntervalMs / 1000}s to ${this.sink.name}`);
  }

  private schedule(): void {
    const now = Date.now();
    const next = Math.ceil((now + 1) / this.flushIntervalMs) * this.flushIntervalMs;
    this.timer = setTimeout(() => {
      void this.flush(next);
      if (!this.stopped) this.schedule();
    }, next - now);
  }

  /** Points describing the backend's and its sink's health since the last flush. */
  private healthPoints(intervalMs: number): MetricPoint[] {
    const s = this.receiver.stats;
    const sink = this.sink.status();
    const now = {
      received: s.received,
      invalid: s.invalid,
      dropped: s.dropped,
      flushed: this.flushed,
      sinkErrors: this.sinkErrors,
      sinkSent: sink.sent,
      sinkFailed: sink.failed,
      sinkDropped: sink.dropped,
      sinkSpooled: sink.spooled,
    };
    const last = this.reported;
    this.reported = now;
    const seconds = intervalMs / 1000;
    const tags = { sink: this.sink.name };
    const counter = (name: string, value: number): MetricPoint => ({ type: 'counter', name, source: this.name, tags, value, rate: seconds > 0 ? value / seconds : 0 });
    const points: MetricPoint[] = [counter('zibrato.backend.received', now.received - last.received)];
    // The rest only when non-zero (a steady zero of `received` is news; of errors it is clutter).
    const optional: [string, number][] = [
      ['zibrato.backend.invalid', now.invalid - last.invalid],
      ['zibrato.backend.dropped', now.dropped - last.dropped],
      ['zibrato.backend.flushed', now.flushed - last.flushed],
      ['zibrato.backend.sink_errors', now.sinkErrors - last.sinkErrors],
      ['zibrato.sink.sent', now.sinkSent - last.sinkSent],
      ['zibrato.sink.failed', now.sinkFailed - last.sinkFailed],
      ['zibrato.sink.dropped', now.sinkDropped - last.sinkDropped],
    ];
    for (const [name, value] of optional) if (value !== 0) points.push(counter(name, value));
    // Lost records per publisher source (gaps in their sequence numbers), only where there were some.
    for (const [source, total] of this.receiver.lostBySource) {
      const delta = total - (this.reportedLost.get(source) ?? 0);
      if (delta === 0) continue;
      this.reportedLost.set(source, total);
      points.push({ type: 'counter', name: 'zibrato.backend.lost', source: this.name, tags: { ...tags, publisher: source }, value: delta, rate: seconds > 0 ? delta / seconds : 0 });
    }
    // Once more at 0 after the spool drains, or the destination keeps showing the last backlog forever.
    if (sink.spooled > 0 || last.sinkSpooled > 0) points.push({ type: 'gauge', name: 'zibrato.sink.spooled', source: this.name, tags, value: sink.spooled });
    return points;
  }

  /**
   * Collects every touched series and hands them to the sink. `endMs` is the
   * interval end (aligned) — the final flush on stop uses the stop time.
   */
  flush(endMs = Date.now()): Promise<void> {
    const intervalMs = Math.max(1, endMs - this.intervalStart);
    this.intervalStart = endMs;
    const points = this.store.collect(intervalMs);
    if (this.selfMetrics) points.push(...this.healthPoints(intervalMs));
    const batch: FlushBatch = { timeMs: endMs, intervalMs, scheduleMs: this.flushIntervalMs, points, expired: this.store.drainExpired() };
    // Flushes run one after another, so a slow sink delays but never reorders them.
    this.flushing = this.flushing.then(async () => {
      try {
        await this.sink.export(batch);
        this.flushes++;
        this.flushed += points.length;
      } catch (err) {
        this.sinkErrors++;
        this.log(`ZIB_ERR_SINK_FAILED: sink ${this.sink.name} failed to take ${points.length} points: ${(err as Error).message}`);
      }
    });
    return this.flushing;
  }

  status(): BackendStatus {
    return {
      name: this.name,
      levels: this.levels,
      ...this.receiver.stats,
      series: this.store.size,
      flushes: this.flushes,
      flushed: this.flushed,
      sinkErrors: this.sinkErrors,
      sink: this.sink.status(),
    };
  }

  /** Stops receiving (after what is in flight arrives), makes a final flush and stops the sink. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.receiver.drainAndClose();
    this.saveState();
    await this.flush(Date.now());
    await this.sink.stop();
    const s = this.status();
    this.log(`stopped after a final flush: received ${s.received} records, invalid ${s.invalid} messages, dropped ${s.dropped}, lost ${s.lost}, flushed ${s.flushed} points, sink errors ${s.sinkErrors}`);
  }
}
