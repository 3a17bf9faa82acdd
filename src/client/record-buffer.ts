import { LEVELS } from '../levels.js';
import { BatchWriter, newPublisherId } from '../wire/batch-writer.js';

/** A sealed batch waiting to be sent. */
export interface SealedBatch {
  level: number;
  frame: Buffer;
  records: number;
}

/** Counts since the client started. */
export interface ClientStats {
  /** Records handed to the broker. */
  sent: number;
  /** Records lost because the buffer was full or the broker stayed away past close(). */
  dropped: number;
  /** Calls rejected for bad input (NaN, empty name, bad level …). */
  invalid: number;
  /** Records waiting in memory now. */
  buffered: number;
  /** Records discarded because no subscriber wanted their level when they were due to be sent. Not a loss: nobody was listening. */
  unsubscribed: number;
}

/**
 * The app-side store of records: one open {@link BatchWriter} per level and a
 * bounded queue of sealed batches. Everything the hot path touches lives here,
 * so a handle reaches it through one field.
 */
export class RecordBuffer {
  /** Bit per level: records of a level are written only when its bit is set. */
  mask: number;
  readonly writers: BatchWriter[];
  readonly queue: SealedBatch[] = [];
  queuedRecords = 0;
  sent = 0;
  dropped = 0;
  invalid = 0;
  unsubscribed = 0;
  /** True while a flush is scheduled; the hot path checks it to schedule one at most once. */
  flushPending = false;
  /** Called when the hot path has sealed a full batch, so the transport sends it before the flush timer. */
  batchSealed: () => void = () => undefined;
  constructor(
    readonly maxBufferedRecords: number,
    batchBytes: number,
    initialMask: number,
    /** Called (once per pending flush) after the first record lands in an empty buffer. */
    readonly scheduleFlush: () => void,
    /** This client's id in every batch header: random per start, so receivers tell a restart from a loss. */
    publisherId: Uint8Array = newPublisherId(),
  ) {
    this.mask = initialMask;
    this.writers = LEVELS.map(() => new BatchWriter(batchBytes, undefined, publisherId));
  }

  /** Records in open batches and in the queue. */
  get bufferedRecords(): number {
    let n = this.queuedRecords;
    for (const w of this.writers) n += w.recordCount;
    return n;
  }

  /**
   * Seals a level's open batch into the queue. Returns false, leaving the batch
   * open, when the queue is at its bound: the caller then drops and counts.
   */
  seal(level: number): boolean {
    const w = this.writers[level]!;
    if (w.isEmpty) return true;
    if (this.queuedRecords + w.recordCount > this.maxBufferedRecords) return false;
    const records = w.recordCount;
    this.queue.push({ level, frame: w.seal(Date.now()), records });
    this.queuedRecords += records;
    return true;
  }

  /** Seals every open batch that fits; what does not fit is dropped and counted. */
  sealAll(): void {
    for (let l = 0; l < this.writers.length; l++) {
      if (!this.seal(l)) {
        this.dropped += this.writers[l]!.recordCount;
        this.writers[l]!.reset();
      }
    }
  }

  /** Removes the oldest queued batch after it was sent, or discarded as `unsubscribed`/`dropped`. */
  shift(outcome: 'sent' | 'unsubscribed' | 'dropped'): void {
    const b = this.queue.shift();
    if (!b) return;
    this.queuedRecords -= b.records;
    this[outcome] += b.records;
  }

  stats(): ClientStats {
    return { sent: this.sent, dropped: this.dropped, invalid: this.invalid, buffered: this.bufferedRecords, unsubscribed: this.unsubscribed };
  }
}
