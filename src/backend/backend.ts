import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeDirsSync } from '../make-dirs.js';
import type { CurveClientKeys } from '../security/keys.js';
import { stderrLogger } from '../diagnostics.js';
import { DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_SUBSCRIBE_ENDPOINT } from '../defaults.js';
import { InvalidOptionError } from '../errors.js';
import type { Level } from '../levels.js';
import type { FlushBatch, MetricPoint, Sink, SinkStatus } from '../sinks/sink.js';
import { parseShard, type ShardSpec } from '../wire/shard.js';
import { Receiver, type ReceiverStats } from './receiver.js';
import { SeriesStore } from './series-store.js';
import { CumulativeState } from './temporality.js';
import { WriteAheadLog, type WalOptions, type WalStats } from './wal/wal.js';

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
  /** Most series of one metric; past it new ones fold into its `zibrato.overflow=true` series. Default 2,000. */
  maxSeriesPerMetric?: number;
  /** A series of any kind with no record for this many flushes is forgotten. Default: as many as make 5 minutes. */
  seriesIdleFlushes?: number;
  /** Add `zibrato.backend.*` health points to every flush. Default true. */
  selfMetrics?: boolean;
  /**
   * A directory where the backend keeps its publishers' sequence positions
   * across its own restarts (`<name>.streams.json`, written on stop, read on
   * start), so records lost while it was restarting are counted as `lost`
   * instead of unseen. Default: `$ZIBRATO_BACKEND_STATE_DIR`, else none.
   */
  stateDir?: string;
  /**
   * Receive only shard K of N of each level (`--shard K/N`, docs/delivery.md,
   * "Sharded backends"): `"1/2"` or `{ index: 1, count: 2 }`. Default:
   * `$ZIBRATO_BACKEND_SHARD`, else every shard (the whole level).
   */
  shard?: string | ShardSpec;
  /**
   * A write-ahead log of what was received but not yet flushed, replayed at
   * start (docs/delivery.md, "Write-ahead log"). `dir` is this backend's own
   * directory. Off when absent or `enabled: false`.
   */
  wal?: WalOptions & { enabled?: boolean };
  log?: (line: string) => void;
}

/** What `status()` reports. */
export interface BackendStatus extends ReceiverStats {
  name: string;
  levels: Level[];
  /** `K/N` when the backend receives one shard of its levels. */
  shard?: string;
  series: number;
  /** The bound on `series`. */
  maxSeries: number;
  /** New series folded into their metric's overflow series since start. */
  seriesOverflowed: number;
  flushes: number;
  /** Points handed to the sink. */
  flushed: number;
  sinkErrors: number;
  sink: SinkStatus;
  /** The write-ahead log's counts; undefined when it is off. */
  wal?: WalStats;
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
  private readonly wal: WriteAheadLog | undefined;
  /** Running totals for a sink that wants cumulative values; undefined for a delta sink. */
  private readonly cumulative: CumulativeState | undefined;
  private readonly sink: Sink;
  private readonly log: (line: string) => void;
  private readonly selfMetrics: boolean;
  private timer: NodeJS.Timeout | undefined;
  private intervalStart = Date.now();
  private flushing: Promise<void> = Promise.resolve();
  private flushes = 0;
  /** `store.overflowed` at the last overflow log line (one line per flush at most). */
  private loggedOverflowed = 0;
  private flushed = 0;
  private sinkErrors = 0;
  private reported = { received: 0, invalid: 0, dropped: 0, flushed: 0, sinkErrors: 0, sinkSent: 0, sinkFailed: 0, sinkDropped: 0, sinkSpooled: 0, seriesOverflowed: 0, walDropped: 0, walWriteErrors: 0 };
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
    const idleFlushes = options.seriesIdleFlushes;
    if (idleFlushes !== undefined && !(Number.isSafeInteger(idleFlushes) && idleFlushes >= 1)) throw new InvalidOptionError(`series idle flushes must be an integer ≥ 1, got ${String(idleFlushes)}`);
    this.store = new SeriesStore({
      maxSeries: options.maxSeries,
      maxSeriesPerMetric: options.maxSeriesPerMetric,
      // A series touched in one flush and idle for n more is collected at the nth flush after; the half interval absorbs timer jitter.
      ...(idleFlushes === undefined ? {} : { idleExpiryMs: (idleFlushes - 0.5) * this.flushIntervalMs }),
    });
    const shard = options.shard ?? process.env.ZIBRATO_BACKEND_SHARD;
    this.shard = shard === undefined || shard === '' ? undefined : typeof shard === 'string' ? parseShard(shard, options.shard === undefined ? 'ZIBRATO_BACKEND_SHARD' : 'backend shard') : parseShard(`${shard.index}/${shard.count}`, 'backend shard');
    this.receiver = new Receiver(this.store, options.broker ?? DEFAULT_SUBSCRIBE_ENDPOINT, options.levels, this.log, undefined, options.curve, this.shard);
    const dir = options.stateDir ?? process.env.ZIBRATO_BACKEND_STATE_DIR;
    this.stateFile = dir ? join(dir, `${options.name.replace(/[^A-Za-z0-9._-]/g, '_')}.streams.json`) : undefined;
    if (options.wal !== undefined && options.wal.enabled !== false) this.wal = new WriteAheadLog(options.wal);
    if (this.sink.temporality === 'cumulative') this.cumulative = new CumulativeState(this.sink.cumulativeHistograms === true);
  }

  private readonly stateFile: string | undefined;
  /** The shard this backend receives; undefined: every shard. */
  readonly shard: ShardSpec | undefined;

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
      makeDirsSync(dirname(this.stateFile));
      writeFileSync(`${this.stateFile}.tmp`, JSON.stringify(this.receiver.exportStreams()));
      renameSync(`${this.stateFile}.tmp`, this.stateFile);
    } catch (err) {
      this.log(`ZIB_BACKEND_STATE: could not write ${this.stateFile}: ${(err as Error).message}`);
    }
  }

  /** Replays the log into the aggregators (before the receiver and the first flush start) and opens it for appends. */
  private openWal(wal: WriteAheadLog): void {
    wal.open((type, payload) => this.receiver.replay(type, payload));
    // The new segment starts from the replayed sequence state, so a restart without new records still knows where each publisher was.
    wal.rotate(this.receiver.snapshotStreams());
    this.receiver.wal = wal;
    const s = wal.stats;
    if (s.replayed > 0 || s.corruptRecords > 0) {
      this.log(`write-ahead log ${wal.dir}: replayed ${s.replayed} messages (${this.receiver.stats.received} records)` + (s.corruptRecords > 0 ? `; skipped ${s.corruptRecords} corrupt or torn stretches (${s.corruptBytes} bytes), their records show as lost` : ''));
    }
  }

  /** Starts the sink, subscribes, and schedules flushes on wall-clock multiples of the interval. */
  async start(): Promise<void> {
    await this.sink.start?.();
    this.loadState();
    if (this.wal !== undefined) this.openWal(this.wal);
    this.receiver.start();
    this.intervalStart = Date.now();
    this.schedule();
    this.log(`subscribed to ${this.levels.join(',')}${this.shard ? ` shard ${this.shard.index}/${this.shard.count}` : ''} at ${this.receiver.endpoint}; flushing every ${this.flushIntervalMs / 1000}s to ${this.sink.name}`);
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
      seriesOverflowed: this.store.overflowed,
      walDropped: s.walDropped,
      walWriteErrors: this.wal?.stats.writeErrors ?? 0,
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
      ['zibrato.backend.series_overflowed', now.seriesOverflowed - last.seriesOverflowed],
      ['zibrato.sink.sent', now.sinkSent - last.sinkSent],
      ['zibrato.sink.failed', now.sinkFailed - last.sinkFailed],
      ['zibrato.sink.dropped', now.sinkDropped - last.sinkDropped],
    ];
    if (this.wal !== undefined) {
      const w = this.wal.stats;
      optional.push(['zibrato.backend.wal.dropped', s.walDropped - last.walDropped], ['zibrato.backend.wal.write_errors', w.writeErrors - last.walWriteErrors]);
    }
    for (const [name, value] of optional) if (value !== 0) points.push(counter(name, value));
    // The series held against their bound: memory is bounded by it, and a store near it is folding into overflow series.
    points.push({ type: 'gauge', name: 'zibrato.backend.series', source: this.name, tags, value: this.store.size }, { type: 'gauge', name: 'zibrato.backend.max_series', source: this.name, tags, value: this.store.maxSeries });
    if (this.wal !== undefined) {
      const w = this.wal.stats;
      // Its size against its bound, so a log filling up is seen before it drops.
      points.push({ type: 'gauge', name: 'zibrato.backend.wal.bytes', source: this.name, tags, value: w.bytes }, { type: 'gauge', name: 'zibrato.backend.wal.max_bytes', source: this.name, tags, value: w.maxBytes });
    }
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
    if (this.store.overflowed > this.loggedOverflowed) {
      this.log(`ZIB_SERIES_OVERFLOW: ${this.store.overflowed - this.loggedOverflowed} new series past the per-metric cap of ${this.store.maxSeriesPerMetric} (or the store's ${this.store.maxSeries}) were folded into overflow series tagged zibrato.overflow=true in this interval`);
      this.loggedOverflowed = this.store.overflowed;
    }
    if (this.selfMetrics) points.push(...this.healthPoints(intervalMs));
    const batch: FlushBatch = { timeMs: endMs, intervalMs, scheduleMs: this.flushIntervalMs, points, expired: this.store.drainExpired() };
    // Totals are taken here, in flush order, so a slow sink still sees them in sequence.
    this.cumulative?.apply(batch);
    // What was collected is in the closed segments; once the sink has it they can go.
    const closedSegment = this.wal?.rotate(this.receiver.snapshotStreams());
    // Flushes run one after another, so a slow sink delays but never reorders them.
    this.flushing = this.flushing.then(async () => {
      try {
        await this.sink.export(batch);
        if (closedSegment !== undefined) this.wal?.release(closedSegment);
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
      ...(this.shard === undefined ? {} : { shard: `${this.shard.index}/${this.shard.count}` }),
      ...this.receiver.stats,
      series: this.store.size,
      maxSeries: this.store.maxSeries,
      seriesOverflowed: this.store.overflowed,
      flushes: this.flushes,
      flushed: this.flushed,
      sinkErrors: this.sinkErrors,
      sink: this.sink.status(),
      ...(this.wal === undefined ? {} : { wal: { ...this.wal.stats } }),
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
    // The last segment keeps the sequence checkpoint, so the next start counts what it missed meanwhile.
    this.wal?.close();
    const s = this.status();
    this.log(`stopped after a final flush: received ${s.received} records, invalid ${s.invalid} messages, dropped ${s.dropped}, lost ${s.lost}, flushed ${s.flushed} points, sink errors ${s.sinkErrors}`);
  }
}
