import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { crc32, crc32Portable } from '../../src/backend/wal/crc32.ts';
import { decodeMessagePayload, WAL_HEADER_BYTES, WalRecordType, WriteAheadLog } from '../../src/backend/wal/wal.ts';

const dirs: string[] = [];
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'zibrato-wal-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Appends each message (one frame of the given bytes) to a fresh log and closes it. */
function writeLog(dir: string, messages: Buffer[], maxBytes?: number): WriteAheadLog {
  const wal = new WriteAheadLog({ dir, maxBytes });
  wal.open(() => undefined);
  for (const m of messages) wal.appendMessage([m]);
  wal.close();
  return wal;
}

/** The messages (first frames) and the log's stats after opening `dir` again. */
function replay(dir: string): { messages: string[]; wal: WriteAheadLog } {
  const messages: string[] = [];
  const wal = new WriteAheadLog({ dir });
  wal.open((type, payload) => {
    if (type === WalRecordType.message) messages.push(decodeMessagePayload(payload)![0]!.toString());
  });
  wal.close();
  return { messages, wal };
}

function onlySegment(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.wal')).sort();
  return join(dir, files[files.length - 1]!);
}

describe('write-ahead log', () => {
  test('the CRC-32 is the standard one (native and portable agree)', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => crc32(b) === crc32Portable(b, 0, b.length)));
  });

  test('every appended message is replayed in order when the log is opened again', () => {
    const dir = scratch();
    writeLog(dir, ['a', 'bb', 'ccc'].map((s) => Buffer.from(s)));
    const r = replay(dir);
    assert.deepEqual(r.messages, ['a', 'bb', 'ccc']);
    assert.equal(r.wal.stats.corruptRecords, 0);
  });

  test('a torn tail loses only the torn record, counted as one corrupt stretch', () => {
    const dir = scratch();
    writeLog(dir, ['one', 'two', 'three'].map((s) => Buffer.from(s)));
    const path = onlySegment(dir);
    truncateSync(path, readFileSync(path).length - 2);
    const r = replay(dir);
    assert.deepEqual(r.messages, ['one', 'two']);
    assert.equal(r.wal.stats.corruptRecords, 1);
  });

  test('a corrupt record in the middle is skipped and every record after it is recovered', () => {
    const dir = scratch();
    writeLog(dir, ['first', 'second', 'third'].map((s) => Buffer.from(s)));
    const path = onlySegment(dir);
    const data = readFileSync(path);
    // The second message's payload: flip one byte of "second".
    const at = data.indexOf('second');
    data[at] = data[at]! ^ 0xff;
    writeFileSync(path, data);
    const r = replay(dir);
    assert.deepEqual(r.messages, ['first', 'third']);
    assert.equal(r.wal.stats.corruptRecords, 1);
  });

  test('past its bound the log refuses messages and counts them', () => {
    const dir = scratch();
    const wal = writeLog(dir, Array.from({ length: 100 }, () => Buffer.alloc(100)), 2048);
    assert.ok(wal.stats.bytes <= 2048);
    assert.equal(wal.stats.appended + wal.stats.dropped, 100);
    assert.ok(wal.stats.dropped > 0);
  });

  test('release after a rotation deletes the closed segments and keeps the new one', () => {
    const dir = scratch();
    const wal = new WriteAheadLog({ dir });
    wal.open(() => undefined);
    wal.appendMessage([Buffer.from('flushed')]);
    const closed = wal.rotate(Buffer.from('[]'));
    wal.appendMessage([Buffer.from('pending')]);
    wal.release(closed);
    wal.close();
    assert.equal(readdirSync(dir).length, 1);
    assert.deepEqual(replay(dir).messages, ['pending']);
  });

  test('the checkpoint that starts a segment is fsynced as it is written, before the segments it supersedes can be released', () => {
    const dir = scratch();
    // A sync interval far past the test: only the rotation itself may fsync.
    const wal = new WriteAheadLog({ dir, syncIntervalMs: 3_600_000 });
    wal.open(() => undefined);
    wal.appendMessage([Buffer.from('flushed')]);
    const before = wal.stats.fsyncs;
    wal.rotate(Buffer.from('[]'));
    // One for the closed segment, one for the new segment's checkpoint (not left to the next tick).
    assert.equal(wal.stats.fsyncs, before + 2);
    wal.close();
  });

  test('whatever bytes are damaged, every record they do not touch is recovered (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 20 }), fc.nat(), fc.nat({ max: 30 }), (texts, rawAt, span) => {
        const dir = scratch();
        const messages = texts.map((t, i) => `${i}:${t}`);
        writeLog(dir, messages.map((m) => Buffer.from(m)));
        const path = onlySegment(dir);
        const data = readFileSync(path);
        const at = rawAt % data.length;
        const end = Math.min(data.length, at + span + 1);
        for (let i = at; i < end; i++) data[i] = (data[i]! + 1) & 0xff;
        writeFileSync(path, data);
        // Where each record lies in the file (each starts with its header; the log has one checkpoint-free segment).
        const untouched: string[] = [];
        let pos = 0;
        for (const m of messages) {
          const len = WAL_HEADER_BYTES + 1 + 1 + 4 + Buffer.byteLength(m);
          if (pos + len <= at || pos >= end) untouched.push(m);
          pos += len;
        }
        const got = replay(dir).messages;
        for (const m of untouched) assert.ok(got.includes(m), `${m} lost`);
        // And nothing damaged is replayed as if it were a record.
        for (const m of got) assert.ok(messages.includes(m), `replayed ${JSON.stringify(m)}, which was never written`);
        rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns: 150 },
    );
  });
});
