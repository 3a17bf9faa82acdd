import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withReadyClient } from '../helpers/in-process.ts';
import { eventually } from '../helpers/processes.ts';

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('a batch that fills up is sent before the flush interval', async () => {
  // 256-byte batches hold ~25 records; the flush timer is an hour away.
  await withReadyClient(['info'], { flushIntervalMs: 3_600_000, batchBytes: 256 }, async (pipe, z) => {
    const h = z.counterHandle({ name: 'burst' });
    for (let i = 0; i < 100; i++) h.inc();
    await eventually(() => z.stats().sent >= 75, 'the full batches are sent without flush()', 3000, 20);
    await eventually(() => pipe.backend.status().received === z.stats().sent, 'the backend receives them', 3000, 20);
  });
});

test('flush() leaves no pending flush timer behind to keep the process alive', async () => {
  await withReadyClient(['info'], { flushIntervalMs: 3_600_000 }, async (_pipe, z) => {
    const before = timeouts();
    z.count({ name: 'one' });
    assert.equal(timeouts(), before + 1, 'the first record arms the flush timer');
    z.flush();
    assert.equal(timeouts(), before);
  });
});

test('records keep leaving at each flush interval, the flush timer re-armed after it fired', async () => {
  await withReadyClient(['info'], { flushIntervalMs: 20 }, async (_pipe, z) => {
    for (let round = 1; round <= 3; round++) {
      z.count({ name: 'tick' });
      await eventually(() => z.stats().sent === round, `record ${round} leaves without flush()`, 3000, 10);
    }
  });
});
