import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSink, fileSinkSpec, type FileSinkOptions } from '../../src/sinks/file-sink.ts';
import { ZibratoError } from '../../src/errors.ts';
import { readRows } from '../helpers/jsonl.ts';
import { mountTinyDisk } from '../helpers/peers/tmpfs.ts';
import { batchAt, counter, makeSink, tempDir } from './fixtures.ts';

/** Every line of a file, each checked to be one whole JSON row. */
function wholeRows(path: string): unknown[] {
  const text = readFileSync(path, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), 'file ends in the middle of a line');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
}

function rowsBatch(n: number, tag: string, padBytes = 0): ReturnType<typeof batchAt> {
  return batchAt(Array.from({ length: n }, (_, i) => counter(`row.${tag}.${i}`, 1, { tags: { pad: 'x'.repeat(padBytes) } })));
}

/**
 * A file sink on `m.jsonl` in a fresh directory (a temporary one, or `disk`),
 * stopped and cleaned up after `body`. The body starts it, so it can watch a start fail.
 */
async function withFileSink(
  options: Omit<FileSinkOptions, 'path'>,
  body: (sink: FileSink, path: string, dir: string) => Promise<void>,
  disk?: { dir: string; unmount: () => void },
): Promise<void> {
  const place = disk ?? (({ dir, remove }) => ({ dir, unmount: remove }))(tempDir('file'));
  const path = join(place.dir, 'm.jsonl');
  const sink = new FileSink({ path, ...options });
  try {
    await body(sink, path, place.dir);
  } finally {
    await sink.stop();
    place.unmount();
  }
}

describe('file sink', () => {
  test('a deleted file is noticed at the next flush and written again, counted as reopened', () =>
    withFileSink({}, async (sink, path) => {
      await sink.start();
      await sink.export(rowsBatch(1, 'a'));
      unlinkSync(path);
      await sink.export(rowsBatch(1, 'b'));
      assert.deepEqual(readRows(path).map((r) => r.name), ['row.b.0']);
      assert.equal(sink.status().reopened, 1);
    }));

  test('a file moved away by an external rotation is left alone and a new one is started at the path', () =>
    withFileSink({}, async (sink, path) => {
      await sink.start();
      await sink.export(rowsBatch(1, 'a'));
      renameSync(path, `${path}.old`);
      await sink.export(rowsBatch(1, 'b'));
      assert.deepEqual(readRows(`${path}.old`).map((r) => r.name), ['row.a.0']);
      assert.deepEqual(readRows(path).map((r) => r.name), ['row.b.0']);
    }));

  test('a symlink at the target path is refused, and its target is not written', () =>
    withFileSink({}, async (sink, path, dir) => {
      const target = join(dir, 'victim');
      writeFileSync(target, 'keep\n');
      symlinkSync(target, path);
      await assert.rejects(sink.start(), (e: unknown) => e instanceof ZibratoError && e.code === 'ZIB_ERR_SINK_FAILED');
      await sink.export(rowsBatch(2, 'a'));
      assert.equal(readFileSync(target, 'utf8'), 'keep\n');
      assert.equal(sink.status().dropped, 2);
    }));

  test('a new file is readable and writable by its owner only', () =>
    withFileSink({}, async (sink, path) => {
      await sink.start();
      assert.equal(statSync(path).mode & 0o777, 0o600);
    }));

  test('on a full disk no line is torn: rows not written are counted as dropped, and the next row starts a fresh line', () =>
    withFileSink(
      {},
      async (sink, path) => {
        await sink.start();
        let made = 0;
        // About 30 KB a flush, so the 64 KiB disk fills within a few flushes (bounded loop).
        for (let i = 0; i < 10 && sink.status().dropped === 0; i++) {
          await sink.export(rowsBatch(100, `f${i}`, 200));
          made += 100;
        }
        const s = sink.status();
        assert.ok(s.dropped > 0, 'the disk never filled');
        assert.equal(s.sent + s.dropped, made);
        assert.equal(wholeRows(path).length, s.sent);
        // Free space: the next flush lands whole, on its own line.
        unlinkSync(path);
        await sink.export(rowsBatch(3, 'after'));
        assert.equal(wholeRows(path).length, 3);
      },
      mountTinyDisk(64 * 1024),
    ));

  test('rotates by size, keeps the configured number of old files, and never splits a line', () =>
    withFileSink({ maxBytes: 2_000, keep: 2 }, async (sink, path) => {
      await sink.start();
      for (let i = 0; i < 12; i++) await sink.export(rowsBatch(5, `f${i}`));
      const files = [path, `${path}.1`, `${path}.2`];
      for (const f of files) assert.ok(statSync(f).size <= 2_000, `${f} is over the limit`);
      assert.equal(existsSync(`${path}.3`), false);
      const names = files.reverse().flatMap((f) => wholeRows(f) as { name: string }[]).map((r) => r.name);
      // The newest rows, in order, whole flushes only.
      assert.equal(names.at(-1), 'row.f11.4');
      assert.equal(names.length % 5, 0);
      assert.ok(sink.status().rotated > 2);
      // The status says how much it keeps: what is on disk now, and the bound.
      assert.equal(sink.status().keptBytes, files.reduce((n, f) => n + statSync(f).size, 0));
      assert.equal(sink.status().maxKeptBytes, 3 * 2_000);
    }));

  test('rotates a file older than maxAgeMs at the next flush', () => {
    const clock = { ms: 1_000_000 };
    return withFileSink({ maxAgeMs: 60_000, keep: 1, now: () => clock.ms }, async (sink, path) => {
      await sink.start();
      await sink.export(rowsBatch(1, 'old'));
      clock.ms += 60_000;
      await sink.export(rowsBatch(1, 'new'));
      assert.deepEqual(readRows(`${path}.1`).map((r) => r.name), ['row.old.0']);
      assert.deepEqual(readRows(path).map((r) => r.name), ['row.new.0']);
    });
  });

  test('the spec builds a file sink', () => {
    assert.ok(makeSink(fileSinkSpec, { path: '/nonexistent/m.jsonl' }) instanceof FileSink);
  });
});
