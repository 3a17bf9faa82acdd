/**
 * The Python example publisher encodes every test vector byte for byte, so the
 * recipe in docs/wire-format.md and examples/python/ agree with src/wire.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zmq from 'zeromq';
import { decodeBatch } from '../../src/wire/index.ts';
import { freeTcpPort } from '../helpers/ports.ts';
import { program } from '../helpers/processes.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** /usr/bin/python3 unless ZIBRATO_TEST_PYTHON names another (e.g. to check the missing-peer path). */
const PYTHON = process.env.ZIBRATO_TEST_PYTHON ?? '/usr/bin/python3';
const NATIVE = join(ROOT, 'examples/python/publish_native.py');
const LEGACY = join(ROOT, 'examples/python/publish_legacy.py');
const VECTORS = join(ROOT, 'test/vectors');

/** Fails the test when /usr/bin/python3 is missing: a missing peer is a failure, never a skip. */
function requirePython(): void {
  const r = spawnSync(PYTHON, ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) assert.fail(`${PYTHON} is not available (${r.error?.message ?? r.stderr}); install python3 (.ci/run does)`);
}

test('publish_native.py --check-vectors encodes every native vector byte for byte', (t) => {
  requirePython();
  const r = spawnSync(PYTHON, [NATIVE, '--check-vectors', VECTORS], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /(\d+) of \1 vectors match/);
  assert.doesNotMatch(r.stdout, /MISMATCH/);
  // Both versions: the version 1 vectors stay, the version 2 ones add publisher id and sequence.
  assert.match(r.stdout, /ok native-counters\.json/);
  assert.match(r.stdout, /ok native-v2-sequence\.json/);
});

test('publish_native.py sends version 2 batches: one random publisher id, the sequence counting the records sent before', async () => {
  requirePython();
  const endpoint = `tcp://127.0.0.1:${await freeTcpPort()}`;
  const sub = new zmq.Subscriber();
  sub.linger = 0;
  sub.receiveTimeout = 15_000;
  await sub.bind(endpoint);
  sub.subscribe('info|');
  const py = program(PYTHON, [NATIVE, '--broker', endpoint, '--count', '5', '--batch-size', '2', '--name', 'py.seq'], 'publish_native.py');
  try {
    const batches = [];
    for (let i = 0; i < 3; i++) {
      const [topic, frame] = (await sub.receive()) as [Buffer, Buffer];
      assert.equal(topic.toString(), 'info|');
      batches.push(decodeBatch(frame));
    }
    assert.deepEqual(batches.map((b) => [b.version, b.sequence, b.recordCount]), [[2, 0, 2], [2, 2, 2], [2, 4, 1]]);
    assert.equal(new Set(batches.map((b) => b.publisherId)).size, 1);
    assert.match(batches[0]!.publisherId, /^[0-9a-f]{16}$/);
    assert.equal((await py.exitWithin()).code, 0, py.lines.join('\n'));
  } finally {
    sub.close();
    await py.stop('SIGKILL');
  }
});

test('publish_native.py --check-vectors exits non-zero and shows both frames when a vector does not match', (t) => {
  requirePython();
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-badvec-'));
  copyFileSync(join(VECTORS, 'native-counters.json'), join(dir, 'native-counters.json'));
  const v = JSON.parse(readFileSync(join(VECTORS, 'native-timers.json'), 'utf8')) as { records: { value: number }[] };
  v.records[0]!.value += 1; // the frames no longer match the records
  writeFileSync(join(dir, 'native-timers.json'), JSON.stringify(v));
  const r = spawnSync(PYTHON, [NATIVE, '--check-vectors', dir], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /ok native-counters\.json/);
  assert.match(r.stdout, /MISMATCH native-timers\.json\n\s+frame 1 differs:\n\s+expected [0-9a-f]+\n\s+got\s+[0-9a-f]+/);
  assert.match(r.stdout, /1 of 2 vectors match/);
});

test('publish_native.py --check-vectors fails on a directory without vectors', (t) => {
  requirePython();
  const r = spawnSync(PYTHON, [NATIVE, '--check-vectors', mkdtempSync(join(tmpdir(), 'zibrato-novec-'))], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no native-\*\.json vectors/);
});

test('publish_legacy.py formats the 2013 text that the legacy vectors decode', (t) => {
  requirePython();
  const script = [
    'import sys',
    `sys.path.insert(0, ${JSON.stringify(join(ROOT, 'examples/python'))})`,
    'from publish_legacy import format_legacy as f',
    "print(f('info', 'Counter', 'requests', 1).decode())",
    "print(f('info', 'Timer', 'db.query', 0.0125, 1700000000, 'web-1').decode())",
    "print(f('error', 'Counter', 'failures', 3, None, 'web-2').decode())",
    "print(f('warn', 'Gauge', 'queue.depth', 42.5, 1700000000).decode())",
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'info|Counter|requests|1',
    'info|Timer|db.query|0.0125|1700000000|web-1',
    'error|Counter|failures|3||web-2',
    'warn|Gauge|queue.depth|42.5|1700000000',
  ]);
  // Each of these is, text for text, a legacy vector the receivers are tested against.
  const vectors = (JSON.parse(readFileSync(join(VECTORS, 'legacy-text.json'), 'utf8')) as { vectors: { text: string }[] }).vectors.map((x) => x.text);
  for (const line of r.stdout.trim().split('\n')) assert.ok(vectors.includes(line), `${line} is not a legacy vector`);
});

test('without pyzmq, either example says what to install instead of a traceback, and exits 2', () => {
  requirePython();
  for (const script of [NATIVE, LEGACY]) {
    // Hides pyzmq whether or not it is installed: a None entry in sys.modules makes `import zmq` raise ImportError.
    const r = spawnSync(PYTHON, ['-c', 'import runpy, sys; sys.modules["zmq"] = None; sys.argv = [sys.argv[1]]; runpy.run_path(sys.argv[0], run_name="__main__")', script], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /needs pyzmq to send \(Debian\/Ubuntu: apt install python3-zmq; else pip install pyzmq\)/);
    assert.doesNotMatch(r.stderr, /Traceback/);
  }
});
