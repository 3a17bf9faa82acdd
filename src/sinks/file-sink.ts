import { rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { makePrivateDir, openPrivateFile } from '../security/files.js';
import { dirname } from 'node:path';
import { RateLimitedLog } from '../diagnostics.js';
import { ZibratoError } from '../errors.js';
import type { FlushBatch, MetricPoint, Sink, SinkStatus } from './sink.js';
import type { SinkSpec } from './registry.js';
import { DEFAULT_FILE_SINK_PATH } from '../defaults.js';

/**
 * The JSON Lines row for one point: exactly the fields documented in
 * docs/file-format.md, in a stable order.
 */
export function fileRow(p: MetricPoint, timeMs: number, intervalMs: number): Record<string, unknown> {
  const base = { time: timeMs, interval_ms: intervalMs, type: p.type, name: p.name, source: p.source, tags: p.tags };
  switch (p.type) {
    case 'counter':
      return { ...base, value: p.value, rate: p.rate };
    case 'gauge':
    case 'set':
      return { ...base, value: p.value };
    case 'timer':
      return { ...base, count: p.count, sum: p.sum, min: p.min, max: p.max, mean: p.mean, stddev: p.stddev, p50: p.p50, p90: p.p90, p95: p.p95, p99: p.p99 };
  }
}

/** Rotation defaults (docs/file-format.md, README): bounded disk use without an external logrotate. */
export const FILE_SINK_DEFAULTS = {
  /** Rotate before a flush would take the file past this size. 100 MiB. */
  maxBytes: 100 * 1024 * 1024,
  /** Rotate a file older than this (since this sink created it). One day. */
  maxAgeMs: 86_400_000,
  /** Rotated files kept beside the live one (`FILE.1` newest … `FILE.N`); older ones are deleted. */
  keep: 7,
} as const;

/** Options of a {@link FileSink}. */
export interface FileSinkOptions {
  path: string;
  /** 0 turns size rotation off. */
  maxBytes?: number;
  /** 0 turns age rotation off. */
  maxAgeMs?: number;
  keep?: number;
  log?: (message: string) => void;
  /** Clock, injectable for tests of age rotation. */
  now?: () => number;
}

/** The file status a {@link FileSink} adds to {@link SinkStatus}. */
export interface FileSinkStatus extends SinkStatus {
  /** Times the file was found deleted or replaced (e.g. by logrotate) and reopened. */
  reopened: number;
  /** Rotations this sink made itself. */
  rotated: number;
  /** Bytes on disk now: the file and the rotated files it keeps. */
  keptBytes: number;
  /** The most it keeps on disk, `(keep + 1) × maxBytes`; null when it does not rotate by size. */
  maxKeptBytes: number | null;
}


/**
 * Appends one JSON object per series per flush to a file (JSON Lines).
 *
 * - Each flush is written with one write of whole lines. A short write (disk
 *   full) is cut back to its last complete line, so no torn line is ever left
 *   for the next row to be glued onto; the rows not written are counted as
 *   dropped and logged.
 * - Before each flush the path is checked against the open file: a file
 *   deleted or moved away (by a user or logrotate) is reopened, and counted.
 * - It rotates by size and age itself, keeping `keep` old files.
 */
export class FileSink implements Sink {
  readonly name = 'file';
  readonly path: string;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly keep: number;
  private readonly log: RateLimitedLog;
  private readonly now: () => number;
  private handle: FileHandle | undefined;
  private ino = 0;
  private dev = 0;
  private size = 0;
  private createdMs = 0;
  private sent = 0;
  private failed = 0;
  private dropped = 0;
  private reopened = 0;
  private rotated = 0;
  private lastError: string | undefined;

  constructor(options: FileSinkOptions | string) {
    const o = typeof options === 'string' ? { path: options } : options;
    this.path = o.path;
    this.maxBytes = o.maxBytes ?? FILE_SINK_DEFAULTS.maxBytes;
    this.maxAgeMs = o.maxAgeMs ?? FILE_SINK_DEFAULTS.maxAgeMs;
    this.keep = Math.max(0, Math.floor(o.keep ?? FILE_SINK_DEFAULTS.keep));
    this.log = new RateLimitedLog(o.log ?? (() => undefined));
    this.now = o.now ?? Date.now;
  }

  async start(): Promise<void> {
    try {
      await this.openFile();
    } catch (err) {
      throw new ZibratoError('ZIB_ERR_SINK_FAILED', `file: cannot open ${this.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  }

  private async openFile(): Promise<void> {
    // Metrics can reveal business data: a directory we create is 0700, the file 0600, and a
    // symlink planted at the path must not redirect our writes (src/security/files.ts).
    await makePrivateDir(dirname(this.path));
    const handle = await openPrivateFile(this.path, 'append');
    const st = await handle.stat();
    this.handle = handle;
    this.ino = st.ino;
    this.dev = st.dev;
    this.size = st.size;
    // A file we did not create ages from its birth (or last change where birth is unknown).
    this.createdMs = st.size === 0 ? this.now() : st.birthtimeMs || st.mtimeMs;
  }

  private async closeFile(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close().catch(() => undefined);
  }

  /** Reopens when the path no longer names the open file (deleted, moved, replaced). */
  private async checkIdentity(): Promise<void> {
    if (!this.handle) return this.openFile();
    let reason: string | undefined;
    try {
      const st = await stat(this.path);
      if (st.ino !== this.ino || st.dev !== this.dev) reason = 'was replaced';
    } catch (err) {
      reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'was deleted or moved' : `cannot be checked (${(err as Error).message})`;
    }
    if (reason === undefined) return;
    this.reopened++;
    this.log.report('ZIB_FILE_REOPENED', `file: ${this.path} ${reason}; reopening it`);
    await this.closeFile();
    await this.openFile();
  }

  private async rotateIfDue(nextBytes: number): Promise<void> {
    const bySize = this.maxBytes > 0 && this.size > 0 && this.size + nextBytes > this.maxBytes;
    const byAge = this.maxAgeMs > 0 && this.size > 0 && this.now() - this.createdMs >= this.maxAgeMs;
    if (!bySize && !byAge) return;
    await this.closeFile();
    // Shift FILE.(n-1) → FILE.n, newest first at FILE.1; the oldest falls off.
    if (this.keep === 0) await unlink(this.path).catch(() => undefined);
    else {
      await unlink(`${this.path}.${this.keep}`).catch(() => undefined);
      for (let n = this.keep - 1; n >= 1; n--) await rename(`${this.path}.${n}`, `${this.path}.${n + 1}`).catch(() => undefined);
      // Gone already (deleted or rotated by someone else): nothing to keep, start the new file.
      await rename(this.path, `${this.path}.1`).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    this.rotated++;
    await this.openFile();
  }

  async export(batch: FlushBatch): Promise<void> {
    if (batch.points.length === 0) return;
    let text = '';
    for (const p of batch.points) text += JSON.stringify(fileRow(p, batch.timeMs, batch.intervalMs)) + '\n';
    const buf = Buffer.from(text);
    const rows = batch.points.length;
    try {
      await this.checkIdentity();
      await this.rotateIfDue(buf.length);
    } catch (err) {
      this.fail(rows, `cannot open ${this.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      await this.closeFile();
      return;
    }
    const handle = this.handle!;
    const before = this.size;
    let written = 0;
    let error: Error | undefined;
    try {
      written = (await handle.write(buf)).bytesWritten;
    } catch (err) {
      error = err as Error;
    }
    if (written === buf.length) {
      this.size += written;
      this.sent += rows;
      return;
    }
    // Short or failed write: keep only whole lines, so the next flush starts on a fresh line.
    const keepBytes = buf.lastIndexOf(0x0a, written - 1) + 1;
    let rowsKept = 0;
    for (let i = 0; i < keepBytes; i++) if (buf[i] === 0x0a) rowsKept++;
    try {
      await handle.truncate(before + keepBytes);
      this.size = before + keepBytes;
    } catch (err) {
      // Cannot cut back: close, so the next flush reopens and checks; the torn tail is reported.
      await this.closeFile();
      error ??= err as Error;
    }
    this.sent += rowsKept;
    this.fail(rows - rowsKept, `wrote ${rowsKept} of ${rows} rows to ${this.path}: ${(error as NodeJS.ErrnoException | undefined)?.code ?? error?.message ?? 'short write'}`);
  }

  private fail(rows: number, message: string): void {
    this.failed++;
    this.dropped += rows;
    this.lastError = `${message}; ${rows} rows dropped`;
    this.log.report('ZIB_ERR_SINK_FAILED', `file: ${this.lastError}`);
  }

  async stop(): Promise<void> {
    await this.handle?.sync().catch(() => undefined);
    await this.closeFile();
  }

  status(): FileSinkStatus {
    let keptBytes = 0;
    for (let i = 0; i <= this.keep; i++) {
      try {
        keptBytes += statSync(i === 0 ? this.path : `${this.path}.${i}`).size;
      } catch {
        // Not there (yet): nothing kept under that name.
      }
    }
    const maxKeptBytes = this.maxBytes > 0 ? (this.keep + 1) * this.maxBytes : null;
    return { sent: this.sent, failed: this.failed, spooled: 0, dropped: this.dropped, lastError: this.lastError, reopened: this.reopened, rotated: this.rotated, keptBytes, maxKeptBytes };
  }
}

export const fileSinkSpec: SinkSpec = {
  name: 'file',
  description: 'Appends JSON Lines, one object per series per flush (schema: docs/file-format.md); rotates by size and age.',
  options: [
    { key: 'path', type: 'string', default: DEFAULT_FILE_SINK_PATH, description: 'file to append to (directories are created; a symlink is refused)' },
    { key: 'maxBytes', type: 'number', default: FILE_SINK_DEFAULTS.maxBytes, description: 'rotate before the file passes this size (0 = never)' },
    { key: 'maxAgeMs', type: 'number', default: FILE_SINK_DEFAULTS.maxAgeMs, description: 'rotate a file older than this (0 = never)' },
    { key: 'keep', type: 'number', default: FILE_SINK_DEFAULTS.keep, description: 'rotated files kept (FILE.1 newest … FILE.N)' },
  ],
  create: (o, context) =>
    new FileSink({ path: String(o.path), maxBytes: Number(o.maxBytes), maxAgeMs: Number(o.maxAgeMs), keep: Number(o.keep), log: context.log }),
};
