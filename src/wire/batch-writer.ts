import { randomFillSync } from 'node:crypto';
import { HEADER_BYTES, HEADER_BYTES_V1, MAX_SERIES_PER_BATCH, PUBLISHER_ID_BYTES, PUBLISHER_ID_OFFSET, RECORD_BYTES, SEQUENCE_OFFSET, SERIES_FLAG_DESCRIBED, WIRE_VERSION, WIRE_VERSION_1, WIRE_VERSION_DESCRIBED } from './constants.js';

/** A fresh random publisher id (8 bytes): one per process start, so a restart is told apart from a loss. */
export function newPublisherId(): Buffer {
  return randomFillSync(Buffer.alloc(PUBLISHER_ID_BYTES));
}

/**
 * Writes the sequence (records the publisher sent on this topic before this
 * batch) into a sealed version 2 frame. The transport stamps it just before the
 * send, so batches discarded by the client never open a gap at the receivers.
 */
export function stampSequence(frame: Buffer, sequence: number): void {
  // Two u32 halves: exact for every sequence up to 2^53 without a BigInt.
  frame.writeUInt32LE(sequence % 0x1_0000_0000, SEQUENCE_OFFSET);
  frame.writeUInt32LE(Math.floor(sequence / 0x1_0000_0000), SEQUENCE_OFFSET + 4);
}

/**
 * Accumulates records for one level into a native batch (docs/wire-format.md).
 *
 * The series table and the records grow in two preallocated buffers so that
 * appending a record is two DataView stores. A series is copied into the table
 * the first time it is used in the current batch; callers remember the slot it
 * got together with {@link epoch}, which changes whenever the batch is sealed.
 */
export class BatchWriter {
  /** Changes on every seal; a cached series slot is valid only for the same epoch. */
  epoch = 1;
  seriesCount = 0;
  recordCount = 0;
  private table: Uint8Array;
  private tableBytes = 0;
  private readonly records: Uint8Array;
  private readonly recordView: DataView;
  private recordBytes = 0;
  private readonly recordCapacity: number;
  /** A described series (flag bit 1) is in this batch's table: it is sealed as version 3. */
  private described = false;

  /**
   * `publisherId` (8 bytes) goes into every version 2 header; `version` 1
   * writes the old 16-byte header (kept for the version 1 test vectors).
   */
  constructor(
    recordBufferBytes = 64 * 1024,
    tableBufferBytes = 16 * 1024,
    private readonly publisherId: Uint8Array = new Uint8Array(PUBLISHER_ID_BYTES),
    private readonly version: 1 | 2 = WIRE_VERSION,
    /**
     * How far the series table may grow while the batch holds records (default:
     * it does not grow, a full table seals the batch). The client lets it grow to
     * its batch size: with many series per batch (a tag per user), a 16 KiB
     * table filled after ~300 series and sealed a batch whose records used a few
     * KiB, so each batch cost a seal and a send for little.
     */
    private readonly maxTableBytes = tableBufferBytes,
  ) {
    this.records = new Uint8Array(recordBufferBytes);
    this.recordView = new DataView(this.records.buffer);
    this.recordCapacity = recordBufferBytes - RECORD_BYTES;
    this.table = new Uint8Array(tableBufferBytes);
  }

  /** True when no record is waiting. */
  get isEmpty(): boolean {
    return this.recordCount === 0;
  }

  /** True when one more record would not fit. */
  get isFull(): boolean {
    return this.recordBytes > this.recordCapacity;
  }

  /**
   * Adds a pre-encoded series entry and returns its slot, or -1 when the table
   * is full (the caller seals and retries).
   */
  addSeries(encoded: Uint8Array): number {
    const at = this.reserve(encoded.length);
    if (at < 0) return -1;
    this.table.set(encoded, at);
    return this.added(at);
  }

  /**
   * Adds the series entry `prefix`, `value` (its length byte, then its
   * characters), `suffix` (from `encodeSeriesTemplate`) and returns its slot,
   * or -1 when the table is full. `value` must be ASCII, at most 255
   * characters, so its characters are its UTF-8 bytes: the caller checks. No
   * array is made for the entry: this runs for a new tag value in every batch.
   */
  addSeriesWithValue(prefix: Uint8Array, value: string, suffix: Uint8Array): number {
    const at = this.reserve(prefix.length + 1 + value.length + suffix.length);
    if (at < 0) return -1;
    const t = this.table;
    // `set` for the halves (a byte loop measured slower even at 34 bytes); the
    // value's few characters are stored one by one, as no array holds them.
    t.set(prefix, at);
    let o = at + prefix.length;
    t[o++] = value.length;
    for (let i = 0; i < value.length; i++) t[o++] = value.charCodeAt(i);
    if (suffix.length !== 0) t.set(suffix, o);
    return this.added(at);
  }

  /** Room for a series entry of `bytes` bytes: the table offset to write it at, or -1 when the batch must be sealed first. */
  private reserve(bytes: number): number {
    if (this.seriesCount >= MAX_SERIES_PER_BATCH) return -1;
    const at = this.tableBytes;
    const need = at + bytes;
    if (need > this.table.length) {
      if (this.recordCount > 0 && need > this.maxTableBytes) return -1;
      const bigger = new Uint8Array(Math.max(need, Math.min(this.table.length * 2, this.maxTableBytes)));
      bigger.set(this.table.subarray(0, at));
      this.table = bigger;
    }
    this.tableBytes = need;
    return at;
  }

  /** Counts the entry just written at `at` (its flags are its second byte) and returns its slot. */
  private added(at: number): number {
    if ((this.table[at + 1]! & SERIES_FLAG_DESCRIBED) !== 0) this.described = true;
    return this.seriesCount++;
  }

  /** Appends one record. The caller checks {@link isFull} first. */
  append(slot: number, value: number): void {
    const off = this.recordBytes;
    this.recordView.setUint16(off, slot, true);
    this.recordView.setFloat64(off + 2, value, true);
    this.recordBytes = off + RECORD_BYTES;
    this.recordCount++;
  }

  /** Copies the batch into one frame (sequence 0 until {@link stampSequence}) and starts a new, empty batch. */
  seal(sentAtMs: number): Buffer {
    const header = this.version === WIRE_VERSION_1 ? HEADER_BYTES_V1 : HEADER_BYTES;
    const frame = Buffer.allocUnsafe(header + this.tableBytes + this.recordBytes);
    frame[0] = this.version === WIRE_VERSION && this.described ? WIRE_VERSION_DESCRIBED : this.version;
    frame[1] = 0;
    frame.writeUInt16LE(this.seriesCount, 2);
    frame.writeUInt32LE(this.recordCount, 4);
    frame.writeDoubleLE(sentAtMs, 8);
    if (header === HEADER_BYTES) {
      frame.set(this.publisherId, PUBLISHER_ID_OFFSET);
      frame.fill(0, SEQUENCE_OFFSET, HEADER_BYTES);
    }
    frame.set(this.table.subarray(0, this.tableBytes), header);
    frame.set(this.records.subarray(0, this.recordBytes), header + this.tableBytes);
    this.reset();
    return frame;
  }

  /** Discards the current batch. */
  reset(): void {
    this.tableBytes = 0;
    this.recordBytes = 0;
    this.seriesCount = 0;
    this.recordCount = 0;
    this.described = false;
    this.epoch++;
  }
}
