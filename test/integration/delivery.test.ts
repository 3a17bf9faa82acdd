/**
 * The delivery core (docs/delivery.md): sequence gaps are counted, a slow
 * subscriber hurts nobody else, and a publisher learns its subscriptions from
 * the broker instead of assuming them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { Backend } from '../../src/backend/backend.ts';
import { Broker } from '../../src/broker/broker.ts';
import { Zibrato } from '../../src/index.ts';
import { MemorySink } from '../../src/sinks/memory-sink.ts';
import { BatchWriter, encodeSeries, LEVEL_TOPICS, MetricKind, newPublisherId, stampSequence } from '../../src/wire/index.ts';
import { inProcessPipeline } from '../helpers/in-process.ts';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually } from '../helpers/processes.ts';

const INFO = 1;

/** A raw wire publisher: sends version 2 batches of `records` counter increments with the sequence it is told. */
class RawPublisher {
  readonly socket = new zmq.XPublisher();
  private readonly writer: BatchWriter;
  private readonly series: Uint8Array;

  constructor(readonly source: string, id = newPublisherId()) {
    this.writer = new BatchWriter(64 * 1024, 1024, id);
    this.series = encodeSeries(MetricKind.counter, 'raw.count', source, undefined);
    this.socket.noDrop = true;
    this.socket.linger = 1000;
  }

  /** Connects and waits until the broker passes a subscription for info. */
  async connect(endpoint: string): Promise<void> {
    this.socket.connect(endpoint);
    await this.subscribed();
  }

  /** Binds in a broker's place (subscribers connect straight to it) and waits for a subscription for info. */
  async bind(endpoint: string): Promise<void> {
    await this.socket.bind(endpoint);
    await this.subscribed();
  }

  private async subscribed(): Promise<void> {
    for (;;) {
      const [msg] = await this.socket.receive();
      if (msg && msg[0] === 1 && LEVEL_TOPICS[INFO]!.equals(msg.subarray(1))) return;
    }
  }

  /** Records sent so far (the next sequence when batches are sent in order). */
  sent = 0;

  /** A sealed batch of `records` increments, stamped with `sequence`. */
  batch(sequence: number, records: number): Buffer {
    const slot = this.writer.addSeries(this.series);
    for (let i = 0; i < records; i++) this.writer.append(slot, 1);
    const frame = this.writer.seal(Date.now());
    stampSequence(frame, sequence);
    return frame;
  }

  async send(sequence: number, records: number): Promise<void> {
    const frame = this.batch(sequence, records);
    // noDrop: a full pipe fails the send (push-back from the broker); wait for room, as the client does.
    for (;;) {
      try {
        await this.socket.send([LEVEL_TOPICS[INFO]!, frame]);
        this.sent = sequence + records;
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
  }
}

test('a gap in a publisher’s sequence is counted as lost, tagged with its source, and logged', async () => {
  const lines: string[] = [];
  const p = await inProcessPipeline(['info'], { selfMetrics: true, log: (l) => lines.push(l) });
  const pub = new RawPublisher('web-1');
  try {
    await pub.connect(p.publish);
    await pub.send(0, 10);
    await pub.send(10, 10);
    await pub.send(30, 10); // records 20–29 never arrive
    await eventually(() => p.backend.status().received === 30, 'the three batches');
    assert.equal(p.backend.status().lost, 10);
    await p.backend.flush();
    const lost = p.sink.batches.flatMap((b) => b.points).filter((pt) => pt.name === 'zibrato.backend.lost');
    assert.deepEqual(lost.map((pt) => [pt.tags.publisher, pt.type === 'counter' ? pt.value : NaN]), [['web-1', 10]]);
    assert.ok(lines.some((l) => /ZIB_LOST: lost 10 records from publisher web-1/.test(l)), lines.join('\n'));
  } finally {
    pub.socket.close();
    await p.stop();
  }
});

test('a restarted publisher (a new id) starts a new sequence and is not counted as a loss', async () => {
  const p = await inProcessPipeline(['info']);
  const before = new RawPublisher('web-1');
  const after = new RawPublisher('web-1');
  try {
    await before.connect(p.publish);
    await before.send(0, 10);
    await before.send(10, 10);
    await eventually(() => p.backend.status().received === 20, 'the first process');
    before.socket.close();
    await after.connect(p.publish);
    await after.send(0, 5);
    await after.send(5, 5);
    await eventually(() => p.backend.status().received === 30, 'the restarted process');
    assert.equal(p.backend.status().lost, 0);
  } finally {
    after.socket.close();
    await p.stop();
  }
});

test('a subscriber that never reads does not slow or starve a healthy backend', async () => {
  const p = await inProcessPipeline(['info']);
  const paused = new zmq.Subscriber();
  paused.receiveHighWaterMark = 100;
  paused.linger = 0;
  paused.connect(p.subscribe);
  paused.subscribe(LEVEL_TOPICS[INFO]!);
  const pub = new RawPublisher('many-small-batches');
  try {
    await pub.connect(p.publish);
    // Many small batches: far more messages than the paused subscriber's queue in the broker (10,000)
    // plus its socket buffers hold.
    const batches = 30_000;
    const perBatch = 50;
    for (let b = 0; b < batches; b++) await pub.send(b * perBatch, perBatch);
    await eventually(() => p.backend.status().received === batches * perBatch, `the healthy backend to receive all ${batches * perBatch} records`, 60_000, 200);
    assert.equal(p.backend.status().lost, 0);
    assert.equal(p.broker.stats.droppedRecords, 0);
  } finally {
    paused.close();
    pub.socket.close();
    await p.stop();
  }
});

test('a publisher started during a broker outage holds its records until the broker says who subscribes', async () => {
  const ep = await tcpBrokerEndpoints();
  const z = new Zibrato({ broker: ep.publish, source: 'early', log: () => undefined });
  let broker: Broker | undefined;
  let backend: Backend | undefined;
  try {
    const info = z.counterHandle({ name: 'made.during.outage' });
    const debug = z.counterHandle({ name: 'nobody.wants', level: 'debug' });
    for (let i = 0; i < 1000; i++) {
      info.inc();
      debug.inc();
    }
    z.flush();
    // The broker comes up with no subscriber; the publisher connects first, the backend after it.
    broker = new Broker({ publishEndpoints: [ep.publish], subscribeEndpoints: [ep.subscribe], selfMetricsIntervalMs: 0, subscriptionSettleMs: 2000 });
    await broker.start();
    await eventually(() => broker!.stats.publisherConnections >= 1, 'the publisher to connect', 10_000, 20);
    // Not ready while the broker is settling: the publisher has not learned who subscribes (a client that
    // trusted its subscriptions a fixed delay after connecting went live here and discarded its buffer).
    assert.equal(await z.ready({ timeoutMs: 1000 }), false);
    const sink = new MemorySink();
    backend = new Backend({ name: 'late', broker: ep.subscribe, levels: ['info'], flushIntervalMs: 60_000, sink, selfMetrics: false, log: () => undefined });
    await backend.start();
    await eventually(() => backend!.status().received === 1000, 'the records made during the outage', 15_000);
    // Once the broker has settled, debug (nobody subscribes) is discarded as unsubscribed: not a loss.
    await eventually(() => z.stats().unsubscribed === 1000, 'the debug records to be let go');
    assert.equal(z.stats().dropped, 0);
    assert.equal(z.stats().sent, 1000);
  } finally {
    await z.close({ timeoutMs: 1000 });
    await backend?.stop();
    await broker?.stop();
  }
});

test('the broker counts forwarded records only when the header’s count fits in the frame', async () => {
  const { recordsIn } = await import('../../src/broker/broker.ts');
  const lying = Buffer.alloc(16);
  lying[0] = 1;
  lying.writeUInt32LE(0xffff_ffff, 4); // 4 billion records claimed in a 16-byte frame
  assert.equal(recordsIn([LEVEL_TOPICS[INFO]!, lying]), 0);
  const honest = new BatchWriter(1024, 1024, newPublisherId());
  honest.append(honest.addSeries(encodeSeries(MetricKind.counter, 'c', '', undefined)), 1);
  assert.equal(recordsIn([LEVEL_TOPICS[INFO]!, honest.seal(0)]), 1);
  assert.equal(recordsIn([Buffer.from('nolevel|'), lying]), 0);
  assert.equal(recordsIn([Buffer.from('info|Counter|x|1')]), 1);
});

/** A broker and a backend with a state directory; `options` start another one under the same name: its restart. */
async function brokerAndStatefulBackend(name: string) {
  const ep = await tcpBrokerEndpoints();
  const stateDir = mkdtempSync(join(tmpdir(), 'zibrato-state-'));
  const broker = new Broker({ publishEndpoints: [ep.publish], subscribeEndpoints: [ep.subscribe], selfMetricsIntervalMs: 0 });
  await broker.start();
  const options = { name, broker: ep.subscribe, levels: ['info' as const], flushIntervalMs: 60_000, selfMetrics: false, stateDir, log: () => undefined };
  const first = new Backend({ ...options, sink: new MemorySink() });
  await first.start();
  return { ep, broker, options, first };
}

test('a backend restarted under the same name with a stateDir counts what it missed while it was down', async () => {
  const { ep, broker, options, first } = await brokerAndStatefulBackend('same');
  const pub = new RawPublisher('web-1');
  let second: Backend | undefined;
  try {
    await pub.connect(ep.publish);
    await pub.send(0, 10);
    await eventually(() => first.status().received === 10, 'the first batch');
    await first.stop();
    second = new Backend({ ...options, sink: new MemorySink() });
    await second.start();
    await eventually(async () => {
      // Until the new backend's subscription reaches the broker, these go nowhere: that is the loss to count.
      await pub.send(pub.sent, 10);
      return second!.status().received > 0;
    }, 'the restarted backend to receive');
    // Every record after the first backend's last one is either received or counted as lost by the second.
    await eventually(() => second!.status().received + second!.status().lost === pub.sent - 10, 'received + lost to cover everything sent since');
    assert.ok(second.status().lost > 0, 'the batches sent before the new backend subscribed are counted');
  } finally {
    pub.socket.close();
    await second?.stop();
    await broker.stop();
  }
});

test('records an app makes while its only backend restarts are delivered to the restarted backend or counted, never unmade', async () => {
  const { ep, broker, options, first } = await brokerAndStatefulBackend('restarting');
  const z = new Zibrato({ broker: ep.publish, source: 'steady-app', log: () => undefined });
  const h = z.counterHandle({ name: 'made.across.restart' });
  // Live: the client knows its subscriptions, so a level that loses its last subscriber may be turned off.
  assert.ok(await z.ready({ timeoutMs: 10_000 }), 'the client to learn its subscriptions');
  // The app makes 10 records every 5 ms whatever happens to the backend, as a real one would.
  let made = 0;
  const app = setInterval(() => {
    for (let i = 0; i < 10; i++) h.inc();
    made += 10;
  }, 5);
  let second: Backend | undefined;
  try {
    await eventually(() => first.status().received > 0, 'the first backend to receive');
    await first.stop();
    // The fault: no backend while the app makes 100 more ticks (at least 500 ms, longer than the 300 ms after
    // which the client used to turn the level off, from when on its calls made nothing and were counted nowhere).
    const madeAtStop = made;
    await eventually(() => made - madeAtStop >= 1000, 'the app to go on making records with no backend', 30_000, 5);
    second = new Backend({ ...options, sink: new MemorySink() });
    await second.start();
    await eventually(() => second!.status().received > 0, 'the restarted backend to receive');
    clearInterval(app);
    await z.close({ timeoutMs: 5000 });
    // Every record made is received by one of the two backends, or counted: as a gap by the restarted one, or by the client.
    const accounted = () => first.status().received + second!.status().received + second!.status().lost + z.stats().unsubscribed + z.stats().dropped;
    await eventually(() => accounted() === made, `received + counted to reach the ${made} records made`, 10_000);
  } finally {
    clearInterval(app);
    await z.close({ timeoutMs: 100 });
    await second?.stop();
    await broker.stop();
  }
});

test('a broker connection that fails its handshake is logged by the client, rate-limited, not swallowed', async () => {
  const server = createServer((socket) => {
    // The client resets the connection once it sees no ZMTP greeting: expected here, not a test failure.
    socket.on('error', () => undefined);
    socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const lines: string[] = [];
  const z = new Zibrato({ broker: `tcp://127.0.0.1:${port}`, log: (l) => lines.push(l) });
  try {
    await eventually(() => lines.some((l) => /^ZIB_TRANSPORT: broker connection at tcp:\/\/127\.0\.0\.1:\d+: handshake:error/.test(l)), 'a ZIB_TRANSPORT line', 10_000);
    // The client reconnects every few hundred ms; the log says it once per interval, not once per attempt.
    assert.equal(lines.filter((l) => l.startsWith('ZIB_TRANSPORT')).length, 1);
  } finally {
    await z.close({ timeoutMs: 100 });
    server.close();
  }
});

test('a stopping backend keeps the batches already on their way to it: its unsubscription does not discard them', async () => {
  const ep = await tcpBrokerEndpoints();
  const sink = new MemorySink();
  const backend = new Backend({ name: 'in-flight', broker: ep.subscribe, levels: ['info'], flushIntervalMs: 60_000, sink, selfMetrics: false, log: () => undefined });
  // In the broker's place: what it sent before it saw the unsubscription is what a broker has in flight.
  const pub = new RawPublisher('web-1');
  try {
    await backend.start();
    await pub.bind(ep.subscribe);
    await pub.send(0, 10);
    await eventually(() => backend.status().received === 10, 'the first batch');
    const perBatch = 1000;
    const frames = Array.from({ length: 50 }, (_, i) => pub.batch(10 + i * perBatch, perBatch));
    // Handed to ZeroMQ before the backend unsubscribes, so they pass the publisher's filter.
    const sends = frames.map((f) => pub.socket.send([LEVEL_TOPICS[INFO]!, f]));
    // `zibrato up` stops a backend after the broker; a backend behind under load still has a backlog then.
    const stopped = backend.stop();
    await Promise.all(sends);
    await stopped;
    assert.deepEqual({ received: backend.status().received, lost: backend.status().lost }, { received: 10 + frames.length * perBatch, lost: 0 });
  } finally {
    pub.socket.close();
    await backend.stop();
  }
});
