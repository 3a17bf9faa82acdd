import type { RecordBuffer } from './record-buffer.js';
import type { InputProblems } from './input-problems.js';
import { SeriesHandle } from './series-handle.js';

/**
 * Values of one tag (under one name, kind, level, source and sample rate) past
 * which a one-off call (`z.count({ name, tags: { user } })`) no longer gets a
 * handle per value: the tag is "wide" (a user id, a request id), and its
 * series are written from a template instead (see {@link WideTagHandle}).
 */
export const WIDE_TAG_VALUES = 1024;

/** Longest value written from the template: ASCII, so characters are bytes and never past the wire's 255-byte strings. */
const MAX_VALUE_CHARS = 255;

/** Values remembered per batch, so a value repeated in one batch reuses its series slot (a power of two). */
const MEMO = 64;

const NO_BYTES = new Uint8Array(0);

/**
 * The series of a tag with thousands of values, written without a handle per
 * value. With bench/app's per-user count (one of 10,000 user ids) and the
 * caches evicted between requests, as a service's own work does, a handle per
 * value cost 1.4–1.8 µs a call, mostly cache misses: the value's map entry,
 * its handle and its encoded series are cold by the time the same user comes
 * back. This handle holds the series' encoding with the value left out
 * (`encodeSeriesTemplate`) and writes the value's characters into the batch's
 * table between the two halves: it touches only memory every call shares
 * (0.5–0.9 µs there). Each series entry is the same bytes a handle per value
 * sends; a value whose memo slot another took since is listed again in the
 * batch (docs/wire-format.md: receivers add such entries up).
 *
 * The handle cache sets {@link tag} for the call it answers, and the call
 * writes at once, with nothing of the app's in between (`Zibrato` reads the
 * value option before the lookup): a handle per call, without an object per call.
 * Only one-off calls use it; a handle, scope or decorator keeps a handle per series.
 */
export class WideTagHandle extends SeriesHandle {
  /** The value of the call being answered: ASCII, at most {@link MAX_VALUE_CHARS}. */
  private tag = '';
  /** Its hash, for the per-batch memo. */
  private tagHash = 0;
  /** Per memo slot: the value, its series slot in the batch, and the batch's epoch (0: none). */
  private readonly memoTag: string[] = new Array<string>(MEMO).fill('');
  private readonly memoSlot = new Int32Array(MEMO);
  private readonly memoEpoch = new Float64Array(MEMO);
  /** The buffer's generation the memo was filled in: a shard count change replaces the writers, whose epochs start again. */
  private memoGeneration: number;

  constructor(
    buffer: RecordBuffer,
    problems: InputProblems,
    level: number,
    name: string,
    private readonly prefix: Uint8Array,
    private readonly suffix: Uint8Array,
  ) {
    super(buffer, problems, level, name, NO_BYTES);
    this.memoGeneration = buffer.generation;
  }

  /**
   * Points the handle at the series of `value`; false when it cannot write
   * that series (non-ASCII or too long a value, or a sharded level, whose
   * series are assigned to shards one by one): the caller looks it up as usual.
   */
  aim(value: string): boolean {
    const n = value.length;
    if (n > MAX_VALUE_CHARS || this.buffer.shardCounts[this.level] !== 1) return false;
    // FNV-1a, as handle-cache.ts hashes strings, in the same pass as the ASCII check.
    let h = 0x811c9dc5;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c > 0x7f) return false;
      h = Math.imul(h ^ c, 0x01000193);
    }
    this.tag = value;
    this.tagHash = h;
    return true;
  }

  override write(value: number): void {
    if ((this.buffer.mask & this.bit) !== 0) this.appendTagged(value);
  }

  private appendTagged(value: number): void {
    if (this.rejects(value)) return;
    const buffer = this.buffer;
    const tag = this.tag;
    // Unsharded (aim checked): one writer for the level.
    const w = buffer.writerFor(this.level, 0);
    if (w.isFull && !this.sealFor(w)) return;
    if (this.memoGeneration !== buffer.generation) {
      this.memoGeneration = buffer.generation;
      this.memoEpoch.fill(0);
    }
    const i = this.tagHash & (MEMO - 1);
    let slot: number;
    if (this.memoEpoch[i] === w.epoch && this.memoTag[i] === tag) {
      slot = this.memoSlot[i]!;
    } else {
      slot = w.addSeriesWithValue(this.prefix, tag, this.suffix);
      if (slot < 0) {
        if (!this.sealFor(w)) return;
        slot = w.addSeriesWithValue(this.prefix, tag, this.suffix);
      }
      this.memoTag[i] = tag;
      this.memoSlot[i] = slot;
      this.memoEpoch[i] = w.epoch;
    }
    w.append(slot, value);
    if (!buffer.flushPending) buffer.scheduleFlush();
  }
}
