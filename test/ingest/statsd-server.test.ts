import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { hashSetMember } from '../../src/wire/set-member.js';
import { StatsdServer, type IngestPublisher } from '../../src/ingest/statsd-server.js';
import type { Level } from '../../src/levels.js';
import type { StatsdKind } from '../../src/ingest/statsd-parser.js';
import { sendUdp } from '../helpers/raw-statsd.ts';
import { eventually } from '../helpers/processes.ts';

const require = createRequire(import.meta.url);
// hot-shots is CommonJS; its default export is the client class.
const StatsD = require('hot-shots') as new (options: Record<string, unknown>) => {
  increment(stat: string, value?: number, tags?: string[] | Record<string, string>): void;
  gauge(stat: string, value: number, tags?: string[]): void;
  timing(stat: string, ms: number, tags?: string[]): void;
  histogram(stat: string, value: number, tags?: string[]): void;
  set(stat: string, value: string, tags?: string[]): void;
  close(cb: (err?: Error) => void): void;
};

interface Emitted {
  level: Level;
  kind: StatsdKind;
  name: string;
  value: number;
  source?: string;
  tags?: Record<string, string>;
  sampleRate?: number;
}

class FakePublisher implements IngestPublisher {
  readonly emitted: Emitted[] = [];
  emit(level: Level, kind: StatsdKind, name: string, value: number, options: { source?: string; tags?: Record<string, string>; sampleRate?: number } = {}): void {
    this.emitted.push({ level, kind, name, value, ...options });
  }
  /** Waits (bounded) until `n` samples arrived. */
  async waitFor(n: number, timeoutMs = 5000): Promise<void> {
    await eventually(() => this.emitted.length >= n, `${n} samples`, timeoutMs, 10).catch((err: Error) => {
      throw new Error(`${err.message}; got ${this.emitted.length}: ${JSON.stringify(this.emitted)}`);
    });
  }
  take(): Emitted[] {
    return this.emitted.splice(0);
  }
}


function sendTcp(port: number, chunks: Array<string | Buffer>): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1', async () => {
      // Each write its own segment (no Nagle coalescing), so the server sees the chunks as they were split.
      c.setNoDelay(true);
      for (const chunk of chunks) {
        c.write(chunk);
        await new Promise((r) => setTimeout(r, 5));
      }
      c.end();
    });
    c.on('close', () => resolve());
    c.on('error', reject);
  });
}

describe('StatsdServer', () => {
  const pub = new FakePublisher();
  const logs: string[] = [];
  let server: StatsdServer;
  let port: number;

  before(async () => {
    server = new StatsdServer({ publisher: pub, port: 0, log: (l) => logs.push(l), malformedLogIntervalMs: 60_000 });
    port = (await server.start()).port;
  });
  after(async () => {
    await server.stop();
  });

  test('listens on UDP and TCP on the same port', async () => {
    assert.ok(port > 0);
    assert.equal(server.port, port);
    await sendUdp(port, 'u:1|c');
    await sendTcp(port, ['t:1|c\n']);
    await pub.waitFor(2);
    assert.deepEqual(pub.take().map((e) => e.name).sort(), ['t', 'u']);
  });

  test('a datagram with several lines publishes every sample with level, kind, tags, source and rate', async () => {
    await sendUdp(port, 'req:1|c|@0.5|#env:prod,source:web-1\nq:+3|g|#level:warn\nlat:1:2|ms\nusers:bob|s');
    await pub.waitFor(5);
    assert.deepEqual(pub.take(), [
      { level: 'info', kind: 'counter', name: 'req', value: 1, source: 'web-1', tags: { env: 'prod' }, sampleRate: 0.5 },
      { level: 'warn', kind: 'gaugeDelta', name: 'q', value: 3, tags: {} },
      { level: 'info', kind: 'timer', name: 'lat', value: 1, tags: {} },
      { level: 'info', kind: 'timer', name: 'lat', value: 2, tags: {} },
      { level: 'info', kind: 'set', name: 'users', value: hashSetMember('bob'), tags: {} },
    ]);
  });

  test('TCP lines may be split anywhere across writes, and a last line without a newline counts at close', async () => {
    await sendTcp(port, ['a:1|', 'c\nb:2|g\nc:', Buffer.from([0xc3]), Buffer.from([0xa9, 0x7c, 0x73]), '\nd:4|ms']);
    await pub.waitFor(4);
    const got = pub.take();
    assert.deepEqual(got.map((e) => [e.name, e.kind]), [['a', 'counter'], ['b', 'gauge'], ['c', 'set'], ['d', 'timer']]);
    assert.equal(got[2]!.value, hashSetMember('é'));
  });

  test('malformed lines are counted and logged with their reason, and the rest of the datagram is used', async () => {
    const before = server.stats();
    logs.length = 0;
    await sendUdp(port, 'good:1|c\nbad line\nalso:bad|c\ngood2:1|c');
    await pub.waitFor(2);
    assert.deepEqual(pub.take().map((e) => e.name), ['good', 'good2']);
    const after = server.stats();
    assert.equal(after.malformed - before.malformed, 2);
    assert.equal(after.received - before.received, 4);
    assert.equal(after.published - before.published, 2);
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, /malformed line from udp 127\.0\.0\.1:\d+: no ":" between name and value .*"bad line" \(and 1 more/);
  });

  test('malformed-line logging is rate-limited; the suppressed lines are still counted', async () => {
    const before = server.stats().malformed;
    logs.length = 0;
    for (let i = 0; i < 5; i++) await sendUdp(port, `x${i}`);
    await sendUdp(port, 'sentinel:1|c');
    await pub.waitFor(1);
    pub.take();
    assert.equal(server.stats().malformed - before, 5);
    assert.equal(logs.length, 0, 'still inside the interval of the previous report');
  });

  test('an over-long TCP line is discarded and counted; the next line is used', async () => {
    const small = new StatsdServer({ publisher: pub, port: 0, udp: false, maxLineBytes: 64, log: () => {} });
    const { port: p } = await small.start();
    try {
      await sendTcp(p, [`long:${'1'.repeat(100)}`, `${'2'.repeat(100)}|c\nok:1|c\n`]);
      await pub.waitFor(1);
      assert.deepEqual(pub.take().map((e) => e.name), ['ok']);
      assert.equal(small.stats().malformed, 1);
    } finally {
      await small.stop();
    }
  });

  test('hot-shots over UDP with maxBufferSize: increment, gauge, timing, histogram, set and tags', async () => {
    const client = new StatsD({ host: '127.0.0.1', port, maxBufferSize: 1000, bufferFlushInterval: 20, globalTags: { env: 'test' }, errorHandler: () => {} });
    client.increment('hs.requests', 2, ['route:/home']);
    client.gauge('hs.queue', 7);
    client.timing('hs.latency', 12.5);
    client.histogram('hs.size', 300);
    client.set('hs.users', 'alice');
    await new Promise<void>((r) => client.close(() => r()));
    await pub.waitFor(5);
    const got = pub.take();
    assert.deepEqual(got.map((e) => [e.kind, e.name, e.value]), [
      ['counter', 'hs.requests', 2],
      ['gauge', 'hs.queue', 7],
      ['timer', 'hs.latency', 12.5],
      ['timer', 'hs.size', 300],
      ['set', 'hs.users', hashSetMember('alice')],
    ]);
    assert.deepEqual(got[0]!.tags, { env: 'test', route: '/home' });
    assert.ok(server.stats().datagrams >= 1);
  });

  test('hot-shots over TCP', async () => {
    const client = new StatsD({ host: '127.0.0.1', port, protocol: 'tcp', errorHandler: () => {} });
    client.increment('hs.tcp', 1, { level: 'error' });
    client.gauge('hs.tcp.gauge', 3);
    await pub.waitFor(2);
    await new Promise<void>((r) => client.close(() => r()));
    assert.deepEqual(pub.take().map((e) => [e.level, e.kind, e.name]), [
      ['error', 'counter', 'hs.tcp'],
      ['info', 'gauge', 'hs.tcp.gauge'],
    ]);
  });
});

describe('StatsdServer options', () => {
  test('a port that is taken makes start() reject', async () => {
    const pub = new FakePublisher();
    const a = new StatsdServer({ publisher: pub, port: 0 });
    const { port } = await a.start();
    try {
      await assert.rejects(new StatsdServer({ publisher: pub, port }).start(), /EADDRINUSE/);
    } finally {
      await a.stop();
    }
  });

  test('stop() releases the port', async () => {
    const pub = new FakePublisher();
    const a = new StatsdServer({ publisher: pub, port: 0 });
    const { port } = await a.start();
    await a.stop();
    const b = new StatsdServer({ publisher: pub, port });
    await b.start();
    await b.stop();
  });

  test('bad options throw at construction with a clear message', () => {
    const pub = new FakePublisher();
    assert.throws(() => new StatsdServer({ publisher: pub, port: 70000 }), /port must be an integer 0–65535/);
    assert.throws(() => new StatsdServer({ publisher: pub, defaultLevel: 'loud' as Level }), /default level must be one of/);
    assert.throws(() => new StatsdServer({ publisher: pub, udp: false, tcp: false }), /at least one of udp and tcp/);
    assert.throws(() => new StatsdServer({} as never), /needs a publisher/);
  });

  test('the default level applies to lines without a level tag', () => {
    const pub = new FakePublisher();
    const s = new StatsdServer({ publisher: pub, defaultLevel: 'debug' });
    s.ingest('a:1|c\nb:1|c|#level:crit');
    assert.deepEqual(pub.take().map((e) => e.level), ['debug', 'crit']);
  });

  test('past maxTcpConnections a new TCP connection is closed at once, counted and logged', async () => {
    const pub = new FakePublisher();
    const logs: string[] = [];
    const server = new StatsdServer({ publisher: pub, port: 0, udp: false, maxTcpConnections: 2, tcpIdleTimeoutMs: 0, log: (l) => logs.push(l) });
    const { port } = await server.start();
    const clients: Socket[] = [];
    const open = (): Promise<{ socket: Socket; closed: Promise<void> }> =>
      new Promise((resolve) => {
        const socket = connect(port, '127.0.0.1', () => resolve({ socket, closed }));
        socket.on('error', () => undefined);
        const closed = new Promise<void>((r) => socket.on('close', () => r()));
        clients.push(socket);
      });
    try {
      const a = await open();
      a.socket.write('kept.a:1|c\n');
      const b = await open();
      b.socket.write('kept.b:1|c\n');
      await pub.waitFor(2);
      const refused = await open();
      await refused.closed;
      assert.equal(server.stats().tcpRefused, 1);
      assert.equal(server.stats().tcpConnections, 2);
      assert.ok(logs.some((l) => l.startsWith('ZIB_INGEST_TCP_LIMIT')), logs.join('\n'));
      // The open connections still work.
      a.socket.write('kept.a:2|c\n');
      await pub.waitFor(3);
    } finally {
      for (const c of clients) c.destroy();
      await server.stop();
    }
  });

  test('a TCP connection idle past tcpIdleTimeoutMs is closed, counted and logged, after its last line is published', async () => {
    const pub = new FakePublisher();
    const logs: string[] = [];
    const server = new StatsdServer({ publisher: pub, port: 0, udp: false, tcpIdleTimeoutMs: 200, log: (l) => logs.push(l) });
    const { port } = await server.start();
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    try {
      socket.write('idle.a:1|c\nidle.b:2|c');
      await closed;
      assert.deepEqual(pub.take().map((e) => `${e.name}:${e.value}`), ['idle.a:1', 'idle.b:2']);
      await eventually(() => server.stats().tcpIdleClosed === 1, 'the idle close to be counted');
      assert.ok(logs.some((l) => l.startsWith('ZIB_INGEST_TCP_IDLE')), logs.join('\n'));
    } finally {
      socket.destroy();
      await server.stop();
    }
  });

  test('a bad connection cap or idle timeout throws at construction', () => {
    const pub = new FakePublisher();
    assert.throws(() => new StatsdServer({ publisher: pub, maxTcpConnections: 0 }), /maxTcpConnections must be an integer/);
    assert.throws(() => new StatsdServer({ publisher: pub, tcpIdleTimeoutMs: -1 }), /tcpIdleTimeoutMs must be/);
  });
});
