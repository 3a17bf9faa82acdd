/**
 * Other-language and other-protocol publishers, end to end through real
 * processes: hot-shots (buffered UDP), raw StatsD datagrams and TCP lines →
 * `zibrato ingest statsd` → broker → file backend; and the Python native and
 * legacy publishers → broker → the same backend. Every aggregate is checked
 * exactly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort, tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually, program, ROOT, stopAll, zibrato, type Proc } from '../helpers/processes.ts';
import { readRows, type Row } from '../helpers/jsonl.ts';
import { sendUdp, sendTcp } from '../helpers/raw-statsd.ts';

const require = createRequire(import.meta.url);
interface HotShots {
  increment(stat: string, value?: number, tags?: string[]): void;
  gauge(stat: string, value: number, tags?: string[]): void;
  timing(stat: string, ms: number, tags?: string[]): void;
  histogram(stat: string, value: number, tags?: string[]): void;
  distribution(stat: string, value: number, tags?: string[]): void;
  set(stat: string, value: string, tags?: string[]): void;
  close(cb: (err?: Error) => void): void;
}
const StatsD = require('hot-shots') as new (options: Record<string, unknown>) => HotShots;

/** /usr/bin/python3 unless ZIBRATO_TEST_PYTHON names another (e.g. to check the missing-peer path). */
const PYTHON = process.env.ZIBRATO_TEST_PYTHON ?? '/usr/bin/python3';
const PY_NATIVE = join(ROOT, 'examples/python/publish_native.py');
const PY_LEGACY = join(ROOT, 'examples/python/publish_legacy.py');

/** Fails the test when /usr/bin/python3 with pyzmq is missing: a missing peer is a failure, never a skip. */
function requirePythonWithZmq(): void {
  const r = spawnSync(PYTHON, ['-c', 'import zmq'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${PYTHON} with pyzmq is not available (${r.error?.message ?? r.stderr.trim()}); install python3-zmq (.ci/run does)`);
}



async function runPython(script: string, args: string[]): Promise<void> {
  const p = program(PYTHON, [script, ...args], `python ${args.join(' ')}`);
  const { code } = await p.exited;
  assert.equal(code, 0, `${script} ${args.join(' ')} exited ${code}:\n${p.lines.join('\n')}`);
  assert.doesNotMatch(p.lines.join('\n'), /warning: no subscriber/);
}

type Aggregate = { value: number } | { count: number; sum: number; min: number; max: number };

/**
 * Folds the rows of every flush into one aggregate per series:
 * counters add up, a gauge keeps its last value, timers combine count, sum,
 * min and max. A set is reported per flush; each set here arrives in one
 * message (one datagram or one batch), so its largest row is its total.
 */
function aggregate(rows: Row[], names: ReadonlySet<string>): Record<string, Aggregate> {
  const out: Record<string, Aggregate> = {};
  for (const r of rows) {
    if (!names.has(r.name)) continue;
    const key = `${r.type} ${r.name} source=${r.source} tags=${JSON.stringify(Object.fromEntries(Object.entries(r.tags).sort()))}`;
    const prev = out[key];
    if (r.type === 'counter') out[key] = { value: (prev && 'value' in prev ? prev.value : 0) + r.value! };
    else if (r.type === 'gauge') out[key] = { value: r.value! };
    else if (r.type === 'set') out[key] = { value: Math.max(prev && 'value' in prev ? prev.value : 0, r.value!) };
    else {
      const p = prev && 'count' in prev ? prev : { count: 0, sum: 0, min: Infinity, max: -Infinity };
      out[key] = { count: p.count + r.count!, sum: p.sum + r.sum!, min: Math.min(p.min, r.min!), max: Math.max(p.max, r.max!) };
    }
  }
  return out;
}

const HS = 'tags={"app":"hs"}';
const NONE = 'tags={}';
const STATSD_EXPECTED: Record<string, Aggregate> = {
  // hot-shots, one buffered datagram
  [`set hs.users source= ${HS}`]: { value: 3 },
  [`counter hs.requests source= ${HS}`]: { value: 8 },
  [`gauge hs.queue source= ${HS}`]: { value: 4 },
  [`timer hs.latency source= ${HS}`]: { count: 4, sum: 100, min: 10, max: 40 },
  [`timer hs.size source= ${HS}`]: { count: 2, sum: 400, min: 100, max: 300 },
  [`timer hs.dist source= ${HS}`]: { count: 1, sum: 5, min: 5, max: 5 },
  [`counter hs.tagged source= tags={"app":"hs","route":"/home"}`]: { value: 2 },
  [`gauge hs.temp source=sensor-1 ${HS}`]: { value: 21.5 },
  // a raw datagram
  [`counter raw.sampled source= ${NONE}`]: { value: 20 },
  [`timer raw.timer source= ${NONE}`]: { count: 2, sum: 20, min: 10, max: 10 },
  [`gauge raw.gauge source= ${NONE}`]: { value: 13 },
  [`timer raw.multi source=raw-src ${NONE}`]: { count: 3, sum: 6, min: 1, max: 3 },
  [`counter raw.counter source= tags={"env":"prod"}`]: { value: 2 },
  // TCP lines
  [`counter raw.tcp source= ${NONE}`]: { value: 10 },
};
const PYTHON_EXPECTED: Record<string, Aggregate> = {
  [`counter py.native.count source=py-1 tags={"lang":"python"}`]: { value: 20 },
  [`timer py.native.latency source= ${NONE}`]: { count: 4, sum: 40, min: 5, max: 15 },
  [`set py.native.users source= ${NONE}`]: { value: 3 },
  [`counter py.native.sampled source= ${NONE}`]: { value: 8 },
  [`timer py.legacy.timer source=py-legacy ${NONE}`]: { count: 2, sum: 50, min: 12.5, max: 37.5 },
  [`counter py.legacy.count source= ${NONE}`]: { value: 5 },
  [`gauge py.legacy.gauge source= ${NONE}`]: { value: 7 },
};
/** Sent at levels the backend (info+) does not subscribe to, or malformed: must never appear. */
const ABSENT = ['hs.quiet', 'py.native.debug'];
const nameOf = (key: string): string => key.split(' ')[1]!;

for (const transport of ['tcp', 'ipc'] as const) describe(`StatsD ingest and Python publishers → broker over ${transport} → file backend (real processes)`, () => {
  const dir = mkdtempSync(join(tmpdir(), `zibrato-statsd-ingest-${transport}-`));
  const out = join(dir, 'out.jsonl');
  let publish = '';
  let statsdPort = 0;
  let ingest: Proc;

  before(async () => {
    const endpoints = transport === 'tcp' ? await tcpBrokerEndpoints() : { publish: `ipc://${dir}/pub.sock`, subscribe: `ipc://${dir}/sub.sock` };
    publish = endpoints.publish;
    statsdPort = await freeUdpPort();
    const broker = zibrato(['broker', '--publish', endpoints.publish, '--subscribe', endpoints.subscribe, '--stats-interval', '0'], { label: 'broker' });
    await broker.waitFor(/broker up/);
    const backend = zibrato(['backend', 'file', '--levels', 'info+', '--flush', '1s', '--broker', endpoints.subscribe, '--path', out, '--no-self-metrics'], { label: 'backend' });
    await backend.waitFor(/subscribed/);
    ingest = zibrato(['ingest', 'statsd', '--port', String(statsdPort), '--broker', endpoints.publish, '--stats-interval', '0'], { label: 'ingest' });
    await ingest.waitFor(/listening for StatsD on UDP and TCP/);
    // Records published before the backend's subscription has reached the
    // broker are dropped by ZeroMQ, so probe until one arrives.
    await eventually(
      async () => {
        await sendUdp(statsdPort, 'probe.ready:1|c');
        return readRows(out).some((r) => r.name === 'probe.ready');
      },
      'a probe through ingest to reach the file backend',
      20_000,
      250,
    );
  });

  after(async () => {
    await stopAll();
  });

  test('hot-shots, raw datagrams and TCP lines, native and legacy Python all land with exact aggregates', async () => {
    requirePythonWithZmq();
    // hot-shots with buffering: every call below goes out in one datagram.
    const hs = new StatsD({ host: '127.0.0.1', port: statsdPort, maxBufferSize: 8000, bufferFlushInterval: 100, globalTags: { app: 'hs' }, errorHandler: () => {} });
    for (const member of ['alice', 'bob', 'alice', 'carol']) hs.set('hs.users', member);
    for (let i = 0; i < 5; i++) hs.increment('hs.requests');
    hs.increment('hs.requests', 3);
    hs.gauge('hs.queue', 10);
    hs.gauge('hs.queue', 4);
    for (const ms of [10, 20, 30, 40]) hs.timing('hs.latency', ms);
    hs.histogram('hs.size', 100);
    hs.histogram('hs.size', 300);
    hs.distribution('hs.dist', 5);
    hs.increment('hs.tagged', 2, ['route:/home', 'level:warn']);
    hs.increment('hs.quiet', 1, ['level:debug']);
    hs.gauge('hs.temp', 21.5, ['source:sensor-1']);
    await new Promise<void>((resolve, reject) => hs.close((err) => (err ? reject(err) : resolve())));

    await sendUdp(
      statsdPort,
      [
        'raw.sampled:1|c|@0.1',
        'raw.sampled:1|c|@0.1',
        'raw.timer:10|ms|@0.5',
        'raw.gauge:10|g',
        'raw.gauge:+5|g',
        'raw.gauge:-2|g',
        'raw.multi:1:2:3|d|#source:raw-src',
        'this is not statsd',
        'raw.counter:2|c|#level:error,env:prod',
      ].join('\n'),
    );
    await sendTcp(statsdPort, 'raw.tcp:7|c\nraw.tcp:3|c\n');

    await Promise.all([
      runPython(PY_NATIVE, ['--broker', publish, '--type', 'counter', '--name', 'py.native.count', '--value', '2', '--count', '10', '--tag', 'lang=python', '--source', 'py-1']),
      runPython(PY_NATIVE, ['--broker', publish, '--type', 'timer', '--name', 'py.native.latency', '--value', '5,15', '--count', '4', '--level', 'warn']),
      runPython(PY_NATIVE, ['--broker', publish, '--type', 'set', '--name', 'py.native.users', '--value', 'u1,u2,u3', '--count', '6']),
      runPython(PY_NATIVE, ['--broker', publish, '--type', 'counter', '--name', 'py.native.sampled', '--sample-rate', '0.25', '--count', '2']),
      runPython(PY_LEGACY, ['--broker', publish, '--type', 'Timer', '--name', 'py.legacy.timer', '--value', '0.0125,0.0375', '--count', '2', '--source', 'py-legacy']),
      runPython(PY_LEGACY, ['--broker', publish, '--type', 'Counter', '--name', 'py.legacy.count', '--count', '5']),
      runPython(PY_LEGACY, ['--broker', publish, '--type', 'Gauge', '--name', 'py.legacy.gauge', '--value', '7', '--level', 'warn', '--timestamp']),
    ]);
    // A level nobody subscribes to: the publisher warns and nothing arrives.
    const quiet = program(PYTHON, [PY_NATIVE, '--broker', publish, '--level', 'debug', '--name', 'py.native.debug', '--wait-ms', '300'], 'python debug');
    assert.equal((await quiet.exited).code, 0);

    const expected = { ...STATSD_EXPECTED, ...PYTHON_EXPECTED };
    const names = new Set([...Object.keys(expected).map(nameOf), ...ABSENT]);
    const same = (): boolean => {
      try {
        assert.deepEqual(aggregate(readRows(out), names), expected);
        return true;
      } catch {
        return false;
      }
    };
    await eventually(same, 'every expected aggregate in the file backend', 30_000, 200).catch(() => undefined);
    assert.deepEqual(aggregate(readRows(out), names), expected);
    for (const name of ABSENT) assert.ok(!readRows(out).some((r) => r.name === name), `${name} must not reach an info+ backend`);
  });

  test('on SIGTERM the gateway reports what it received, rejected and published', async () => {
    const { code } = await ingest.stop('SIGTERM');
    assert.equal(code, 0, ingest.lines.join('\n'));
    const final = ingest.lines.find((l) => l.includes('stopped: received'));
    assert.ok(final, ingest.lines.join('\n'));
    assert.match(final, /malformed 1 \(/);
    assert.ok(ingest.lines.some((l) => /malformed line from udp 127\.0\.0\.1:\d+: no ":" between name and value .*"this is not statsd"/.test(l)), ingest.lines.join('\n'));
  });
});
