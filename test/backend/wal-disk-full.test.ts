/**
 * The write-ahead log on a disk that fills up: the backend keeps aggregating
 * every record, and the records it could not log are counted.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { Backend } from '../../src/backend/backend.ts';
import { decodeMessagePayload, WalRecordType, WriteAheadLog } from '../../src/backend/wal/wal.ts';
import { Broker } from '../../src/broker/broker.ts';
import { Zibrato } from '../../src/index.ts';
import { MemorySink } from '../../src/sinks/memory-sink.ts';
import { decodeBatch } from '../../src/wire/batch-decoder.ts';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually } from '../helpers/processes.ts';
import { mountTinyDisk } from '../helpers/peers/tmpfs.ts';

test('on a full disk the backend still aggregates every record and counts those the log could not hold', async () => {
  const disk = mountTinyDisk(64 * 1024);
  const ep = await tcpBrokerEndpoints();
  const broker = new Broker({ publishEndpoints: [ep.publish], subscribeEndpoints: [ep.subscribe], selfMetricsIntervalMs: 0 });
  const sink = new MemorySink();
  const walDir = join(disk.dir, 'test');
  const backend = new Backend({ name: 'test', broker: ep.subscribe, levels: ['info'], flushIntervalMs: 60_000, sink, selfMetrics: false, log: () => undefined, wal: { dir: walDir } });
  const z = new Zibrato({ broker: ep.publish, source: 'disk-full', log: () => undefined });
  try {
    await broker.start();
    await backend.start();
    assert.ok(await z.ready({ levels: ['info'], timeoutMs: 15_000 }));
    const h = z.counterHandle({ name: 'wal.full' });
    const batches = 400;
    const perBatch = 100;
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < perBatch; i++) h.inc();
      z.flush();
      // Let the batch go out on its own, so the log sees many messages.
      await eventually(() => backend.status().received === (b + 1) * perBatch, `batch ${b}`, 10_000, 2);
    }
    const s = backend.status();
    assert.equal(s.received, batches * perBatch);
    assert.ok(s.wal!.writeErrors > 0, 'the disk never filled');
    assert.ok(s.walDropped > 0);
    // What the log holds plus what it counted is every record.
    let logged = 0;
    WriteAheadLog.read(walDir, (type, payload) => {
      if (type === WalRecordType.message) logged += decodeBatch(decodeMessagePayload(payload)![1]!).recordCount;
    });
    assert.equal(logged + s.walDropped, batches * perBatch);
    await backend.flush();
    const total = sink.batches.flatMap((b) => b.points).filter((p) => p.name === 'wal.full').reduce((a, p) => a + (p.type === 'counter' ? p.value : 0), 0);
    assert.equal(total, batches * perBatch);
  } finally {
    await z.close({ timeoutMs: 1000 });
    await backend.stop();
    await broker.stop();
    disk.unmount();
  }
});
