import type { RecordBuffer, StreamWriter } from './record-buffer.js';
import type { InputProblems } from './input-problems.js';
import { TimerScope } from './scopes.js';
import { now } from './clock.js';

const NO_TAGS: readonly unknown[] = [];

/**
 * A precomputed series: level bit, writer and encoded series entry are
 * resolved once, so writing a record is a mask test, a finiteness test and
 * two stores. One class for every kind keeps call sites monomorphic, and it is
 * also what `counterHandle()`, `gaugeHandle()` and `timerHandle()` return
 * (typed as the narrow interfaces), so `c.inc()` reaches the mask test
 * without a wrapper object in between.
 */
export class SeriesHandle {
  // Fields in the order V8 lays them out: first what a write reads (a held
  // handle's `inc()` touches nothing else), then what a cache lookup compares
  // (handle-cache.ts), then the rest. A call among thousands of series finds
  // this object cold, so the lookup and the write that follows should touch as
  // few of its cache lines as they can.

  /**
   * Where `inc`/`dec` write: the handle itself for a counter; for a gauge handle,
   * its gauge-delta series (wire kind 5), set by `Zibrato.gaugeHandle`. A field
   * on every handle keeps one shape, so call sites stay monomorphic.
   */
  deltaTarget: SeriesHandle = this;
  protected readonly buffer: RecordBuffer;
  protected readonly bit: number;
  /** The open batch of this series' stream: its level, or its shard of the level. */
  private writer: StreamWriter;
  private epoch = 0;
  private slot = 0;
  /** The buffer's generation {@link writer} was chosen in. */
  private generation: number;
  private readonly encoded: Uint8Array;

  /**
   * The key under which {@link HandleCache} keeps this handle, written once when
   * it is cached (never for a handle that is not). On the handle itself, not in
   * an entry of the cache's own: a lookup and the write that follows touch one
   * object instead of two. See handle-cache.ts for what each field means.
   * @internal
   */
  cacheValue0: unknown = undefined;
  /** @internal */
  cacheKey0: string | undefined = undefined;
  /** @internal */
  cacheTagCount = 0;
  /** @internal */
  cacheKind = 0;
  /** @internal */
  cacheSampleRate = 1;
  /** @internal */
  cacheSource: string | undefined = undefined;
  /** @internal */
  cacheLevel = 0;

  protected readonly problems: InputProblems;
  readonly level: number;
  readonly name: string;
  /** The series' shard hash (`seriesShardHash`), computed once: which shard it goes to when its level is sharded. */
  private readonly shardHash: number;
  /** @internal Two tags or more, interleaved (handle-cache.ts). */
  cacheTags: readonly unknown[] = NO_TAGS;
  /** @internal Set once the handle is cached: a handle is cached under one key at most. */
  cacheName: string | undefined = undefined;
  /** @internal The next handle of the same name whose key hashes alike. */
  cacheNext: SeriesHandle | undefined = undefined;

  constructor(buffer: RecordBuffer, problems: InputProblems, level: number, name: string, encoded: Uint8Array, shardHash = 0) {
    this.buffer = buffer;
    this.problems = problems;
    this.level = level;
    this.name = name;
    this.encoded = encoded;
    this.shardHash = shardHash;
    this.bit = 1 << level;
    this.generation = buffer.generation;
    this.writer = buffer.writerFor(level, shardHash);
  }

  /** {@link CounterHandle.inc} and {@link GaugeHandle.inc}: adds `by` (default 1). */
  inc(by?: number): void {
    this.deltaTarget.write(by === undefined ? 1 : by);
  }

  /** {@link GaugeHandle.dec}: subtracts `by` (default 1). A non-number is passed on as it is, so it is counted as invalid. */
  dec(by?: number): void {
    this.deltaTarget.write(by === undefined ? -1 : typeof by === 'number' ? -by : by);
  }

  /** {@link GaugeHandle.set}. */
  set(value: number): void {
    this.write(value);
  }

  /** {@link TimerHandle.record}: a duration in ms. */
  record(ms: number): void {
    this.write(ms);
  }

  /** {@link TimerHandle.start}: a scope that records on `stop()` or when disposed. */
  start(): TimerScope {
    return new TimerScope(this, now());
  }

  /** True when someone subscribes to this handle's level (the write would not be a no-op). */
  get enabled(): boolean {
    return (this.buffer.mask & this.bit) !== 0;
  }

  /**
   * Appends one record. Never throws: bad values and overflow are counted.
   * Only the level test lives here, so this method stays small enough for V8 to
   * inline at every call site: at a level nobody subscribes to, a call is two
   * loads, an AND and a branch.
   */
  write(value: number): void {
    if ((this.buffer.mask & this.bit) !== 0) this.append(value);
  }

  /** The enabled path of {@link write}. */
  private append(value: number): void {
    const buffer = this.buffer;
    if (this.rejects(value)) return;
    let w = this.writer;
    if (w.isFull && !this.sealFor(w)) return;
    if (this.epoch !== w.epoch) {
      // Once per series per batch, never per record: a shard count change retired
      // the old writers (their epochs moved on), so every handle passes here and
      // finds its stream again.
      if (this.generation !== buffer.generation) {
        this.generation = buffer.generation;
        w = this.writer = buffer.writerFor(this.level, this.shardHash);
      }
      let slot = w.addSeries(this.encoded);
      if (slot < 0) {
        if (!this.sealFor(w)) return;
        slot = w.addSeries(this.encoded);
      }
      this.slot = slot;
      this.epoch = w.epoch;
    }
    w.append(this.slot, value);
    if (!buffer.flushPending) buffer.scheduleFlush();
  }

  /** True, and counted as invalid, when `value` is not a finite number. */
  protected rejects(value: number): boolean {
    // The type test comes first: arithmetic on a Symbol throws, and on an object
    // runs its valueOf, which may throw. Then NaN and ±Infinity fail `v - v === 0`.
    if (typeof value === 'number' && value - value === 0) return false;
    this.problems.badValue(this.name, value);
    return true;
  }

  /**
   * Seals the open batch `w` to make room for a record: true when it was
   * queued; false when the queue is at its bound, and the record the caller was
   * writing is counted as dropped.
   */
  protected sealFor(w: StreamWriter): boolean {
    const buffer = this.buffer;
    if (!buffer.seal(w)) {
      buffer.dropped++;
      this.problems.overflow();
      return false;
    }
    buffer.batchSealed();
    return true;
  }
}

/**
 * What a handle, scope, decorator or wrapper gets when its options were
 * invalid: the app's code keeps working, and every record it writes is counted
 * as invalid instead of vanishing. It reports itself enabled so that wrappers
 * go through `write` and each call is counted.
 */
export class RejectedHandle extends SeriesHandle {
  constructor(buffer: RecordBuffer, problems: InputProblems) {
    super(buffer, problems, 0, 'invalid', new Uint8Array(0));
  }

  override get enabled(): boolean {
    return true;
  }

  override write(_value: number): void {
    this.problems.rejectedHandle();
  }
}
