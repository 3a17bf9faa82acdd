import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink } from '../../src/sinks/file-sink.ts';
import { DiskSpool } from '../../src/sinks/delivery/spool.ts';
import { MetricStore } from '../../src/store/store.ts';
import { ZibratoError } from '../../src/errors.ts';
import { makePrivateDir, openPrivateFile } from '../../src/security/files.ts';
import { tempStoreDir } from '../helpers/store.ts';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'zibrato-modes-'));
}

const DAY_RETENTION = { raw: 86_400_000, m1: 86_400_000, h1: 86_400_000 };

const isUnsafePath = (e: unknown) => e instanceof ZibratoError && e.code === 'ZIB_ERR_UNSAFE_PATH';

test('a directory the file sink creates is readable by its owner only', async () => {
  const path = join(tempDir(), 'new', 'deeper', 'm.jsonl');
  const sink = new FileSink({ path });
  await sink.start();
  await sink.stop();
  assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
  assert.equal(statSync(join(path, '..', '..')).mode & 0o777, 0o700);
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

test('a spool creates its directory 0700 and its payload files 0600', async () => {
  const dir = join(tempDir(), 'spool');
  const spool = new DiskSpool(dir, 1 << 20);
  await spool.append({ points: 1, body: Buffer.from('payload') });
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const files = readdirSync(dir);
  assert.equal(files.length, 1);
  assert.equal(statSync(join(dir, files[0]!)).mode & 0o777, 0o600);
});

test('a spool whose directory is a symlink is refused', async () => {
  const base = tempDir();
  mkdirSync(join(base, 'elsewhere'));
  symlinkSync(join(base, 'elsewhere'), join(base, 'spool'));
  await assert.rejects(new DiskSpool(join(base, 'spool'), 1 << 20).open(), isUnsafePath);
});

test('a private file is never opened through a symlink, and its target is left untouched', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'victim'), 'keep\n');
  symlinkSync(join(dir, 'victim'), join(dir, 'link'));
  for (const mode of ['append', 'truncate', 'exclusive'] as const) await assert.rejects(openPrivateFile(join(dir, 'link'), mode), (e: unknown) => isUnsafePath(e) || (mode === 'exclusive' && (e as NodeJS.ErrnoException).code === 'EEXIST'));
  assert.equal(readFileSync(join(dir, 'victim'), 'utf8'), 'keep\n');
});

test('a private directory that is a symlink is refused', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'real'));
  symlinkSync(join(dir, 'real'), join(dir, 'link'));
  await assert.rejects(makePrivateDir(join(dir, 'link')), isUnsafePath);
});

test('the store creates its directory 0700 and refuses a database file that is a symlink', async () => {
  const dir = join(tempStoreDir('modes'), 'db');
  const store = await MetricStore.open({ dir, retentionMs: DAY_RETENTION });
  await store.close();
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const linked = tempStoreDir('modes-link');
  writeFileSync(join(linked, 'victim'), '');
  symlinkSync(join(linked, 'victim'), join(linked, 'store.duckdb'));
  await assert.rejects(MetricStore.open({ dir: linked, retentionMs: DAY_RETENTION }), (e: unknown) => e instanceof ZibratoError && /symbolic link/.test(String((e.cause as Error | undefined)?.message ?? e.message)));
  assert.equal(readFileSync(join(linked, 'victim'), 'utf8'), '');
});
