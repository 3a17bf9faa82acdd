import { LEVELS, levelIndex, type Level } from '../levels.js';
import { MetricKind } from '../wire/constants.js';
import { encodeSeries, type Tags } from '../wire/series-encoding.js';
import { hashSetMember } from '../wire/set-member.js';
import { HandleCache } from './handle-cache.js';
import { InputProblems } from './input-problems.js';
import { resolveOptions, type ResolvedOptions, type ZibratoOptions } from './options.js';
import { RecordBuffer, type ClientStats } from './record-buffer.js';
import { CounterScope, NOOP_SCOPE, TimerScope } from './scopes.js';
import { SeriesHandle } from './series-handle.js';
import { INITIAL_MASK, Transport } from './transport.js';
import { wrapCounted, wrapTimed } from './wrappers.js';
import { now } from './clock.js';
import { methodDecorator, type MethodDecorator } from './decorators.js';
import { processLooksFinished } from './process-idle.js';

/** What names a series. `level` defaults to the client's level (`info`), `source` and `tags` merge over the client's. */
export interface MetricOptions {
  name: string;
  level?: Level;
  source?: string;
  tags?: Tags;
}
/** A counter increment; `value` defaults to 1. */
export interface CountOptions extends MetricOptions {
  value?: number;
}
/** A gauge reading. */
export interface GaugeOptions extends MetricOptions {
  value: number;
}
/** A duration in milliseconds. */
export interface TimingOptions extends MetricOptions {
  ms: number;
}
/** Options of the low-level {@link Zibrato.emit}. */
export interface EmitOptions {
  source?: string;
  tags?: Tags;
  /** The fraction of events this record stands for (StatsD `@rate`); receivers scale by its inverse. */
  sampleRate?: number;
}
/** Kinds accepted by {@link Zibrato.emit}. */
export type EmitKind = 'counter' | 'gauge' | 'gaugeDelta' | 'timer' | 'set';

/** A bound counter: `inc()` costs a branch and two stores. */
export interface CounterHandle {
  inc(by?: number): void;
  readonly enabled: boolean;
}
/** A bound gauge. */
export interface GaugeHandle {
  set(value: number): void;
  readonly enabled: boolean;
}
/** A bound timer. */
export interface TimerHandle {
  /** Records a duration in ms. */
  record(ms: number): void;
  /** Starts a scope that records on `stop()` or when disposed by `using`. */
  start(): TimerScope;
  readonly enabled: boolean;
}

const EMIT_KINDS: Record<EmitKind, MetricKind> = {
  counter: MetricKind.counter,
  gauge: MetricKind.gauge,
  gaugeDelta: MetricKind.gaugeDelta,
  timer: MetricKind.timer,
  set: MetricKind.set,
};

/** The cache key's kind: a sampled series is a different series entry (its rate is encoded with it). */
function cacheKindOf(kind: MetricKind, sampleRate: number): number {
  return sampleRate === 1 ? kind : kind + 16 * sampleRate;
}

/** Self-metrics are published at `warn`: losing data is worth a warning. */
const SELF_METRICS_LEVEL = levelIndex('warn');

/**
 * The in-app client. Every measuring call appends to an in-memory batch and
 * returns; batches leave through a ZeroMQ socket off the hot path. Calls never
 * block on I/O and never throw: bad input is counted as `invalid` with a
 * rate-limited diagnostic, and records that cannot be buffered are counted as
 * `dropped`. Only the constructor throws, for a bad option.
 *
 * @example
 * const z = new Zibrato({ source: 'checkout-svc' });
 * z.count({ name: 'jobs.done' });
 * await z.close();
 */
export class Zibrato {
  private readonly options: ResolvedOptions;
  private readonly buffer: RecordBuffer;
  private readonly problems: InputProblems;
  private readonly transport: Transport;
  private readonly cache = new HandleCache();
  private readonly defaultLevel: number;
  private readonly selfTimer: NodeJS.Timeout;
  private readonly selfDropped: SeriesHandle;
  private readonly selfInvalid: SeriesHandle;
  private reported = { dropped: 0, invalid: 0 };
  private closing: Promise<void> | undefined;

  constructor(options: ZibratoOptions = {}) {
    this.options = resolveOptions(options);
    this.defaultLevel = levelIndex(this.options.level);
    let transport: Transport | undefined;
    this.buffer = new RecordBuffer(this.options.maxBufferedRecords, this.options.batchBytes, INITIAL_MASK, () => transport!.scheduleFlush());
    this.problems = new InputProblems(this.buffer, this.options.log);
    this.transport = transport = new Transport(this.buffer, this.problems, this.options.broker, this.options.flushIntervalMs);
    this.selfDropped = this.newHandle(MetricKind.counter, 'zibrato.client.dropped', SELF_METRICS_LEVEL, undefined, undefined, 1)!;
    this.selfInvalid = this.newHandle(MetricKind.counter, 'zibrato.client.invalid', SELF_METRICS_LEVEL, undefined, undefined, 1)!;
    this.selfTimer = setInterval(() => this.tick(), 1000);
    this.selfTimer.unref();
  }

  // ── series resolution (once per handle, never per record) ──

  private newHandle(kind: MetricKind, name: string, level: number, source: string | undefined, tags: Tags | undefined, sampleRate: number): SeriesHandle | undefined {
    try {
      const merged = tags ? { ...this.options.tags, ...tags } : this.options.tags;
      const encoded = encodeSeries(kind, name, source ?? this.options.source, merged, sampleRate);
      return new SeriesHandle(this.buffer, this.problems, level, name, encoded);
    } catch (err) {
      this.problems.badCall(`metric "${String(name).slice(0, 60)}": ${(err as Error).message}`);
      return undefined;
    }
  }

  /**
   * The handle for an options object when its level is enabled, from the cache
   * when the same series was used before; undefined when nobody subscribes to
   * the level (no lookup at all) or the options are bad (reported). The common
   * path is kept small, and every rare path is a call, so V8 inlines it into
   * `count`, `gauge` and `timing`.
   */
  private enabledHandle(kind: MetricKind, o: MetricOptions): SeriesHandle | undefined {
    if (o === null || typeof o !== 'object') return this.rejectOptions();
    const levelName = o.level;
    const level = levelName === undefined ? this.defaultLevel : levelIndex(levelName);
    if (level < 0) return this.rejectLevel(levelName);
    if ((this.buffer.mask & (1 << level)) === 0) return undefined;
    const h = this.cache.get(kind, o.name, level, o.source, o.tags);
    return h !== undefined ? h : this.resolve(kind, o, level, 1);
  }

  /** The handle for an options object whatever its level is (scopes and decorators keep theirs). */
  private handleFor(kind: MetricKind, o: MetricOptions, sampleRate = 1): SeriesHandle | undefined {
    if (o === null || typeof o !== 'object') return this.rejectOptions();
    const levelName = o.level;
    const level = levelName === undefined ? this.defaultLevel : levelIndex(levelName);
    if (level < 0) return this.rejectLevel(levelName);
    const h = this.cache.get(cacheKindOf(kind, sampleRate), o.name, level, o.source, o.tags);
    return h !== undefined ? h : this.resolve(kind, o, level, sampleRate);
  }

  /** A cache miss: encodes the series once and remembers its handle. */
  private resolve(kind: MetricKind, o: MetricOptions, level: number, sampleRate: number): SeriesHandle | undefined {
    const h = this.newHandle(kind, o.name, level, o.source, o.tags, sampleRate);
    if (h) this.cache.set(cacheKindOf(kind, sampleRate), o.name, level, o.source, o.tags, h);
    return h;
  }

  private rejectOptions(): undefined {
    this.problems.badCall('metric options must be an object like { name: "jobs.done" }');
    return undefined;
  }

  private rejectLevel(levelName: unknown): undefined {
    this.problems.badCall(`level ${JSON.stringify(levelName)} is not one of ${LEVELS.join(', ')}`);
    return undefined;
  }

  // ── one-off calls ──

  /** Adds `value` (default 1) to a counter. */
  count(o: CountOptions): void {
    const h = this.enabledHandle(MetricKind.counter, o);
    if (h !== undefined) h.write(o.value === undefined ? 1 : o.value);
  }

  /** Sets a gauge. */
  gauge(o: GaugeOptions): void {
    const h = this.enabledHandle(MetricKind.gauge, o);
    if (h !== undefined) h.write(o.value);
  }

  /** Records a duration in milliseconds. */
  timing(o: TimingOptions): void {
    const h = this.enabledHandle(MetricKind.timer, o);
    if (h !== undefined) h.write(o.ms);
  }

  /**
   * Low-level publish used by gateways (StatsD ingest): any kind, with a
   * sample rate. For `set`, `value` may be the member string.
   */
  emit(level: Level, kind: EmitKind, name: string, value: number | string, options: EmitOptions = {}): void {
    const k = EMIT_KINDS[kind];
    if (k === undefined) {
      this.problems.badCall(`metric "${name}": unknown kind ${JSON.stringify(kind)}`);
      return;
    }
    const idx = levelIndex(level);
    if (idx >= 0 && (this.buffer.mask & (1 << idx)) === 0) return;
    const v = k === MetricKind.set && typeof value === 'string' ? hashSetMember(value) : (value as number);
    this.handleFor(k, { name, level, source: options.source, tags: options.tags }, options.sampleRate ?? 1)?.write(v);
  }

  // ── bound handles (the cheapest path) ──

  /** A bound counter for hot loops: resolves the series once. */
  counterHandle(o: MetricOptions): CounterHandle {
    return this.handleOrNoop(MetricKind.counter, o);
  }
  /** A bound gauge. */
  gaugeHandle(o: MetricOptions): GaugeHandle {
    return this.handleOrNoop(MetricKind.gauge, o);
  }
  /** A bound timer. */
  timerHandle(o: MetricOptions): TimerHandle {
    return this.handleOrNoop(MetricKind.timer, o);
  }

  private noop: SeriesHandle | undefined;
  /** Invalid options give a handle that never writes (the problem was already reported). */
  private handleOrNoop(kind: MetricKind, o: MetricOptions): SeriesHandle {
    const h = this.handleFor(kind, o);
    if (h) return h;
    // A disabled level bit (31) that is never set.
    return (this.noop ??= new SeriesHandle(this.buffer, this.problems, 31, 'invalid', new Uint8Array(0)));
  }

  // ── scopes: `using` ──

  /** A timer for a block: `using t = z.timer({ name: 'block' })` records on scope exit. */
  timer(o: MetricOptions): TimerScope {
    const h = this.handleFor(MetricKind.timer, o);
    return h ? new TimerScope(h, now()) : NOOP_SCOPE;
  }

  /** A counter for a block: `using c = z.counter({ name: 'runs' })` counts on scope exit. */
  counter(o: CountOptions): CounterScope {
    const h = this.handleFor(MetricKind.counter, o);
    return h ? new CounterScope(h, o.value ?? 1) : NOOP_SCOPE;
  }

  // ── decorators (TC39 and experimentalDecorators, see decorators.ts) ──

  /** Method decorator: times each call until it returns, throws, or its promise settles. */
  timeMe(o: MetricOptions): MethodDecorator {
    const h = this.handleOrNoop(MetricKind.timer, o);
    return methodDecorator((method) => wrapTimed(h, method));
  }

  /** Method decorator: counts each call when it returns, throws, or its promise settles. */
  countMe(o: CountOptions): MethodDecorator {
    const h = this.handleOrNoop(MetricKind.counter, o);
    const value = o?.value ?? 1;
    return methodDecorator((method) => wrapCounted(h, method, value));
  }

  // ── wrappers for plain functions ──

  /** Returns `fn` wrapped so every call is timed (sync or async). */
  timed<F extends (...args: never[]) => unknown>(o: MetricOptions, fn: F): F {
    return wrapTimed(this.handleOrNoop(MetricKind.timer, o), fn);
  }

  /** Returns `fn` wrapped so every call is counted. */
  counted<F extends (...args: never[]) => unknown>(o: CountOptions, fn: F): F {
    return wrapCounted(this.handleOrNoop(MetricKind.counter, o), fn, o?.value ?? 1);
  }

  /** Times one call of `fn` and returns its result (a promise result is timed until it settles). */
  time<R>(o: MetricOptions, fn: () => R): R {
    return wrapTimed(this.handleOrNoop(MetricKind.timer, o), fn)();
  }

  // ── state ──

  /** True when some subscriber wants `level` (calls at other levels are near no-ops). */
  isEnabled(level: Level): boolean {
    const idx = levelIndex(level);
    return idx >= 0 && (this.buffer.mask & (1 << idx)) !== 0;
  }

  /** Counts since start: sent, dropped, invalid, buffered (and unsubscribed: discarded because nobody listened). */
  stats(): ClientStats {
    return this.buffer.stats();
  }

  /**
   * Resolves true once the client is connected to the broker and every level
   * in `levels` has a subscriber; false after `timeoutMs` (default 5 s). Never rejects.
   */
  ready(options: { levels?: Level[]; timeoutMs?: number } = {}): Promise<boolean> {
    let mask = 0;
    for (const l of options.levels ?? []) {
      const idx = levelIndex(l);
      if (idx >= 0) mask |= 1 << idx;
    }
    this.readyPending++;
    return this.transport.waitReady(mask, options.timeoutMs ?? 5000).finally(() => this.readyPending--);
  }

  /** Sends buffered batches now instead of waiting for the flush interval. */
  flush(): void {
    this.transport.flushNow();
  }

  /** Awaited `ready()` calls: the app is waiting on the client, so it is not finished. */
  private readyPending = 0;

  private tick(): void {
    this.reportSelf();
    // See process-idle.ts: the open socket would otherwise keep a finished script alive forever.
    if (this.readyPending === 0 && processLooksFinished()) void this.close();
  }

  private reportSelf(): void {
    const s = this.buffer;
    const dropped = s.dropped - this.reported.dropped;
    const invalid = s.invalid - this.reported.invalid;
    if (dropped > 0) {
      this.problems.warn('ZIB_DROPPED_TOTAL', `${s.dropped} records dropped since start (${dropped} in the last report interval)`);
      this.selfDropped.write(dropped);
    }
    if (invalid > 0) this.selfInvalid.write(invalid);
    this.reported = { dropped: s.dropped, invalid: s.invalid };
  }

  /**
   * Sends what is buffered (waiting at most `timeoutMs`, default 2 s), then
   * releases the socket so the process can exit. What could not be sent in
   * time is counted as dropped.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.closing) {
      clearInterval(this.selfTimer);
      this.reportSelf();
      this.closing = this.transport.close(options.timeoutMs ?? 2000);
    }
    return this.closing;
  }
}
