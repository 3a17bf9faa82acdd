import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { Broker } from '../../src/broker/broker.ts';
import { Zibrato } from '../../src/client/zibrato.ts';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually } from '../helpers/processes.ts';

test('an idle broker does not repeat its status line: it logs again only when records move (its own self-metrics do not count)', async () => {
  const ep = await tcpBrokerEndpoints();
  const lines: string[] = [];
  const broker = new Broker({ publishEndpoints: [ep.publish], subscribeEndpoints: [ep.subscribe], selfMetricsIntervalMs: 50, log: (l) => lines.push(l) });
  await broker.start();
  // A subscriber to everything counts the messages the broker forwards: once a record has gone through, the
  // broker's `forwarded` self-metric is itself forwarded every interval, so each message after it marks an interval.
  const sub = new zmq.Subscriber({ linger: 0 });
  sub.connect(ep.subscribe);
  sub.subscribe();
  let messages = 0;
  const receiving = (async () => {
    for await (const _ of sub) messages++;
  })().catch(() => {});
  const z = new Zibrato({ broker: ep.publish, flushIntervalMs: 3_600_000 });
  const status = () => lines.filter((l) => l.startsWith('status: ')).length;
  try {
    assert.ok(await z.ready({ levels: ['info'], timeoutMs: 5000 }));
    z.count({ name: 'status.line', value: 1 });
    z.flush();
    // The record, then the self-metrics of the interval that forwarded it: that interval has logged.
    await eventually(() => messages >= 3, 'the record and two intervals of self-metrics', 5000, 10);
    const logged = status();
    assert.ok(logged >= 1, lines.join('\n'));
    assert.match(lines.find((l) => l.startsWith('status: '))!, /^status: forwarded \d+ records in \d+ messages, dropped 0$/);
    // Eight more intervals with only the broker's own records going through.
    await eventually(() => messages >= 11, 'eight more intervals', 5000, 10);
    assert.equal(status(), logged, lines.join('\n'));
  } finally {
    await z.close({ timeoutMs: 1000 });
    sub.close();
    await receiving;
    await broker.stop();
  }
});
