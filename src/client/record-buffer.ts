import { LEVELS } from '../levels.js';
import { BatchWriter, newPublisherId } from '../wire/batch-writer.js';
import { decodeBatch, recordSeries, recordValue } from '../wire/batch-decoder.js';
import { encodeSeries } from '../wire/series-encoding.js';
import { seriesShardHash, shardOf } from '../wire/shard.js';
import { shardTopic } from '../wire/topic.js';

/**
 * The open batch of one stream: a level, or one shard of a level
 * (docs/wire-format.md, "Shard topics"). It knows its topic, so a sealed batch
 * goes out on it and takes its sequence from it.
 */
export class StreamWriter extends BatchWriter {
  /** The topic frame: `info|`, or a shard's `info|1/2|`. */
  readonly topic: Buffer;
  /** The topic as a string: the key of this stream's sequence in the transport. */
  readonly stream: string;
  /** `K/N` of a shard topic, empty for a level topic: what the transport looks up among the shard subscriptions. */
  readonly shardKey: string;
  constructor(
    readonly level: number,
    /** 1…`shardCount`; 1 when the level is not sharded. */
    readonly shard: number,
    readonly shardCount: number,
    batchBytes: number,
    publisherId: Uint8Array,
  ) {
    // The series table may grow as large as the records (see BatchWriter's maxTableBytes): the frame stays under 2 × MAX_BATCH_BYTES.
    super(batchBytes, undefined, publisherId, undefined, batchBytes);
    this.topic = shardTopic(level, shard, shardCount);
    this.stream = this.topic.toString('latin1');
    this.shardKey = shardCount === 1 ? '' : `${shard}/${shardCount}`;
  }
}

/** A sealed batch waiting to be sent. */
export interface SealedBatch {
  level: number;
  /** The topic frame (`info|`, or a shard's `info|1/2|`). */
  topic: Buffer;
  /** The topic as a string: one sequence per stream. */
  stream: string;
  /** 1 for a level topic; the shard count for a shard topic. */
  shardCount: number;
  /** `K/N` of a shard topic (empty for a level topic). */
  shardKey: string;
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
  /**
   * Per level, one open batch per shard (one when the level is not sharded),
   * indexed by shard − 1. A shard's batch is made when the first series is
   * assigned to it, so N shards cost memory only for the shards in use.
   */
  readonly writers: (StreamWriter | undefined)[][];
  /** Per level, the shard count records are assigned under (1: unsharded), as the transport chose it from the subscriptions. */
  readonly shardCounts: number[];
  /**
   * Changes whenever a level's shard count changes. A handle compares it only
   * when its batch changed (the epoch test it already makes), and then finds its
   * writer again, so the hot path does not change (docs/delivery.md, "Sharded backends").
   */
  generation = 1;
  readonly queue: SealedBatch[] = [];
  queuedRecords = 0;
  sent = 0;
  dropped = 0;
  invalid = 0;
  unsubscribed = 0;
  /** The batch the transport is handing to the socket now (the head of the queue): never re-split under it. */
  sending: SealedBatch | undefined;
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
    this.batchBytes = batchBytes;
    this.publisherId = publisherId;
    this.shardCounts = LEVELS.map(() => 1);
    this.writers = LEVELS.map((_, level) => [new StreamWriter(level, 1, 1, batchBytes, publisherId)]);
  }

  private readonly batchBytes: number;
  private readonly publisherId: Uint8Array;

  /** The open batch a series with this shard hash writes to at `level` now. */
  writerFor(level: number, shardHash: number): StreamWriter {
    const ws = this.writers[level]!;
    const count = ws.length;
    const index = count === 1 ? 0 : shardOf(shardHash, count);
    return ws[index] ?? (ws[index] = new StreamWriter(level, index + 1, count, this.batchBytes, this.publisherId));
  }

  /**
   * Assigns `level`'s series among `count` shards from now on: seals the open
   * batches of the old count, retires them and bumps {@link generation}, so
   * every handle of the level finds its new writer at its next record. Every
   * batch of the level queued under another count and not being sent (records
   * made before the shard backends were heard of, or not yet sent to the old
   * set of shards) is split again among the new shards, so it reaches the
   * shard that owns each series now. Returns false when the count is already `count`.
   */
  setShardCount(level: number, count: number): boolean {
    if (this.shardCounts[level] === count) return false;
    for (const w of this.writers[level]!) {
      if (w === undefined) continue;
      if (!this.seal(w)) {
        this.dropped += w.recordCount;
      }
      // A retired writer's epoch moves on even when it was empty, so no handle still matches it.
      w.reset();
    }
    this.writers[level] = new Array<StreamWriter | undefined>(count).fill(undefined);
    this.shardCounts[level] = count;
    this.generation++;
    this.resplit(level, count);
    return true;
  }

  /** Moves the level's queued batches of another shard count into the new open batches (order kept per series). */
  private resplit(level: number, count: number): void {
    const stale = this.queue.filter((b) => b.level === level && b.shardCount !== count && b !== this.sending);
    if (stale.length === 0) return;
    const keep = this.queue.filter((b) => !stale.includes(b));
    this.queue.length = 0;
    this.queue.push(...keep);
    for (const b of stale) {
      this.queuedRecords -= b.records;
      const batch = decodeBatch(b.frame);
      const slots = batch.series.map(() => ({ writer: undefined as StreamWriter | undefined, epoch: -1, slot: 0 }));
      const encoded = batch.series.map((ws) => encodeSeries(ws.kind, ws.name, ws.source, ws.tags, ws.sampleRate, ws));
      const writers = batch.series.map((ws) => this.writerFor(level, seriesShardHash(ws.name, ws.source, ws.tags)));
      for (let i = 0; i < batch.recordCount; i++) {
        const s = recordSeries(batch, i);
        const w = writers[s]!;
        const at = slots[s]!;
        if (w.isFull && !this.seal(w)) {
          this.dropped++;
          continue;
        }
        if (at.writer !== w || at.epoch !== w.epoch) {
          let slot = w.addSeries(encoded[s]!);
          if (slot < 0) {
            if (!this.seal(w)) {
              this.dropped++;
              continue;
            }
            slot = w.addSeries(encoded[s]!);
          }
          at.writer = w;
          at.epoch = w.epoch;
          at.slot = slot;
        }
        w.append(at.slot, recordValue(batch, i));
      }
    }
    if (!this.flushPending) this.scheduleFlush();
  }

  /** Records in open batches and in the queue. */
  get bufferedRecords(): number {
    let n = this.queuedRecords;
    for (const ws of this.writers) for (const w of ws) n += w?.recordCount ?? 0;
    return n;
  }

  /**
   * Seals an open batch into the queue. Returns false, leaving the batch
   * open, when the queue is at its bound: the caller then drops and counts.
   */
  seal(w: StreamWriter): boolean {
    if (w.isEmpty) return true;
    if (this.queuedRecords + w.recordCount > this.maxBufferedRecords) return false;
    const records = w.recordCount;
    this.queue.push({ level: w.level, topic: w.topic, stream: w.stream, shardCount: w.shardCount, shardKey: w.shardKey, frame: w.seal(Date.now()), records });
    this.queuedRecords += records;
    return true;
  }

  /** Seals every open batch that fits; what does not fit is dropped and counted. */
  sealAll(): void {
    for (const ws of this.writers) {
      for (const w of ws) {
        if (w !== undefined && !this.seal(w)) {
          this.dropped += w.recordCount;
          w.reset();
        }
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
