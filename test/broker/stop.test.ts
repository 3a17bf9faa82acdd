import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { Broker, recordsIn } from '../../src/broker/broker.ts';
import { Zibrato } from '../../src/client/zibrato.ts';
import { topicFor } from '../../src/wire/topic.ts';
import { withReadyClient } from '../helpers/in-process.ts';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually, zibrato } from '../helpers/processes.ts';

test('a batch a client flushes while its broker stops reaches the backend', async () => {
  // A flush interval far past the test: only the explicit flush sends.
  await withReadyClient(['info'], { flushIntervalMs: 3_600_000 }, async (pipe, z) => {
    const h = z.counterHandle({ name: 'stop.race' });
    for (let i = 0; i < 1000; i++) h.inc();
    // The race of `zibrato up` under load: the last batch leaves the app as the broker is told to stop.
    z.flush();
    await pipe.broker.stop();
    const { sent, dropped, buffered } = z.stats();
    assert.equal(sent + dropped + buffered, 1000);
    await eventually(() => pipe.backend.status().received === sent, `the backend receives all ${sent} records the client counted as sent`, 3000, 20);
  });
});

test('a client holds what it makes once its broker says it is stopping, and counts it if the broker never returns', async () => {
  await withReadyClient(['info'], { flushIntervalMs: 3_600_000 }, async (pipe, z) => {
    await pipe.broker.stop();
    z.count({ name: 'after.stop', value: 1 });
    z.flush();
    await z.close({ timeoutMs: 50 });
    assert.deepEqual({ sent: z.stats().sent, dropped: z.stats().dropped }, { sent: 0, dropped: 1 });
    assert.equal(pipe.backend.status().received, 0);
  });
});

test('a stopping broker stops waiting for a publisher that never confirms its last send after its drain timeout, and says so', async () => {
  const ep = await tcpBrokerEndpoints();
  const lines: string[] = [];
  const broker = new Broker({ publishEndpoints: [ep.publish], subscribeEndpoints: [ep.subscribe], selfMetricsIntervalMs: 0, drainTimeoutMs: 300, log: (l) => lines.push(l) });
  await broker.start();
  // A raw ZeroMQ publisher: it does not speak the stop protocol.
  const raw = new zmq.Publisher({ linger: 0 });
  raw.connect(ep.publish);
  try {
    await eventually(() => broker.stats.publisherConnections === 1, 'the raw publisher connects', 5000, 20);
    await broker.stop();
    assert.ok(lines.some((l) => /stopped waiting after 300 ms for 1 publisher/.test(l)), lines.join('\n'));
  } finally {
    raw.close();
    await broker.stop();
  }
});

/**
 * A subscriber that reads nothing, and a client that sends it 2.4 million
 * records (about 24 MB: several times what the kernel buffers of one
 * connection hold), so past those buffers the batches wait in the broker's
 * ZeroMQ queue, as they do for a backend that lags or hangs.
 */
async function backlogForIdleSubscriber(ep: { publish: string; subscribe: string }, name: string): Promise<{ sub: zmq.Subscriber; z: Zibrato }> {
  const sub = new zmq.Subscriber({ receiveHighWaterMark: 1, receiveBufferSize: 4096, linger: 0 });
  const z = new Zibrato({ broker: ep.publish, log: () => undefined, flushIntervalMs: 3_600_000 });
  sub.connect(ep.subscribe);
  sub.subscribe(topicFor('info'));
  assert.ok(await z.ready({ levels: ['info'], timeoutMs: 15_000 }), 'the client learns the subscriber');
  const h = z.counterHandle({ name });
  for (let chunk = 0; chunk < 6; chunk++) {
    for (let i = 0; i < 400_000; i++) h.inc();
    z.flush();
    await eventually(() => z.stats().buffered === 0, 'the client hands its records to ZeroMQ', 20_000, 20);
  }
  return { sub, z };
}

test('a zibrato broker stopped by SIGTERM delivers what it queued for a slow subscriber before its process exits', async () => {
  const ep = await tcpBrokerEndpoints();
  const broker = zibrato(['broker', '--publish', ep.publish, '--subscribe', ep.subscribe, '--stats-interval', '0'], { label: 'broker' });
  let sub: zmq.Subscriber | undefined;
  let z: Zibrato | undefined;
  try {
    await broker.waitFor(/broker up/);
    // It reads nothing until the broker stops, as a backend that lags under load.
    ({ sub, z } = await backlogForIdleSubscriber(ep, 'stop.queued'));
    const { sent } = z.stats();
    assert.equal(sent, 2_400_000);
    broker.child.kill('SIGTERM');
    // The broker has the client confirm its last send, forwards it, then closes: read from then on.
    await broker.waitFor(/broker stopping: forwarded/);
    sub.receiveTimeout = 3000;
    let received = 0;
    try {
      while (received < sent) received += recordsIn(await sub.receive());
    } catch {
      // receiveTimeout: nothing more arrives.
    }
    assert.equal(received, sent, `the subscriber received ${received} of the ${sent} records the broker forwarded`);
    assert.equal((await broker.exited).code, 0);
  } finally {
    sub?.close();
    await z?.close({ timeoutMs: 0 });
    await broker.stop('SIGKILL', 5_000);
  }
});

test('a stopping broker gives up on a subscriber that reads nothing after its linger, and says so with a code', async () => {
  const ep = await tcpBrokerEndpoints();
  const lines: string[] = [];
  const broker = new Broker({ publishEndpoints: [ep.publish], subscribeEndpoints: [ep.subscribe], selfMetricsIntervalMs: 0, log: (l) => lines.push(l) });
  await broker.start();
  let sub: zmq.Subscriber | undefined;
  let z: Zibrato | undefined;
  try {
    // It never reads: a hung backend.
    ({ sub, z } = await backlogForIdleSubscriber(ep, 'stop.hung'));
    await broker.stop();
    assert.ok(lines.some((l) => /ZIB_BROKER_LINGER/.test(l)), lines.join('\n'));
  } finally {
    sub?.close();
    await z?.close({ timeoutMs: 0 });
    await broker.stop();
  }
});
