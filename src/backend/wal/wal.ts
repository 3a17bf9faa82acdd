import { closeSync, fdatasyncSync, openSync, readdirSync, readFileSync, rmSync, statSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirsSync } from '../../make-dirs.js';
import { InvalidOptionError } from '../../errors.js';
import { crc32 } from './crc32.js';

/**
 * The on-disk layout (docs/delivery.md, "Write-ahead log"). A log is a
 * directory of segments `<12-digit number>.wal`, each a run of records:
 *
 * ```
 * magic   u32 LE  0x4C41575A ("ZWAL")
 * length  u32 LE  bytes of type + payload
 * crc32   u32 LE  CRC-32 of type + payload
 * type    u8      1 = a received message, 2 = a checkpoint of the receiver's sequence state
 * payload
 * ```
 *
 * The magic lets a reader find the next record after a corrupt one, so one bad
 * record costs only itself; the CRC makes a torn or overwritten record fail
 * instead of being aggregated wrong.
 */
export const WAL_MAGIC = 0x4c41575a;
export const WAL_HEADER_BYTES = 12;
export const WalRecordType = { message: 1, checkpoint: 2 } as const;
export type WalRecordType = (typeof WalRecordType)[keyof typeof WalRecordType];

/**
 * How often the log is fsynced at most: Vector's disk buffer uses the same
 * 500 ms. Every record is written to the OS as it arrives, so a SIGKILL of
 * the process loses nothing written; a machine crash loses at most this much.
 */
export const DEFAULT_WAL_SYNC_INTERVAL_MS = 500;
/** Default bound on the bytes the log holds; past it records are aggregated but not logged (counted). */
export const DEFAULT_WAL_MAX_BYTES = 256 * 1024 * 1024;

/** Options of a {@link WriteAheadLog}. */
export interface WalOptions {
  /** Directory of this log's segments (one directory per backend). */
  dir: string;
  /** Default {@link DEFAULT_WAL_MAX_BYTES}. */
  maxBytes?: number;
  /** Default {@link DEFAULT_WAL_SYNC_INTERVAL_MS}. */
  syncIntervalMs?: number;
}

/** Counts a write-ahead log keeps. */
export interface WalStats {
  /** Bytes in the log's segments now. */
  bytes: number;
  /** The bound on `bytes`. */
  maxBytes: number;
  /** Messages appended. */
  appended: number;
  /** Messages not logged because the log was at its bound or a write failed (disk full); their records are counted by the receiver. */
  dropped: number;
  /** Write failures (ENOSPC, EIO, …). */
  writeErrors: number;
  fsyncs: number;
  /** Messages recovered at start. */
  replayed: number;
  /** Records skipped at start because their checksum or framing was wrong (a torn tail counts as one). */
  corruptRecords: number;
  /** Bytes skipped at start with them. */
  corruptBytes: number;
}

function segmentName(n: number): string {
  return `${String(n).padStart(12, '0')}.wal`;
}

const SEGMENT_RE = /^(\d{12})\.wal$/;

/** The segment numbers in a log directory, oldest first. */
function segmentNumbers(dir: string): number[] {
  return readdirSync(dir)
    .map((f) => SEGMENT_RE.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/**
 * Calls `onRecord` for every valid record of one segment's bytes. Where a
 * record fails (bad magic, length or checksum) the reader moves on a byte at a
 * time to the next valid record; each such stretch is counted once.
 */
function scanSegment(data: Buffer, onRecord: (type: number, payload: Buffer) => void): { corruptRecords: number; corruptBytes: number } {
  const out = { corruptRecords: 0, corruptBytes: 0 };
  let pos = 0;
  let badFrom = -1;
  const endBad = (at: number) => {
    if (badFrom < 0) return;
    out.corruptRecords++;
    out.corruptBytes += at - badFrom;
    badFrom = -1;
  };
  while (pos < data.length) {
    if (pos + WAL_HEADER_BYTES + 1 <= data.length && data.readUInt32LE(pos) === WAL_MAGIC) {
      const length = data.readUInt32LE(pos + 4);
      const end = pos + WAL_HEADER_BYTES + length;
      if (length >= 1 && end <= data.length && crc32(data, pos + WAL_HEADER_BYTES, end) === data.readUInt32LE(pos + 8)) {
        endBad(pos);
        onRecord(data[pos + WAL_HEADER_BYTES]!, data.subarray(pos + WAL_HEADER_BYTES + 1, end));
        pos = end;
        continue;
      }
    }
    if (badFrom < 0) badFrom = pos;
    pos++;
  }
  endBad(data.length);
  return out;
}

/**
 * A write-ahead log of received messages, appended per message, fsynced at
 * most every `syncIntervalMs`, rotated at each flush and released once the
 * flush reached the sink. It never throws on the receive path: a failed or
 * refused append is counted and the caller counts its records.
 */
export class WriteAheadLog {
  readonly dir: string;
  readonly maxBytes: number;
  readonly syncIntervalMs: number;
  readonly stats: WalStats;
  private fd: number | undefined;
  private segment = 0;
  /** Bytes per retained segment, oldest first. */
  private readonly sizes = new Map<number, number>();
  private dirty = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly header = Buffer.alloc(WAL_HEADER_BYTES + 1);
  private readonly frameHeader = Buffer.alloc(5);

  constructor(options: WalOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes ?? DEFAULT_WAL_MAX_BYTES;
    if (!Number.isSafeInteger(this.maxBytes) || this.maxBytes < 1024) throw new InvalidOptionError(`write-ahead log max bytes must be an integer ≥ 1024, got ${String(options.maxBytes)}`);
    this.syncIntervalMs = options.syncIntervalMs ?? DEFAULT_WAL_SYNC_INTERVAL_MS;
    if (!(this.syncIntervalMs >= 1)) throw new InvalidOptionError(`write-ahead log sync interval must be ≥ 1 ms, got ${String(options.syncIntervalMs)}`);
    this.stats = { bytes: 0, maxBytes: this.maxBytes, appended: 0, dropped: 0, writeErrors: 0, fsyncs: 0, replayed: 0, corruptRecords: 0, corruptBytes: 0 };
  }

  /**
   * Reads every record of the existing segments, oldest first, calling
   * `onRecord` for each valid one; skips (and counts) what fails its checksum.
   * Then opens a new segment for appends. The replayed segments stay until
   * the first {@link release} after a successful flush.
   */
  open(onRecord: (type: number, payload: Buffer) => void): void {
    makeDirsSync(this.dir, 0o700);
    for (const n of segmentNumbers(this.dir)) {
      const path = join(this.dir, segmentName(n));
      const data = readFileSync(path);
      this.sizes.set(n, data.length);
      this.stats.bytes += data.length;
      this.scan(data, onRecord);
      this.segment = n;
    }
    this.openSegment(this.segment + 1);
    this.syncTimer = setInterval(() => this.sync(), this.syncIntervalMs);
    this.syncTimer.unref();
  }

  /** Calls `onRecord` for every valid record of one segment's bytes; counts the invalid stretches. */
  private scan(data: Buffer, onRecord: (type: number, payload: Buffer) => void): void {
    const bad = scanSegment(data, (type, payload) => {
      if (type === WalRecordType.message) this.stats.replayed++;
      onRecord(type, payload);
    });
    this.stats.corruptRecords += bad.corruptRecords;
    this.stats.corruptBytes += bad.corruptBytes;
  }

  /**
   * Reads a log directory without opening it for appends (tools and tests
   * looking at a live backend's log): every valid record of every segment,
   * oldest first.
   */
  static read(dir: string, onRecord: (type: number, payload: Buffer) => void): { corruptRecords: number; corruptBytes: number } {
    const total = { corruptRecords: 0, corruptBytes: 0 };
    for (const n of segmentNumbers(dir)) {
      let data: Buffer;
      try {
        data = readFileSync(join(dir, segmentName(n)));
      } catch {
        continue; // released meanwhile
      }
      const bad = scanSegment(data, onRecord);
      total.corruptRecords += bad.corruptRecords;
      total.corruptBytes += bad.corruptBytes;
    }
    return total;
  }

  private openSegment(n: number): void {
    this.segment = n;
    // 'a': appends only; 'x' is not needed, the number is past every existing one.
    this.fd = openSync(join(this.dir, segmentName(n)), 'a', 0o600);
    this.sizes.set(n, 0);
  }

  /** Appends one record; false when refused at the bound or a write fails (a failure is counted in `writeErrors`). */
  private write(type: WalRecordType, parts: Buffer[], payloadBytes: number): boolean {
    const total = WAL_HEADER_BYTES + 1 + payloadBytes;
    if (this.fd === undefined || this.stats.bytes + total > this.maxBytes) return false;
    const h = this.header;
    h[WAL_HEADER_BYTES] = type;
    let c = crc32(h, WAL_HEADER_BYTES, WAL_HEADER_BYTES + 1);
    for (const p of parts) c = crc32(p, 0, p.length, c);
    h.writeUInt32LE(WAL_MAGIC, 0);
    h.writeUInt32LE(1 + payloadBytes, 4);
    h.writeUInt32LE(c, 8);
    let written = 0;
    try {
      // One writev per record; a short write is retried with what is left.
      const bufs = [h, ...parts];
      for (;;) {
        const n = writevSync(this.fd, bufs);
        written += n;
        if (written >= total) break;
        let skip = n;
        while (skip > 0 && bufs.length > 0) {
          const b = bufs[0]!;
          if (b.length <= skip) {
            skip -= b.length;
            bufs.shift();
          } else {
            bufs[0] = b.subarray(skip);
            skip = 0;
          }
        }
      }
    } catch {
      // Disk full or an I/O error: whatever part was written is skipped as corrupt on replay.
      this.stats.writeErrors++;
      this.addBytes(written);
      return false;
    }
    this.addBytes(total);
    this.dirty = true;
    return true;
  }

  private addBytes(n: number): void {
    this.stats.bytes += n;
    this.sizes.set(this.segment, (this.sizes.get(this.segment) ?? 0) + n);
  }

  /**
   * Checkpoints not yet written (a full disk): written before the next message,
   * because a message logged without the sequence state before it would make
   * the records missing in between look like a new publisher's start instead
   * of a gap.
   */
  private pendingCheckpoints: Buffer[] = [];

  private writePending(): boolean {
    while (this.pendingCheckpoints.length > 0) {
      const c = this.pendingCheckpoints[0]!;
      if (!this.write(WalRecordType.checkpoint, [c], c.length)) return false;
      this.pendingCheckpoints.shift();
    }
    return true;
  }

  /** Logs one received message (its frames); false when it could not be logged. */
  appendMessage(frames: readonly Buffer[]): boolean {
    if (this.pendingCheckpoints.length > 0 && !this.writePending()) {
      this.stats.dropped++;
      return false;
    }
    let bytes = 1;
    const parts: Buffer[] = [Buffer.of(frames.length)];
    for (const f of frames) {
      const fh = Buffer.allocUnsafe(4);
      fh.writeUInt32LE(f.length, 0);
      parts.push(fh, f);
      bytes += 4 + f.length;
    }
    const ok = this.write(WalRecordType.message, parts, bytes);
    if (ok) this.stats.appended++;
    else this.stats.dropped++;
    return ok;
  }

  /**
   * Logs sequence state (see `Receiver.snapshotStreams`); kept and retried
   * before the next message when it cannot be written now. Fsynced as it is
   * written, not at the next sync tick: once the sink has taken a flush the
   * segments before the rotation's checkpoint are deleted, and the checkpoint
   * is then the only record of where each publisher was. A machine crash that
   * lost or tore it would make the restarted backend take the next batch for a
   * new publisher's first, and the records in flight at the crash would be
   * lost without a count. The cost: one fdatasync per flush and per new publisher.
   */
  appendCheckpoint(state: Buffer): void {
    this.pendingCheckpoints.push(state);
    if (this.writePending()) this.sync();
  }

  /**
   * Closes the current segment (fsynced) and starts the next with a
   * checkpoint. Returns the number of the last closed segment, to pass to
   * {@link release} once the flush that rotated has reached the sink.
   */
  rotate(checkpoint: Buffer): number {
    const closed = this.segment;
    if (this.fd !== undefined) {
      this.sync();
      closeSync(this.fd);
      this.fd = undefined;
    }
    try {
      this.openSegment(closed + 1);
    } catch {
      this.stats.writeErrors++;
      return closed;
    }
    // A full snapshot supersedes every checkpoint still waiting to be written.
    this.pendingCheckpoints = [];
    this.appendCheckpoint(checkpoint);
    return closed;
  }

  /** Deletes every segment up to `upTo`: their records reached the sink. */
  release(upTo: number): void {
    for (const [n, size] of this.sizes) {
      if (n > upTo || n === this.segment) continue;
      try {
        rmSync(join(this.dir, segmentName(n)), { force: true });
      } catch {
        continue;
      }
      this.sizes.delete(n);
      this.stats.bytes -= size;
    }
  }

  /** fsyncs the current segment if anything was written since the last time. */
  sync(): void {
    if (!this.dirty || this.fd === undefined) return;
    this.dirty = false;
    try {
      fdatasyncSync(this.fd);
      this.stats.fsyncs++;
    } catch {
      this.stats.writeErrors++;
    }
  }

  /** fsyncs and closes; the segments stay for the next start. */
  close(): void {
    clearInterval(this.syncTimer);
    if (this.fd === undefined) return;
    this.sync();
    closeSync(this.fd);
    this.fd = undefined;
  }

  /** Bytes on disk of the retained segments (for tests). */
  diskBytes(): number {
    let n = 0;
    for (const s of this.sizes.keys()) {
      try {
        n += statSync(join(this.dir, segmentName(s))).size;
      } catch {
        // released meanwhile
      }
    }
    return n;
  }
}

/** Splits a message record's payload back into its frames; undefined when malformed. */
export function decodeMessagePayload(payload: Buffer): Buffer[] | undefined {
  if (payload.length < 1) return undefined;
  const count = payload[0]!;
  const frames: Buffer[] = [];
  let pos = 1;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > payload.length) return undefined;
    const len = payload.readUInt32LE(pos);
    pos += 4;
    if (pos + len > payload.length) return undefined;
    frames.push(payload.subarray(pos, pos + len));
    pos += len;
  }
  return pos === payload.length ? frames : undefined;
}
