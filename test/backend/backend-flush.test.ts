import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backend } from '../../src/backend/backend.ts';
import { MemorySink } from '../../src/sinks/memory-sink.ts';

test('a flush tells the sink the configured flush interval, so a final flush can be told from a scheduled one', async () => {
  const sink = new MemorySink();
  const backend = new Backend({ name: 't', broker: 'tcp://127.0.0.1:1', levels: ['info'], flushIntervalMs: 10_000, sink, selfMetrics: false, log: () => undefined });
  await backend.flush(1_700_000_005_000);
  assert.equal(sink.batches[0]!.scheduleMs, 10_000);
  assert.deepEqual(sink.batches[0]!.expired, []);
});
