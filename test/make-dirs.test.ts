import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirs, makeDirsSync } from '../src/make-dirs.ts';
import { BIN, ROOT } from './helpers/processes.ts';

const tempDir = () => mkdtempSync(join(tmpdir(), 'zibrato-dirs-'));
const codeOf = (e: unknown) => (e as NodeJS.ErrnoException).code;

test('makeDirs makes every missing level with the mode and leaves existing ones as they are', async () => {
  const base = tempDir();
  chmodSync(base, 0o755);
  makeDirsSync(join(base, 'a', 'b'), 0o700);
  await makeDirs(join(base, 'a', 'b', 'c', 'd'), 0o700);
  for (const d of ['a', 'a/b', 'a/b/c', 'a/b/c/d']) assert.equal(statSync(join(base, d)).mode & 0o777, 0o700, d);
  assert.equal(statSync(base).mode & 0o777, 0o755, 'a parent that existed keeps its mode');
  // Again: nothing to make, no error.
  makeDirsSync(join(base, 'a', 'b'), 0o700);
  await makeDirs(join(base, 'a', 'b', 'c', 'd'), 0o700);
});

test('makeDirs throws the error of the level it cannot make', async () => {
  const base = tempDir();
  writeFileSync(join(base, 'file'), '');
  assert.throws(() => makeDirsSync(join(base, 'file', 'x')), (e) => codeOf(e) === 'ENOTDIR');
  await assert.rejects(makeDirs(join(base, 'file', 'x')), (e) => codeOf(e) === 'ENOTDIR');
});

// Node 20's recursive mkdir never returns here (it retries /proc/x forever on
// ENOENT), so this runs in a child process with a deadline: a hang fails the
// test instead of stalling the run.
test('a directory the kernel refuses under a parent that exists (/proc) fails with ENOENT, it does not hang', () => {
  const script = `
    import { makeDirs, makeDirsSync } from './src/make-dirs.ts';
    const codes = [];
    try { makeDirsSync('/proc/zibrato-no-such/x'); } catch (e) { codes.push(e.code); }
    try { await makeDirs('/proc/zibrato-no-such/x'); } catch (e) { codes.push(e.code); }
    console.log(JSON.stringify(codes));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.signal, null, `did not finish within 30 s: ${r.stderr}`);
  assert.deepEqual(JSON.parse(r.stdout.trim()), ['ENOENT', 'ENOENT'], r.stderr);
});

test('backend file with a --path the kernel refuses exits with ZIB_ERR_SINK_FAILED instead of hanging', () => {
  const r = spawnSync(process.execPath, [BIN, 'backend', 'file', '--path', '/proc/zibrato-no-such/out.jsonl', '--broker', 'tcp://127.0.0.1:9'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.signal, null, `did not exit within 30 s: ${r.stderr}`);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /ZIB_ERR_SINK_FAILED: file: cannot open \/proc\/zibrato-no-such\/out\.jsonl: ENOENT/);
});
