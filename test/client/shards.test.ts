/**
 * The client side of sharded backends without a broker: a handle finds its
 * shard's open batch once, and again only when the shard count changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_LEVELS_MASK } from '../../src/levels.ts';
import { InputProblems } from '../../src/client/input-problems.ts';
import { RecordBuffer } from '../../src/client/record-buffer.ts';
import { SeriesHandle } from '../../src/client/series-handle.ts';
import { decodeBatch, encodeSeries, MetricKind, recordSeries, recordValue, seriesShardHash, shardOf } from '../../src/wire/index.ts';

const INFO = 1;

function setup(names: string[], maxBufferedRecords = 1_000_000) {
  const buffer = new RecordBuffer(maxBufferedRecords, 64 * 1024, ALL_LEVELS_MASK, () => undefined);
  const problems = new InputProblems(buffer, () => undefined);
  const handles = names.map((name) => ({ name, hash: seriesShardHash(name, '', undefined), handle: new SeriesHandle(buffer, problems, INFO, name, encodeSeries(MetricKind.counter, name, '', undefined), seriesShardHash(name, '', undefined)) }));
  return { buffer, handles };
}

/** Per topic, the series names in the queued batches. */
function namesByTopic(buffer: RecordBuffer): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const b of buffer.queue) out.set(b.stream, [...(out.get(b.stream) ?? []), ...decodeBatch(b.frame).series.map((s) => s.name)]);
  return out;
}

const NAMES = Array.from({ length: 32 }, (_, i) => `series.${i}`);

test('after a shard count change each series writes to its own shard’s topic, and only there', () => {
  const { buffer, handles } = setup(NAMES);
  buffer.setShardCount(INFO, 2);
  for (const h of handles) h.handle.inc();
  buffer.sealAll();
  const topics = namesByTopic(buffer);
  assert.deepEqual([...topics.keys()].sort(), ['info|1/2|', 'info|2/2|']);
  for (const h of handles) {
    const mine = `info|${shardOf(h.hash, 2) + 1}/2|`;
    assert.deepEqual(topics.get(mine)?.filter((n) => n === h.name), [h.name], `${h.name} on ${mine}`);
    const other = `info|${2 - shardOf(h.hash, 2)}/2|`;
    assert.ok(!topics.get(other)?.includes(h.name), `${h.name} also on ${other}`);
  }
});

test('records held from before a shard count change are split again among the new shards', () => {
  const { buffer, handles } = setup(NAMES);
  for (const h of handles) h.handle.inc(3);
  buffer.sealAll(); // held in the queue on info|, as while the client learns who subscribes
  buffer.setShardCount(INFO, 2);
  for (const h of handles) h.handle.inc(4);
  buffer.sealAll();
  assert.ok(buffer.queue.every((b) => b.stream !== 'info|'), 'nothing left on the unsharded topic');
  const sums = new Map<string, number>();
  for (const b of buffer.queue) {
    const batch = decodeBatch(b.frame);
    for (let i = 0; i < batch.recordCount; i++) {
      const s = batch.series[recordSeries(batch, i)]!;
      assert.equal(b.stream, `info|${shardOf(seriesShardHash(s.name, s.source, s.tags), 2) + 1}/2|`, `${s.name} on its shard`);
      sums.set(s.name, (sums.get(s.name) ?? 0) + recordValue(batch, i));
    }
  }
  for (const n of NAMES) assert.equal(sums.get(n), 7, n);
  assert.equal(buffer.queuedRecords, 2 * NAMES.length);
  assert.equal(buffer.dropped, 0);
});

test('the batch being sent is not split again under the transport', () => {
  const { buffer, handles } = setup(NAMES);
  for (const h of handles) h.handle.inc();
  buffer.sealAll();
  const inFlight = buffer.queue[0]!;
  buffer.sending = inFlight;
  buffer.setShardCount(INFO, 2);
  assert.equal(buffer.queue[0], inFlight);
  assert.equal(buffer.queuedRecords, NAMES.length);
});

test('a shard count change seals the open batches of the old count and nothing is lost across several changes', () => {
  const { buffer, handles } = setup(NAMES);
  let made = 0;
  for (const count of [2, 3, 1, 4, 2]) {
    for (const h of handles) {
      h.handle.inc(2);
      made += 2;
    }
    buffer.setShardCount(INFO, count);
  }
  buffer.sealAll();
  let queued = 0;
  for (const b of buffer.queue) {
    const batch = decodeBatch(b.frame);
    for (let i = 0; i < batch.recordCount; i++) queued += 2;
  }
  assert.equal(queued, made);
  assert.equal(buffer.queuedRecords, made / 2);
  for (const b of buffer.queue) assert.match(b.stream, /^info\|([1-4]\/[2-4]\|)?$/);
});

test('setting the shard count a level already has changes nothing', () => {
  const { buffer, handles } = setup(NAMES);
  for (const h of handles) h.handle.inc();
  const generation = buffer.generation;
  assert.equal(buffer.setShardCount(INFO, 1), false);
  assert.equal(buffer.generation, generation);
  assert.equal(buffer.queue.length, 0);
});

test('a level split 256 ways opens a batch only for the shards its series use', () => {
  const { buffer, handles } = setup(NAMES.slice(0, 3));
  buffer.setShardCount(INFO, 256);
  for (const h of handles) h.handle.inc();
  const open = buffer.writers[INFO]!.filter((w) => w !== undefined);
  assert.ok(open.length >= 1 && open.length <= 3, `${open.length} open batches`);
  assert.equal(buffer.bufferedRecords, 3);
});

test('open batches a shard count change cannot seal into a full queue are counted as dropped', () => {
  const { buffer, handles } = setup(NAMES, NAMES.length);
  for (const h of handles) h.handle.inc();
  buffer.sealAll(); // the queue is at its bound
  for (const h of handles) h.handle.inc(); // and these wait in the open batch
  buffer.setShardCount(INFO, 2);
  assert.ok(buffer.dropped > 0, 'the open batch did not fit the queue');
  assert.equal(buffer.bufferedRecords + buffer.dropped, 2 * NAMES.length, 'every record is buffered or counted as dropped');
});

test('a handle write reads none of the queued batches, however many are held (its cost does not grow with the queue)', () => {
  const { buffer, handles } = setup(NAMES);
  // 2,000 batches held, as while the broker is away.
  for (let i = 0; i < 2_000; i++) {
    handles[i % NAMES.length]!.handle.inc();
    buffer.sealAll();
  }
  let reads = 0;
  const queue = new Proxy(buffer.queue, {
    get(target, key, receiver) {
      reads++;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  Object.defineProperty(buffer, 'queue', { value: queue });
  for (const h of handles) h.handle.inc();
  assert.equal(reads, 0, `${reads} reads of the queue for ${handles.length} writes`);
  assert.equal(buffer.queue.length, 2_000, 'the writes were not sealed');
});
