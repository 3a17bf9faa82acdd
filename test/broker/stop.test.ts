import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { Broker } from '../../src/broker/broker.ts';
import { withReadyClient } from '../helpers/in-process.ts';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually } from '../helpers/processes.ts';

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
