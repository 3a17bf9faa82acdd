/**
 * A frame over the broker's largest message (MAX_MESSAGE_BYTES): libzmq cuts
 * the publisher off before the frame is buffered, so no receiver ever sees it.
 * Its records are still counted: the publisher's next batch, after it
 * reconnects, carries a sequence past them, and the backend counts the gap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { Broker } from '../../src/broker/broker.ts';
import { Receiver } from '../../src/backend/receiver.ts';
import { SeriesStore } from '../../src/backend/series-store.ts';
import { LEVELS } from '../../src/levels.ts';
import { BatchWriter, encodeSeries, LEVEL_TOPICS, MAX_MESSAGE_BYTES, MetricKind, RECORD_BYTES, stampSequence } from '../../src/wire/index.ts';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually } from '../helpers/processes.ts';

const INFO_TOPIC = LEVEL_TOPICS[LEVELS.indexOf('info')]!;

/** A version 2 batch of one counter series with `records` records from `publisherId`, stamped with `sequence`. */
function batch(publisherId: Uint8Array, sequence: number, records: number): Buffer {
  const w = new BatchWriter(records * RECORD_BYTES + 1024, 16 * 1024, publisherId);
  const slot = w.addSeries(encodeSeries(MetricKind.counter, 'oversize', 'app-1', undefined));
  for (let i = 0; i < records; i++) w.append(slot, 1);
  const frame = w.seal(Date.now());
  stampSequence(frame, sequence);
  return frame;
}

test("a frame over the broker's largest message is counted lost at the publisher's next batch", async () => {
  const ep = await tcpBrokerEndpoints();
  const broker = new Broker({ publishEndpoints: [ep.publish], subscribeEndpoints: [ep.subscribe], selfMetricsIntervalMs: 0, log: () => {} });
  await broker.start();
  const receiver = new Receiver(new SeriesStore(), ep.subscribe, ['info'], () => {});
  receiver.start();
  const pub = new zmq.Publisher({ linger: 0, reconnectInterval: 50 });
  pub.connect(ep.publish);
  const id = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const big = Math.ceil((MAX_MESSAGE_BYTES + 1) / RECORD_BYTES);
  try {
    // The first batch is repeated (same sequence: a repeat is not a gap) until the subscription has travelled and one lands.
    await eventually(async () => {
      await pub.send([INFO_TOPIC, batch(id, 0, 5)]);
      return receiver.stats.received > 0 || undefined;
    }, 'the first batch lands', 10_000, 50);
    assert.ok(batch(id, 5, big).length > MAX_MESSAGE_BYTES);
    await pub.send([INFO_TOPIC, batch(id, 5, big)]);
    // While the publisher is cut off (and until it reconnects) its sends go nowhere: repeat the next batch until one lands.
    // (Repeats of the first batch may still be arriving, so what lands is told apart by the count it makes.)
    await eventually(async () => {
      await pub.send([INFO_TOPIC, batch(id, 5 + big, 5)]);
      return receiver.stats.lost > 0 || undefined;
    }, 'the batch after the oversized one lands and the gap is counted', 10_000, 50);
    assert.equal(receiver.stats.lost, big, `the ${big} records of the oversized frame are counted lost`);
    // It never reached the receiver: not decoded, not counted invalid, not received.
    assert.equal(receiver.stats.invalid, 0);
  } finally {
    pub.close();
    await receiver.drainAndClose(0, 0);
    await broker.stop();
  }
});
