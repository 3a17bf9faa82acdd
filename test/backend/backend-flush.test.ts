import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backend } from '../../src/backend/backend.ts';
import { MemorySink } from '../../src/sinks/memory-sink.ts';
import { withReadyClient } from '../helpers/in-process.ts';
import { eventually } from '../helpers/processes.ts';

test('a flush tells the sink the configured flush interval, so a final flush can be told from a scheduled one', async () => {
  const sink = new MemorySink();
  const backend = new Backend({ name: 't', broker: 'tcp://127.0.0.1:1', levels: ['info'], flushIntervalMs: 10_000, sink, selfMetrics: false, log: () => undefined });
  await backend.flush(1_700_000_005_000);
  assert.equal(sink.batches[0]!.scheduleMs, 10_000);
  assert.deepEqual(sink.batches[0]!.expired, []);
});

test('the zibrato.sink.spooled gauge is reported once more at 0 when the spool drains', async () => {
  const sink = new (class extends MemorySink {
    spooled = 5;
    override status() {
      return { ...super.status(), spooled: this.spooled };
    }
  })();
  const backend = new Backend({ name: 't', broker: 'tcp://127.0.0.1:1', levels: ['info'], flushIntervalMs: 10_000, sink, log: () => undefined });
  const spooled = (i: number): number | undefined => {
    const p = sink.batches[i]!.points.find((x) => x.name === 'zibrato.sink.spooled');
    return p?.type === 'gauge' ? p.value : undefined;
  };
  await backend.flush(1_700_000_010_000);
  sink.spooled = 0;
  await backend.flush(1_700_000_020_000);
  await backend.flush(1_700_000_030_000);
  assert.deepEqual([spooled(0), spooled(1), spooled(2)], [5, 0, undefined]);
});

test('stop() makes a final flush: what arrived since the last flush reaches the sink', async () => {
  await withReadyClient(['info'], { flushIntervalMs: 3_600_000 }, async (pipe, z) => {
    // The backend flushes on the wall clock's minutes: when one falls between a record and its
    // arrival, that flush takes the record, and the test sends another after it.
    let flushedBefore: number;
    let sent = 0;
    do {
      flushedBefore = pipe.sink.batches.length;
      z.count({ name: 'before.stop', value: 7 });
      z.flush();
      sent++;
      await eventually(() => pipe.backend.status().received === sent, 'the record at the backend');
    } while (pipe.sink.batches.length !== flushedBefore);
    // No flush since the last record was sent, and stop() clears the schedule before it yields: only stop() flushes it.
    await pipe.backend.stop();
    const final = pipe.sink.batches.slice(flushedBefore).flatMap((b) => b.points).filter((p) => p.name === 'before.stop');
    assert.deepEqual(final.map((p) => (p.type === 'counter' ? p.value : undefined)), [7]);
  });
});
