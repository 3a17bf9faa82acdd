import { ZibratoError } from '../errors.js';
import { LEVELS, levelIndex, type Level } from '../levels.js';
import { MetricKind } from '../wire/constants.js';
import { encodeSeries, encodeSeriesTemplate, type SeriesMetadata, type Tags } from '../wire/series-encoding.js';
import { seriesShardHash } from '../wire/shard.js';
import { hashSetMember } from '../wire/set-member.js';
import { HandleCache } from './handle-cache.js';
import { InputProblems } from './input-problems.js';
import { resolveOptions, type ResolvedOptions, type ZibratoOptions } from './options.js';
import { RecordBuffer, type ClientStats } from './record-buffer.js';
import { CounterScope, TimerScope } from './scopes.js';
import { RejectedHandle, SeriesHandle } from './series-handle.js';
import { WideTagHandle } from './wide-tag-handle.js';
import { checkTags, describeValue, isSampleRate } from './call-checks.js';
import { INITIAL_MASK, Transport } from './transport.js';
import { wrapCounted, wrapTimed } from './wrappers.js';
import { now } from './clock.js';
import { methodDecorator, type MethodDecorator } from './decorators.js';
import { processLooksFinished } from './process-idle.js';
import { DefaultMetrics, type DefaultMetricsOptions } from './default-metrics.js';

/**
 * What names a series. `level` defaults to the client's level (`info`), `source` and `tags` merge over the client's.
 * Tag values are strings; finite numbers and booleans are accepted and sent as their string form
 * (`{ status: 200 }` is the series `{ status: "200" }`). Any other value makes the call invalid (counted).
 */
export interface MetricOptions {
  name: string;
  level?: Level;
  source?: string;
  tags?: Tags;
  /**
   * What the series measures (at most 255 bytes): Prometheus `# HELP`, OTLP
   * `description`. Sent once per series per batch, never per record. Like
   * `unit`, it is read when the client first resolves the series; later calls
   * for the same series reuse that (the options are not compared on every call).
   */
  description?: string;
  /**
   * The unit of the values (at most 255 bytes), in words Prometheus knows:
   * `seconds`, `bytes`, `ratio`, `celsius` … It becomes the Prometheus name
   * suffix (`_seconds`, `_bytes`) and the OTLP `unit`. Timers are always in
   * milliseconds on the wire and exposed to Prometheus in seconds; their unit needs no setting.
   */
  unit?: string;
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
  /** Adds `by` (default 1) to the gauge's last value, as seen by the backend (wire kind `gaugeDelta`, StatsD `+N`). */
  inc(by?: number): void;
  /** Subtracts `by` (default 1) from the gauge's last value (StatsD `-N`). */
  dec(by?: number): void;
  readonly enabled: boolean;
}
/** What an observable gauge's callback is given: each `observe` is one reading. */
export interface ObservableResult {
  /** Records `value` for the gauge, or for the series with `tags` merged over the gauge's own. */
  observe(value: number, tags?: Tags): void;
}
/** The callback of an observable gauge: called once per collect interval, synchronously. */
export type ObservableCallback = (result: ObservableResult) => void;
/** Returned by {@link Zibrato.observableGauge} and {@link Zibrato.collectDefaultMetrics}. */
export interface Registration {
  /** Stops the readings; calling it again does nothing. */
  unregister(): void;
}
/** A bound timer. */
export interface TimerHandle {
  /** Records a duration in ms. */
  record(ms: number): void;
  /** Starts a scope that records on `stop()` or when disposed by `using`. */
  start(): TimerScope;
  readonly enabled: boolean;
}

/** Without a prototype, so `emit(level, 'toString', …)` or `'__proto__'` finds no kind. */
const EMIT_KINDS: Readonly<Record<EmitKind, MetricKind>> = Object.assign(Object.create(null) as Record<EmitKind, MetricKind>, {
  counter: MetricKind.counter,
  gauge: MetricKind.gauge,
  gaugeDelta: MetricKind.gaugeDelta,
  timer: MetricKind.timer,
  set: MetricKind.set,
});

/** An observable gauge or the default metrics: read on each collect tick when its level is wanted. */
interface Observer {
  level: number;
  read: () => void;
  /** Names it in diagnostics. */
  what: string;
}

const NO_REGISTRATION: Registration = Object.freeze({ unregister: () => undefined });

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
  private readonly selfDropped: SeriesHandle | undefined;
  private readonly selfInvalid: SeriesHandle | undefined;
  /** Given to handles, scopes and wrappers made from invalid options: their records are counted as invalid. */
  private readonly rejected: RejectedHandle;
  private reported = { dropped: 0, invalid: 0 };
  /** Observable gauges and default metrics, read on each collect tick. */
  private readonly observers = new Set<Observer>();
  private defaultMetrics: { metrics: DefaultMetrics; registration: Registration } | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: ZibratoOptions = {}) {
    this.options = resolveOptions(options);
    this.defaultLevel = levelIndex(this.options.level);
    let transport: Transport | undefined;
    this.buffer = new RecordBuffer(this.options.maxBufferedRecords, this.options.batchBytes, INITIAL_MASK, () => transport!.scheduleFlush());
    this.problems = new InputProblems(this.buffer, this.options.log);
    this.rejected = new RejectedHandle(this.buffer, this.problems);
    try {
      this.transport = transport = new Transport(this.buffer, this.problems, this.options.broker, this.options.flushIntervalMs, this.options.curve);
      this.buffer.batchSealed = transport.sendSoon;
    } catch (err) {
      // libzmq's context holds 1,023 sockets and a client uses 3: the 341st client in a process fails here.
      throw new ZibratoError('ZIB_ERR_CLIENT_SOCKET', `could not open the client's ZeroMQ socket (${(err as Error).message}); a process should share one client (~340 at most)`, { cause: err });
    }
    // Global tags and source were validated, so these cannot fail; if they did, self-metrics are skipped rather than thrown from a timer.
    this.selfDropped = this.newHandle(MetricKind.counter, 'zibrato.client.dropped', SELF_METRICS_LEVEL, undefined, undefined, 1);
    this.selfInvalid = this.newHandle(MetricKind.counter, 'zibrato.client.invalid', SELF_METRICS_LEVEL, undefined, undefined, 1);
    this.selfTimer = setInterval(() => this.tick(), this.options.collectIntervalMs);
    this.selfTimer.unref();
  }

  // ── series resolution (once per handle, never per record) ──

  /** Encodes a series; `tags` were checked (string values). Bad names and sources are reported and give undefined. */
  private newHandle(kind: MetricKind, name: string, level: number, source: unknown, tags: Tags | undefined, sampleRate: number, metadata?: SeriesMetadata): SeriesHandle | undefined {
    try {
      if (source !== undefined && typeof source !== 'string') throw new Error(`source must be a string, got ${describeValue(source)}`);
      const merged = this.seriesTags(tags);
      const src = source ?? this.options.source;
      const encoded = encodeSeries(kind, name, src, merged, sampleRate, metadata);
      // The shard is chosen by the series identity once, here: the hot path only follows the handle's writer.
      return new SeriesHandle(this.buffer, this.problems, level, name, encoded, seriesShardHash(name, src, merged));
    } catch (err) {
      this.problems.badCall(`metric ${describeValue(name)}: ${(err as Error).message}`);
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
    if (o === null || typeof o !== 'object') return this.rejectOptions(o);
    const levelName = o.level;
    const level = levelName === undefined ? this.defaultLevel : levelIndex(levelName);
    if (level < 0) return this.rejectLevel(levelName);
    if ((this.buffer.mask & (1 << level)) === 0) return undefined;
    const h = this.cache.get(kind, o.name, level, o.source, 1, o.tags, true);
    return h !== undefined ? h : this.resolve(kind, o, level, 1);
  }

  /** The handle for an options object whatever its level is (scopes and decorators keep theirs). */
  private handleFor(kind: MetricKind, o: MetricOptions, sampleRate = 1): SeriesHandle | undefined {
    if (o === null || typeof o !== 'object') return this.rejectOptions(o);
    const levelName = o.level;
    const level = levelName === undefined ? this.defaultLevel : levelIndex(levelName);
    if (level < 0) return this.rejectLevel(levelName);
    const h = this.cache.get(kind, o.name, level, o.source, sampleRate, o.tags);
    return h !== undefined ? h : this.resolve(kind, o, level, sampleRate);
  }

  /**
   * A cache miss: checks the tags, encodes the series once and remembers its
   * handle under the tags as given (so `{ status: 200 }` hits next time too).
   */
  private resolve(kind: MetricKind, o: MetricOptions, level: number, sampleRate: number): SeriesHandle | undefined {
    // Each option read once, so what is encoded is what is cached even if the app's getters change their answer.
    const name = o.name;
    const source = o.source;
    const description = o.description;
    const unit = o.unit;
    const tags = checkTags(o.tags);
    if (tags.problem !== undefined) {
      this.problems.badArgument(`metric ${describeValue(name)}: ${tags.problem}`);
      return undefined;
    }
    const metadata = description !== undefined || unit !== undefined ? { description, unit } : undefined;
    const h = this.newHandle(kind, name, level, source, tags.tags, sampleRate, metadata);
    if (h && this.cache.set(kind, name, level, source, sampleRate, tags.raw, h)) {
      const wide = this.newWideHandle(kind, name, level, source, tags.tags!, h.cacheKey0!, sampleRate, metadata);
      if (wide) this.cache.setWide(h, wide);
    }
    return h;
  }

  /** The tags a series is encoded with: the call's over the client's own. */
  private seriesTags(tags: Tags | undefined): Tags | undefined {
    return tags ? { ...this.options.tags, ...tags } : this.options.tags;
  }

  /** The {@link WideTagHandle} of a tag with many values: `tags` as a series of it was encoded; none if that fails (it cannot: the same was encoded for `tags`). */
  private newWideHandle(kind: MetricKind, name: string, level: number, source: string | undefined, tags: Tags, key: string, sampleRate: number, metadata: SeriesMetadata | undefined): WideTagHandle | undefined {
    try {
      const { prefix, suffix } = encodeSeriesTemplate(kind, name, source ?? this.options.source, this.seriesTags(tags)!, key, sampleRate, metadata);
      return new WideTagHandle(this.buffer, this.problems, level, name, prefix, suffix);
    } catch {
      return undefined;
    }
  }

  private rejectOptions(o: unknown): undefined {
    this.problems.badCall(`metric options must be an object like { name: "jobs.done" }, got ${describeValue(o)}`);
    return undefined;
  }

  private rejectLevel(levelName: unknown): undefined {
    this.problems.badCall(`level ${describeValue(levelName)} is not one of ${LEVELS.join(', ')}`);
    return undefined;
  }

  /**
   * Where a public call lands when something in the app's arguments threw
   * (a getter, a Proxy): the call is counted as invalid instead of throwing.
   */
  private thrown(method: string, err: unknown): void {
    this.problems.badArgument(`${method}: reading the arguments threw (${err instanceof Error ? err.message : describeValue(err)})`);
  }

  // ── one-off calls ──
  // Each public call catches what the app's arguments may throw (a getter, a
  // Proxy, a valueOf): V8 optimises and inlines functions with try/catch, and
  // the catch costs nothing until it runs. The value is read before the
  // series is looked up, so nothing of the app's runs between the lookup and
  // the write (a wide tag's handle is aimed at one value for that write).

  /** Adds `value` (default 1) to a counter. */
  count(o: CountOptions): void {
    try {
      const value = o?.value;
      const h = this.enabledHandle(MetricKind.counter, o);
      if (h !== undefined) h.write(value === undefined ? 1 : value);
    } catch (err) {
      this.thrown('count', err);
    }
  }

  /** Sets a gauge. */
  gauge(o: GaugeOptions): void {
    try {
      const value = o?.value;
      const h = this.enabledHandle(MetricKind.gauge, o);
      if (h !== undefined) h.write(value as number);
    } catch (err) {
      this.thrown('gauge', err);
    }
  }

  /** Adds `value` (default 1) to a gauge's last value, as the backend holds it (wire kind `gaugeDelta`, StatsD `+N`). */
  gaugeInc(o: CountOptions): void {
    try {
      const value = o?.value;
      const h = this.enabledHandle(MetricKind.gaugeDelta, o);
      if (h !== undefined) h.inc(value);
    } catch (err) {
      this.thrown('gaugeInc', err);
    }
  }

  /** Subtracts `value` (default 1) from a gauge's last value (StatsD `-N`). */
  gaugeDec(o: CountOptions): void {
    try {
      const value = o?.value;
      const h = this.enabledHandle(MetricKind.gaugeDelta, o);
      if (h !== undefined) h.dec(value);
    } catch (err) {
      this.thrown('gaugeDec', err);
    }
  }

  /** Records a duration in milliseconds. */
  timing(o: TimingOptions): void {
    try {
      const ms = o?.ms;
      const h = this.enabledHandle(MetricKind.timer, o);
      if (h !== undefined) h.write(ms);
    } catch (err) {
      this.thrown('timing', err);
    }
  }

  /**
   * Low-level publish used by gateways (StatsD ingest): any kind, with a
   * sample rate in (0, 1]. For `set`, `value` may be the member string.
   */
  emit(level: Level, kind: EmitKind, name: string, value: number | string, options: EmitOptions = {}): void {
    try {
      const k = EMIT_KINDS[kind];
      if (k === undefined) {
        this.problems.badCall(`metric ${describeValue(name)}: unknown kind ${describeValue(kind)}`);
        return;
      }
      if (options === null || typeof options !== 'object') {
        this.problems.badArgument(`emit ${describeValue(name)}: options must be an object, got ${describeValue(options)}`);
        return;
      }
      const sampleRate = options.sampleRate === undefined ? 1 : options.sampleRate;
      if (!isSampleRate(sampleRate)) {
        this.problems.badArgument(`emit ${describeValue(name)}: sampleRate must be in (0, 1], got ${describeValue(sampleRate)}`);
        return;
      }
      const idx = levelIndex(level);
      if (idx >= 0 && (this.buffer.mask & (1 << idx)) === 0) return;
      const v = k === MetricKind.set && typeof value === 'string' ? hashSetMember(value) : (value as number);
      this.handleFor(k, { name, level, source: options.source, tags: options.tags }, sampleRate)?.write(v);
    } catch (err) {
      this.thrown('emit', err);
    }
  }

  // ── bound handles (the cheapest path) ──

  /** A bound counter for hot loops: resolves the series once. */
  counterHandle(o: MetricOptions): CounterHandle {
    return this.handleOrRejected(MetricKind.counter, o, 'counterHandle');
  }
  /** A bound gauge: `set` writes the gauge, `inc`/`dec` its delta series (the same series at the backend). */
  gaugeHandle(o: MetricOptions): GaugeHandle {
    const h = this.handleOrRejected(MetricKind.gauge, o, 'gaugeHandle');
    if (h !== this.rejected && h.deltaTarget === h) h.deltaTarget = this.handleOrRejected(MetricKind.gaugeDelta, o, 'gaugeHandle');
    return h;
  }

  /**
   * A gauge read by the client instead of set by the app (OTel's
   * ObservableGauge, prom-client's `collect`): `callback` is called once per
   * collect interval (option `collectIntervalMs`, 1 s by default) and once at
   * `close()`, only while someone subscribes to the gauge's level, and never
   * per record. It must be synchronous; what it throws is counted as invalid and
   * reported, never thrown. Invalid options give a registration that reads nothing.
   *
   * @example
   * const r = z.observableGauge({ name: 'pool.idle', unit: 'connections' }, (o) => o.observe(pool.idleCount));
   * r.unregister();
   */
  observableGauge(o: MetricOptions, callback: ObservableCallback): Registration {
    try {
      if (typeof callback !== 'function') {
        this.problems.badArgument(`observableGauge: expected a callback, got ${describeValue(callback)}`);
        return NO_REGISTRATION;
      }
      const h = this.handleFor(MetricKind.gauge, o);
      if (h === undefined) return NO_REGISTRATION;
      // A copy: the app's object may change after registration; tags are merged per reading.
      const base: MetricOptions = { name: o.name, level: o.level, source: o.source, tags: o.tags, description: o.description, unit: o.unit };
      return this.addObserver(h.level, () => {
        callback({
          observe: (value, tags) => {
            const target = tags === undefined ? h : this.handleFor(MetricKind.gauge, { ...base, tags: { ...base.tags, ...tags } });
            target?.write(value);
          },
        });
      }, `observable gauge ${describeValue(h.name)}`);
    } catch (err) {
      this.thrown('observableGauge', err);
      return NO_REGISTRATION;
    }
  }

  /**
   * Starts reporting the process metrics prom-client users expect: event-loop
   * lag and utilisation, heap, GC pauses by kind, CPU, RSS and active
   * resources (names, types and units in docs/default-metrics.md). Sampled on
   * the collect timer (and GC pauses as Node reports them), never per call.
   * Calling it again returns the same registration.
   */
  collectDefaultMetrics(options: DefaultMetricsOptions = {}): Registration {
    if (this.defaultMetrics) return this.defaultMetrics.registration;
    try {
      const metrics = new DefaultMetrics(this, options);
      const level = levelIndex(options.level ?? this.options.level);
      const observer = this.addObserver(level < 0 ? this.defaultLevel : level, () => metrics.sample(), 'default metrics');
      const registration: Registration = {
        unregister: () => {
          observer.unregister();
          metrics.stop();
          if (this.defaultMetrics?.registration === registration) this.defaultMetrics = undefined;
        },
      };
      this.defaultMetrics = { metrics, registration };
      return registration;
    } catch (err) {
      this.thrown('collectDefaultMetrics', err);
      return NO_REGISTRATION;
    }
  }

  private addObserver(level: number, read: () => void, what: string): Registration {
    const observer: Observer = { level, read, what };
    this.observers.add(observer);
    return { unregister: () => void this.observers.delete(observer) };
  }

  /** Reads every observer whose level is wanted; a throwing one is counted as invalid. */
  private collect(): void {
    for (const ob of this.observers) {
      if ((this.buffer.mask & (1 << ob.level)) === 0) continue;
      try {
        ob.read();
      } catch (err) {
        this.problems.badArgument(`${ob.what}: the callback threw (${err instanceof Error ? err.message : describeValue(err)})`);
      }
    }
  }
  /** A bound timer. */
  timerHandle(o: MetricOptions): TimerHandle {
    return this.handleOrRejected(MetricKind.timer, o, 'timerHandle');
  }

  /** Invalid options (already reported) give a handle whose every record is counted as invalid. */
  private handleOrRejected(kind: MetricKind, o: MetricOptions, method: string): SeriesHandle {
    try {
      return this.handleFor(kind, o) ?? this.rejected;
    } catch (err) {
      this.thrown(method, err);
      return this.rejected;
    }
  }

  /** `o.value` of a counting call, or 1; a throwing getter or a bad value is written, and so counted, when the count happens. */
  private countValue(o: CountOptions): number {
    try {
      return o.value === undefined ? 1 : o.value;
    } catch {
      return NaN;
    }
  }

  // ── scopes: `using` ──

  /** A timer for a block: `using t = z.timer({ name: 'block' })` records on scope exit. */
  timer(o: MetricOptions): TimerScope {
    return new TimerScope(this.handleOrRejected(MetricKind.timer, o, 'timer'), now());
  }

  /** A counter for a block: `using c = z.counter({ name: 'runs' })` counts on scope exit. */
  counter(o: CountOptions): CounterScope {
    const h = this.handleOrRejected(MetricKind.counter, o, 'counter');
    return new CounterScope(h, h === this.rejected ? 1 : this.countValue(o));
  }

  // ── decorators (TC39 and experimentalDecorators, see decorators.ts) ──

  /** Method decorator: times each call until it returns, throws, or its promise settles. */
  timeMe(o: MetricOptions): MethodDecorator {
    const h = this.handleOrRejected(MetricKind.timer, o, 'timeMe');
    return methodDecorator((method) => wrapTimed(h, method));
  }

  /** Method decorator: counts each call when it returns, throws, or its promise settles. */
  countMe(o: CountOptions): MethodDecorator {
    const h = this.handleOrRejected(MetricKind.counter, o, 'countMe');
    const value = h === this.rejected ? 1 : this.countValue(o);
    return methodDecorator((method) => wrapCounted(h, method, value));
  }

  // ── wrappers for plain functions ──

  /**
   * Returns `fn` wrapped so every call is timed (sync or async). Given a
   * non-function, counts the call as invalid and returns a function that does nothing.
   */
  timed<F extends (...args: never[]) => unknown>(o: MetricOptions, fn: F): F {
    if (typeof fn !== 'function') return this.notAFunction('timed', fn) as F;
    return wrapTimed(this.handleOrRejected(MetricKind.timer, o, 'timed'), fn);
  }

  /** Returns `fn` wrapped so every call is counted. Given a non-function, as {@link timed}. */
  counted<F extends (...args: never[]) => unknown>(o: CountOptions, fn: F): F {
    if (typeof fn !== 'function') return this.notAFunction('counted', fn) as F;
    const h = this.handleOrRejected(MetricKind.counter, o, 'counted');
    return wrapCounted(h, fn, h === this.rejected ? 1 : this.countValue(o));
  }

  /**
   * Times one call of `fn` and returns its result (a promise result is timed
   * until it settles). What `fn` throws reaches the caller, as without the
   * timer; given a non-function, the call is counted as invalid and returns undefined.
   */
  time<R>(o: MetricOptions, fn: () => R): R {
    if (typeof fn !== 'function') {
      this.problems.badArgument(`time: expected a function, got ${describeValue(fn)}`);
      return undefined as R;
    }
    return wrapTimed(this.handleOrRejected(MetricKind.timer, o, 'time'), fn)();
  }

  /** For `timed`/`counted` given a non-function: counted now, and each call of what is returned is counted too. */
  private notAFunction(method: string, fn: unknown): () => undefined {
    this.problems.badArgument(`${method}: expected a function to wrap, got ${describeValue(fn)}`);
    const rejected = this.rejected;
    return () => {
      rejected.write(0);
      return undefined;
    };
  }

  // ── state ──

  /** True when some subscriber wants `level` (calls at other levels are near no-ops). False for a name that is not a level. */
  isEnabled(level: Level): boolean {
    const idx = typeof level === 'string' ? levelIndex(level) : -1;
    return idx >= 0 && (this.buffer.mask & (1 << idx)) !== 0;
  }

  /**
   * Among how many shards the client splits `level`'s series now, as it learned
   * from the backends' `--shard K/N` subscriptions (docs/delivery.md, "Sharded
   * backends"); 1 when the level is not sharded or the name is not a level.
   */
  shardCount(level: Level): number {
    const idx = typeof level === 'string' ? levelIndex(level) : -1;
    return idx >= 0 ? this.buffer.shardCounts[idx]! : 1;
  }

  /** Counts since start: sent, dropped, invalid, buffered (and unsubscribed: discarded because nobody listened). */
  stats(): ClientStats {
    return this.buffer.stats();
  }

  /**
   * Resolves true once the client is connected to the broker and every level
   * in `levels` has a subscriber (for a sharded level: every shard of the count
   * it uses, see {@link shardCount}); false after `timeoutMs` (default 5 s). Never
   * rejects; bad options are counted as invalid and the defaults used.
   */
  ready(options: { levels?: Level[]; timeoutMs?: number } = {}): Promise<boolean> {
    let mask = 0;
    let timeoutMs = 5000;
    try {
      if (options === null || typeof options !== 'object') throw new Error(`options must be an object, got ${describeValue(options)}`);
      const levels: unknown = options.levels ?? [];
      if (!Array.isArray(levels)) throw new Error(`levels must be an array of levels, got ${describeValue(levels)}`);
      for (const l of levels) {
        const idx = typeof l === 'string' ? levelIndex(l) : -1;
        if (idx < 0) throw new Error(`${describeValue(l)} is not a level`);
        mask |= 1 << idx;
      }
      const t: unknown = options.timeoutMs ?? 5000;
      if (typeof t !== 'number' || !(t >= 0) || t > 2_147_483_647) throw new Error(`timeoutMs must be a number of ms ≥ 0, got ${describeValue(t)}`);
      timeoutMs = t;
    } catch (err) {
      this.problems.badArgument(`ready: ${(err as Error).message}`);
      mask = 0;
    }
    this.readyPending++;
    return this.transport.waitReady(mask, timeoutMs).finally(() => this.readyPending--);
  }

  /** Sends buffered batches now instead of waiting for the flush interval. */
  flush(): void {
    this.transport.flushNow();
  }

  /** Awaited `ready()` calls: the app is waiting on the client, so it is not finished. */
  private readyPending = 0;

  private tick(): void {
    // See process-idle.ts: the open socket would otherwise keep a finished script alive forever.
    // Asked before collecting: the records collect() writes schedule a (ref'd) flush timer, which would look like app work.
    const finished = this.readyPending === 0 && processLooksFinished();
    this.collect();
    this.reportSelf();
    if (finished) void this.close();
  }

  private reportSelf(): void {
    const s = this.buffer;
    const dropped = s.dropped - this.reported.dropped;
    const invalid = s.invalid - this.reported.invalid;
    if (dropped > 0) {
      this.problems.warn('ZIB_DROPPED_TOTAL', `${s.dropped} records dropped since start (${dropped} in the last report interval)`);
      this.selfDropped?.write(dropped);
    }
    if (invalid > 0) this.selfInvalid?.write(invalid);
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
      this.collect();
      this.defaultMetrics?.registration.unregister();
      this.observers.clear();
      this.reportSelf();
      let timeoutMs = 2000;
      try {
        const t: unknown = options?.timeoutMs ?? 2000;
        if (typeof t === 'number' && t >= 0 && t <= 2_147_483_647) timeoutMs = t;
        else this.problems.badArgument(`close: timeoutMs must be a number of ms ≥ 0, got ${describeValue(t)}; using 2000`);
      } catch (err) {
        this.thrown('close', err);
      }
      this.closing = this.transport.close(timeoutMs);
    }
    return this.closing;
  }
}
