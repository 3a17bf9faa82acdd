import { HEADER_BYTES, MAX_SERIES_PER_BATCH, RECORD_BYTES, WIRE_VERSION } from './constants.js';

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

  constructor(recordBufferBytes = 64 * 1024, tableBufferBytes = 16 * 1024) {
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
    if (this.seriesCount >= MAX_SERIES_PER_BATCH) return -1;
    if (this.tableBytes + encoded.length > this.table.length) {
      if (this.recordCount > 0) return -1;
      // An empty batch must always accept a series: grow the table once.
      const bigger = new Uint8Array(Math.max(this.table.length * 2, encoded.length + this.tableBytes));
      bigger.set(this.table.subarray(0, this.tableBytes));
      this.table = bigger;
    }
    this.table.set(encoded, this.tableBytes);
    this.tableBytes += encoded.length;
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

  /** Copies the batch into one frame and starts a new, empty batch. */
  seal(sentAtMs: number): Buffer {
    const frame = Buffer.allocUnsafe(HEADER_BYTES + this.tableBytes + this.recordBytes);
    frame[0] = WIRE_VERSION;
    frame[1] = 0;
    frame.writeUInt16LE(this.seriesCount, 2);
    frame.writeUInt32LE(this.recordCount, 4);
    frame.writeDoubleLE(sentAtMs, 8);
    frame.set(this.table.subarray(0, this.tableBytes), HEADER_BYTES);
    frame.set(this.records.subarray(0, this.recordBytes), HEADER_BYTES + this.tableBytes);
    this.reset();
    return frame;
  }

  /** Discards the current batch. */
  reset(): void {
    this.tableBytes = 0;
    this.recordBytes = 0;
    this.seriesCount = 0;
    this.recordCount = 0;
    this.epoch++;
  }
}
