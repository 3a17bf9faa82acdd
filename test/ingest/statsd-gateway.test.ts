/**
 * The gateway with a real Zibrato client, against a stand-in broker: an XSUB
 * socket that subscribes to everything and decodes what arrives.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as zmq from 'zeromq';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.js';
import { decodeBatch, hashSetMember, KIND_NAMES, levelOfTopic, recordSeries, recordValue } from '../../src/wire/index.js';
import { LEVELS } from '../../src/levels.js';
import { startStatsdGateway, type StatsdGateway } from '../../src/ingest/statsd-gateway.js';
import { sendUdp } from '../helpers/raw-statsd.ts';
import { eventually } from '../helpers/processes.ts';

interface Received {
  level: string;
  kind: string;
  name: string;
  source: string;
  tags: Record<string, string>;
  sampleRate: number;
  value: number;
}

/** A stand-in for the broker's publisher side. */
class FakeBroker {
  readonly socket = new zmq.XSubscriber();
  readonly received: Received[] = [];
  private loop: Promise<void> | undefined;
  constructor(readonly endpoint: string) {}
  async start(): Promise<void> {
    this.socket.linger = 0;
    await this.socket.bind(this.endpoint);
    await this.socket.send(Buffer.from([1])); // subscribe to everything
    this.loop = (async () => {
      try {
        for await (const frames of this.socket) {
          if (frames.length !== 2) continue;
          const level = LEVELS[levelOfTopic(frames[0]!)]!;
          const b = decodeBatch(frames[1]!);
          for (let i = 0; i < b.recordCount; i++) {
            const s = b.series[recordSeries(b, i)]!;
            if (s.name.startsWith('zibrato.')) continue; // the client's own metrics
            this.received.push({ level, kind: KIND_NAMES[s.kind]!, name: s.name, source: s.source, tags: { ...s.tags }, sampleRate: s.sampleRate, value: recordValue(b, i) });
          }
        }
      } catch {
        // closed
      }
    })();
  }
  async waitFor(n: number, timeoutMs = 10_000): Promise<Received[]> {
    await eventually(() => this.received.length >= n, `${n} records at the broker`, timeoutMs, 20).catch((err: Error) => {
      throw new Error(`${err.message}; got ${this.received.length}: ${JSON.stringify(this.received)}`);
    });
    return this.received.splice(0);
  }
  async stop(): Promise<void> {
    this.socket.close();
    await this.loop;
  }
}


describe('StatsD gateway with a Zibrato client', () => {
  let broker: FakeBroker;
  let gateway: StatsdGateway;
  const logs: string[] = [];

  before(async () => {
    broker = new FakeBroker(`tcp://127.0.0.1:${await freeTcpPort()}`);
    await broker.start();
    gateway = await startStatsdGateway({ port: 0, broker: broker.endpoint, source: 'gw-1', statsIntervalMs: 0, log: (l) => logs.push(l) });
  });
  after(async () => {
    await gateway.stop();
    await broker.stop();
  });

  test('StatsD lines arrive at the broker as native records with level, source, tags and sample rate', async () => {
    await sendUdp(gateway.port, 'req:1|c|@0.5|#env:prod\nq:-2|g|#level:warn,source:db-1\nlat:1:2|ms\nusers:bob|s');
    const got = await broker.waitFor(5);
    const byName = (n: string) => got.filter((r) => r.name === n);
    assert.deepEqual(byName('req'), [{ level: 'info', kind: 'counter', name: 'req', source: 'gw-1', tags: { env: 'prod' }, sampleRate: 0.5, value: 1 }]);
    assert.deepEqual(byName('q'), [{ level: 'warn', kind: 'gaugeDelta', name: 'q', source: 'db-1', tags: {}, sampleRate: 1, value: -2 }]);
    assert.deepEqual(byName('lat').map((r) => r.value), [1, 2]);
    assert.deepEqual(byName('users').map((r) => [r.kind, r.value]), [['set', hashSetMember('bob')]]);
  });

  test('stats count received, malformed and published, and the client\'s counts', async () => {
    const before = gateway.stats();
    await sendUdp(gateway.port, 'x:1|c\nnot a metric');
    await broker.waitFor(1);
    const after = gateway.stats();
    assert.equal(after.received - before.received, 2);
    assert.equal(after.malformed - before.malformed, 1);
    assert.equal(after.published - before.published, 1);
    assert.ok(after.client && after.client.sent >= 6);
    assert.match(gateway.statsLine(), /received \d+ \(\+\d+\) lines, malformed \d+ \(\+\d+\), published \d+ \(\+\d+\) samples; client sent \d+, dropped 0, invalid 0, buffered \d+/);
    assert.ok(logs.some((l) => /listening for StatsD on UDP and TCP 127\.0\.0\.1:\d+, publishing to tcp:/.test(l)));
  });
});

describe('zibrato ingest statsd (process)', () => {
  const fixture = fileURLToPath(new URL('./fixtures/ingest-cli.ts', import.meta.url));
  let child: ChildProcess | undefined;
  after(() => {
    if (child?.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  });

  test('SIGTERM stops listening, sends what is buffered, logs the final counts and exits 0', async () => {
    const broker = new FakeBroker(`tcp://127.0.0.1:${await freeTcpPort()}`);
    await broker.start();
    try {
      const port = await freeUdpPort();
      child = spawn(process.execPath, ['--import', 'tsx', fixture, 'ingest', 'statsd', '--port', String(port), '--broker', broker.endpoint, '--default-level', 'error', '--stats-interval', '200ms'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
      await eventually(() => {
        if (child!.exitCode !== null) throw new Error(`gateway exited: ${stderr}`);
        return stderr.includes('listening for StatsD');
      }, 'the gateway to listen', 20_000, 50);
      await sendUdp(port, 'cli.count:3|c');
      const got = await broker.waitFor(1);
      assert.deepEqual(got.map((r) => [r.level, r.name, r.value]), [['error', 'cli.count', 3]]);
      await eventually(() => /received \d+ \(\+\d+\) lines/.test(stderr), 'a periodic stats line', 20_000, 50);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.match(stderr, /SIGTERM: shutting down/);
      assert.match(stderr, /stopped: received 1 \(\+\d\) lines, malformed 0 \(\+0\), published 1 \(\+\d\) samples; client sent 1,/);
    } finally {
      await broker.stop();
    }
  });

  test('a bad option is refused with a message and a non-zero exit', async () => {
    const c = spawn(process.execPath, ['--import', 'tsx', fixture, 'ingest', 'statsd', '--default-level', 'loud'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => c.on('exit', (cd) => resolve(cd)));
    assert.notEqual(code, 0);
    assert.match(stderr, /--default-level <level>' argument 'loud' is invalid\. expected one of debug, info, warn, error, crit/);
  });
});
