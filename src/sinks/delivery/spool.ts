import { readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { makePrivateDir, openPrivateFile } from '../../security/files.js';
import { join } from 'node:path';
import type { DeliveryPayload } from './transport.js';

/** One payload waiting on disk. */
interface SpoolEntry {
  seq: number;
  file: string;
  bytes: number;
  points: number;
}

/** What {@link DiskSpool.append} had to give up to stay under the cap. */
export interface SpoolAppendResult {
  /** Points in older entries deleted (or the new one refused) to respect the cap. */
  droppedPoints: number;
}

const SUFFIX = '.zspool';
const TMP = '.tmp';
const SEQ_DIGITS = 16;

/**
 * An append-only, size-capped queue of payloads on disk, one immutable file
 * per payload named by a growing sequence number. A file per payload means a
 * crash can never leave a torn record (files are written under a temporary
 * name and renamed), replay is oldest-first by name, and survives a process
 * restart because the index is rebuilt from the directory.
 *
 * File layout: one JSON header line `{"v":1,"points":N}` then the payload bytes.
 */
export class DiskSpool {
  private entries: SpoolEntry[] = [];
  /**
   * Points in spool files that could not be read back (deleted or damaged
   * behind our back). They cannot be delivered: the owner counts them as
   * dropped via {@link DiskSpool.takeLost}.
   */
  private lostPoints = 0;
  /** Files found at open that could not be indexed (header unreadable: their points are unknown). */
  unreadableFiles = 0;
  private totalBytes = 0;
  private nextSeq = 0;
  private opened: Promise<void> | undefined;

  constructor(readonly dir: string, readonly maxBytes: number) {}

  /** Creates the directory and indexes what a previous process left. Idempotent. */
  open(): Promise<void> {
    this.opened ??= this.load();
    return this.opened;
  }

  private async load(): Promise<void> {
    // Spooled payloads are metrics (and may carry credentials in headers): owner only, never through a link.
    await makePrivateDir(this.dir);
    const all = await readdir(this.dir);
    // A temporary file is a write that never completed (a crash between write and rename): never a payload.
    for (const n of all) if (n.endsWith(SUFFIX + TMP)) await unlink(join(this.dir, n)).catch(() => undefined);
    const names = all.filter((n) => n.endsWith(SUFFIX)).sort();
    for (const name of names) {
      const file = join(this.dir, name);
      const seq = Number(name.slice(0, -SUFFIX.length));
      if (!Number.isSafeInteger(seq)) continue;
      try {
        const [bytes, header] = await Promise.all([stat(file).then((s) => s.size), readHeader(file)]);
        this.entries.push({ seq, file, bytes, points: header.points });
        this.totalBytes += bytes;
        this.nextSeq = Math.max(this.nextSeq, seq + 1);
      } catch {
        // An unreadable file cannot be replayed; leave it for a human rather than delete data, and say so.
        this.unreadableFiles++;
      }
    }
  }

  /** Points waiting. */
  get points(): number {
    let n = 0;
    for (const e of this.entries) n += e.points;
    return n;
  }

  get size(): number {
    return this.entries.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /**
   * Adds a payload at the tail. If the spool would pass its cap, the oldest
   * entries (never `busySeq`, the one being replayed) are deleted first.
   */
  async append(payload: DeliveryPayload, busySeq?: number): Promise<SpoolAppendResult> {
    await this.open();
    const header = Buffer.from(JSON.stringify({ v: 1, points: payload.points }) + '\n');
    const bytes = header.length + payload.body.length;
    if (bytes > this.maxBytes) return { droppedPoints: payload.points };
    let droppedPoints = 0;
    while (this.totalBytes + bytes > this.maxBytes) {
      const victim = this.entries.find((e) => e.seq !== busySeq);
      if (!victim) break;
      await this.remove(victim.seq);
      droppedPoints += victim.points;
    }
    const seq = this.nextSeq++;
    const file = join(this.dir, String(seq).padStart(SEQ_DIGITS, '0') + SUFFIX);
    const tmp = file + TMP;
    try {
      const handle = await openPrivateFile(tmp, 'truncate');
      try {
        await handle.writeFile(Buffer.concat([header, payload.body]));
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
    } catch (err) {
      // A failed write (disk full) must not leave a partial temporary file behind.
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    this.entries.push({ seq, file, bytes, points: payload.points });
    this.totalBytes += bytes;
    return { droppedPoints };
  }

  /** The oldest entry, read back; undefined when empty. */
  async peek(): Promise<{ seq: number; payload: DeliveryPayload } | undefined> {
    await this.open();
    while (this.entries.length > 0) {
      const e = this.entries[0]!;
      try {
        const raw = await readFile(e.file);
        const nl = raw.indexOf(0x0a);
        return { seq: e.seq, payload: { points: e.points, body: raw.subarray(nl + 1) } };
      } catch {
        // Evicted by an append while we read it: already counted as dropped there.
        if (!this.entries.includes(e)) continue;
        // Deleted or unreadable behind our back: its points are lost; count them and look at the next one.
        this.lostPoints += e.points;
        this.forget(e.seq);
      }
    }
    return undefined;
  }

  /** Points lost in files that could not be read back since the last call. */
  takeLost(): number {
    const n = this.lostPoints;
    this.lostPoints = 0;
    return n;
  }

  /** Deletes an entry (delivered, rejected or evicted). */
  async remove(seq: number): Promise<void> {
    const e = this.entries.find((x) => x.seq === seq);
    if (!e) return;
    this.forget(seq);
    await unlink(e.file).catch(() => undefined);
  }

  private forget(seq: number): void {
    const i = this.entries.findIndex((x) => x.seq === seq);
    if (i < 0) return;
    this.totalBytes -= this.entries[i]!.bytes;
    this.entries.splice(i, 1);
  }
}

async function readHeader(file: string): Promise<{ points: number }> {
  const raw = await readFile(file);
  const nl = raw.indexOf(0x0a);
  if (nl < 0) throw new Error('no header');
  const header = JSON.parse(raw.subarray(0, nl).toString('utf8')) as { v?: number; points?: number };
  if (header.v !== 1 || typeof header.points !== 'number') throw new Error('bad header');
  return { points: header.points };
}
