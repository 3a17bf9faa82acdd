/**
 * A backend's receiver against a raw ZeroMQ publisher: what it does with
 * records it cannot keep (series limit, oversized frames) and with gaps in a
 * publisher's sequence. Every record is received or counted.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { Receiver } from '../../src/backend/receiver.ts';
import { SeriesStore } from '../../src/backend/series-store.ts';
import { LEVELS } from '../../src/levels.ts';
import { BatchWriter, encodeSeries, LEVEL_TOPICS, MetricKind, stampSequence } from '../../src/wire/index.ts';
import { freeTcpPort } from '../helpers/ports.ts';
import { eventually } from '../helpers/processes.ts';

const INFO_TOPIC = LEVEL_TOPICS[LEVELS.indexOf('info')]!;

/**
 * A receiver of level info on a publisher of our own, subscribed: `warmUp` is
 * sent until one lands (the first messages are lost while the subscription
 * travels), then `body` runs; both are closed after.
 */
async function withReceiver(
  store: SeriesStore,
  warmUp: string,
  body: (r: { pub: zmq.Publisher; receiver: Receiver; lines: string[] }) => Promise<void>,
  maxFrameBytes?: number,
): Promise<void> {
  const port = await freeTcpPort();
  const pub = new zmq.Publisher();
  await pub.bind(`tcp://127.0.0.1:${port}`);
  const lines: string[] = [];
  const receiver = new Receiver(store, `tcp://127.0.0.1:${port}`, ['info'], (l) => lines.push(l), maxFrameBytes);
  receiver.start();
  try {
    await eventually(async () => {
      await pub.send(warmUp);
      return receiver.stats.received > 0 || undefined;
    }, `${warmUp} received`);
    await body({ pub, receiver, lines });
  } finally {
    await receiver.drainAndClose(0, 0);
    pub.close();
  }
}

/** A version 2 batch of one counter series with `records` records, from `publisherId`, stamped with `sequence`. */
function v2Batch(publisherId: Uint8Array, sequence: number, records: number): Buffer {
  const w = new BatchWriter(64 * 1024, 16 * 1024, publisherId);
  const slot = w.addSeries(encodeSeries(MetricKind.counter, 'sequenced', 'app-1', undefined));
  for (let i = 0; i < records; i++) w.append(slot, 1);
  const frame = w.seal(Date.now());
  stampSequence(frame, sequence);
  return frame;
}

describe('receiver at the series limit', () => {
  test('legacy records past the limit and its overflow reserve are dropped with a ZIB_SERIES_LIMIT log line', async () => {
    // The warm-up record takes the one series.
    await withReceiver(new SeriesStore({ maxSeries: 1 }), 'info|c|first|1', async ({ pub, receiver, lines }) => {
      await eventually(async () => {
        // The second metric takes the one overflow slot past the cap; the third has no room.
        await pub.send('info|c|second|1');
        await pub.send('info|c|third|1');
        return receiver.stats.dropped > 0 || undefined;
      }, 'third legacy series dropped');
      assert.ok(lines.some((l) => l.startsWith('ZIB_SERIES_LIMIT')), lines.join('\n'));
    });
  });

  test('records of a native batch past the limit and its overflow reserve are counted as dropped', async () => {
    await withReceiver(new SeriesStore({ maxSeries: 1 }), 'info|c|first|1', async ({ pub, receiver, lines }) => {
      const w = new BatchWriter();
      // The second metric takes the one overflow slot past the cap; the third has no room.
      w.append(w.addSeries(encodeSeries(MetricKind.counter, 'second', '', undefined)), 1);
      w.append(w.addSeries(encodeSeries(MetricKind.counter, 'third', '', undefined)), 1);
      await pub.send([INFO_TOPIC, w.seal(Date.now())]);
      await eventually(() => receiver.stats.dropped > 0 || undefined, 'the record of the third series counted as dropped');
      assert.equal(receiver.stats.dropped, 1, 'only the third series has no room');
      assert.equal(receiver.stats.invalid, 0);
      assert.ok(lines.some((l) => l.startsWith('ZIB_SERIES_LIMIT')), lines.join('\n'));
    });
  });
});

describe('receiver frame size', () => {
  test('a frame over the receiver maximum is skipped and counted with ZIB_ERR_FRAME_TOO_LARGE; one at the maximum is received', async () => {
    const maxFrameBytes = 64;
    /** A legacy text record of exactly `bytes` bytes. */
    const legacy = (bytes: number) => `info|c|${'n'.repeat(bytes - 'info|c||1'.length)}|1`;
    // The control, a frame of exactly the maximum, is the warm-up.
    await withReceiver(
      new SeriesStore({ maxSeries: 10 }),
      legacy(maxFrameBytes),
      async ({ pub, receiver, lines }) => {
        assert.equal(receiver.stats.invalid, 0, lines.join('\n'));
        await pub.send(legacy(maxFrameBytes + 1));
        await eventually(() => receiver.stats.invalid === 1 || undefined, 'the frame over the maximum counted as invalid');
        assert.ok(lines.some((l) => l.startsWith('ZIB_ERR_FRAME_TOO_LARGE') && l.includes(`frame of ${maxFrameBytes + 1} bytes exceeds the ${maxFrameBytes}-byte maximum`)), lines.join('\n'));
      },
      maxFrameBytes,
    );
  });
});

describe('receiver sequence gaps', () => {
  const publisherId = Buffer.from('00112233aabbccdd', 'hex');
  /** Where the receiver expects the publisher's next batch: the sequence after the last batch it handled. */
  const nextSequence = (receiver: Receiver) => receiver.exportStreams().find(([key]) => key.startsWith('00112233aabbccdd'))?.[1];

  test('a jump in a publisher’s sequence counts the records between as lost, by source, with ZIB_LOST', async () => {
    await withReceiver(new SeriesStore({ maxSeries: 10 }), 'info|c|warm.up|1', async ({ pub, receiver, lines }) => {
      // 10 records from sequence 0; the next batch says 25 records came before it: 15 never arrived.
      await pub.send([INFO_TOPIC, v2Batch(publisherId, 0, 10)]);
      await pub.send([INFO_TOPIC, v2Batch(publisherId, 25, 5)]);
      await eventually(() => nextSequence(receiver) === 30 || undefined, 'both batches handled');
      assert.equal(receiver.stats.lost, 15);
      assert.ok(lines.some((l) => l.startsWith('ZIB_LOST') && l.includes('lost 15 records from publisher app-1')), lines.join('\n'));
    });
  });

  test('a sequence that goes back is a duplicate or reordered batch: logged, nothing counted as lost', async () => {
    await withReceiver(new SeriesStore({ maxSeries: 10 }), 'info|c|warm.up|1', async ({ pub, receiver, lines }) => {
      await pub.send([INFO_TOPIC, v2Batch(publisherId, 100, 10)]);
      await pub.send([INFO_TOPIC, v2Batch(publisherId, 100, 10)]);
      await pub.send([INFO_TOPIC, v2Batch(publisherId, 110, 10)]);
      await eventually(() => nextSequence(receiver) === 120 || undefined, 'the three batches handled');
      assert.equal(receiver.stats.lost, 0);
      assert.ok(lines.some((l) => l.startsWith('ZIB_SEQUENCE_BACK')), lines.join('\n'));
    });
  });
});

describe('receiver series table', () => {
  test('two entries of one series in a batch are that series: their records add up to one point', async () => {
    const store = new SeriesStore({ maxSeries: 10 });
    await withReceiver(store, 'info|c|warm.up|1', async ({ pub, receiver }) => {
      const w = new BatchWriter(64 * 1024, 16 * 1024, Buffer.from('0011223344556677', 'hex'));
      const entry = encodeSeries(MetricKind.counter, 'user.requests', 'app-1', { user: 'u1' });
      const first = w.addSeries(entry);
      const again = w.addSeries(entry);
      assert.notEqual(first, again);
      w.append(first, 2);
      w.append(again, 3);
      await pub.send([INFO_TOPIC, w.seal(Date.now())]);
      await eventually(() => receiver.stats.received >= 3 || undefined, 'the batch handled');
      const points = store.collect(1000).filter((p) => p.name === 'user.requests');
      assert.equal(points.length, 1);
      assert.equal(points[0]!.type === 'counter' && points[0]!.value, 5);
    });
  });
});
