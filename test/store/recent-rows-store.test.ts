import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricStore } from '../../src/store/store.ts';
import type { MetricPoint } from '../../src/sinks/sink.ts';
import { batch, tempStoreDir } from '../helpers/store.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const RETENTION = { raw: 2 * DAY, m1: 30 * DAY, h1: 365 * DAY };
/** 01:00 UTC yesterday: one-minute flushes land on whole minutes, and the hours the tests write stay within one day (none is sealed). */
const BASE = Math.floor(Date.now() / DAY) * DAY - DAY + HOUR;

const stores: MetricStore[] = [];
after(async () => {
  for (const s of stores) await s.close();
});

async function open(dir: string, options: Partial<Parameters<typeof MetricStore.open>[0]> = {}): Promise<MetricStore> {
  const store = await MetricStore.open({ dir, retentionMs: RETENTION, rollupGraceMs: 0, ...options });
  stores.push(store);
  return store;
}

async function close(store: MetricStore): Promise<void> {
  stores.splice(stores.indexOf(store), 1);
  await store.close();
}

const gauge = (host: string, value: number): MetricPoint => ({ type: 'gauge', name: 'g', source: host, tags: {}, value });
const oneMinute = (minute: number, points: MetricPoint[]) => batch(BASE + (minute + 1) * MINUTE, MINUTE, points);
const lastPerMinute = async (store: MetricStore, host: string, minutes: number): Promise<(number | null)[]> =>
  (await store.query({ name: 'g', source: host, stat: 'last', tags: [], fromMs: BASE, toMs: BASE + minutes * MINUTE, stepMs: MINUTE, top: 20 })).series[0]!.points.map(([, v]) => v);

/** Counts the statements the store sends to DuckDB on its query connections while `fn` runs. */
async function duckDbReads(store: MetricStore, fn: () => Promise<unknown>): Promise<number> {
  const connections = ['reader', 'recentReader'].map((k) => (store as unknown as Record<string, { run: (...a: unknown[]) => Promise<unknown> }>)[k]!);
  let reads = 0;
  const originals = connections.map((c) => c.run);
  connections.forEach((c, i) => {
    c.run = (...a: unknown[]) => {
      reads++;
      return originals[i]!.apply(c, a);
    };
  });
  try {
    await fn();
  } finally {
    connections.forEach((c, i) => (c.run = originals[i]!));
  }
  return reads;
}

test("a series' first query over rows written since the store opened is answered from memory, without reading DuckDB", async () => {
  const store = await open(tempStoreDir('recent-first'), { now: () => BASE + 31 * MINUTE });
  for (let m = 0; m < 30; m++) await store.write(oneMinute(m, [gauge('a', m), gauge('b', -m)]));
  await store.maintain();
  let values: (number | null)[] = [];
  assert.equal(await duckDbReads(store, async () => (values = await lastPerMinute(store, 'a', 30))), 0);
  assert.deepEqual(values, Array.from({ length: 30 }, (_, m) => m));
});

test("with ten-second flushes, a series' first query over rows written since the store opened reads nothing from DuckDB: its rolled-up minutes and its raw rows past the rollup watermark are in memory", async () => {
  let nowMs = BASE;
  const store = await open(tempStoreDir('recent-raw'), { now: () => nowMs, rollupGraceMs: 30_000 });
  for (let i = 1; i <= 6 * 30; i++) {
    nowMs = BASE + i * 10_000;
    await store.write(batch(nowMs, 10_000, [gauge('a', i), gauge('b', -i)]));
    if (i % 6 === 0) await store.maintain();
  }
  const watermark = (store as unknown as { watermark: { m1: number } }).watermark.m1;
  assert.ok(watermark > BASE && watermark < nowMs, 'the watermark cuts through the rows');
  const spec = { name: 'g', source: 'a', stat: 'last', tags: [], fromMs: BASE, toMs: BASE + 30 * MINUTE, stepMs: MINUTE, top: 20 };
  let values: (number | null)[] = [];
  assert.equal(await duckDbReads(store, async () => (values = (await store.query(spec)).series[0]!.points.map(([, v]) => v))), 0);
  assert.deepEqual(values, Array.from({ length: 30 }, (_, m) => 6 * (m + 1)));
});

test('answers are the same with rows in memory and without, across a restart, with ten-second flushes past the rollup watermark and one-minute flushes', async () => {
  let nowMs = BASE;
  const dirs = [tempStoreDir('recent-eq-kept'), tempStoreDir('recent-eq-none')];
  const openBoth = () => Promise.all([open(dirs[0]!, { now: () => nowMs, rollupGraceMs: 30_000 }), open(dirs[1]!, { now: () => nowMs, rollupGraceMs: 30_000, recentMaxNumbers: 0 })]);
  let both = await openBoth();
  const counter = (value: number): MetricPoint => ({ type: 'counter', name: 'c', source: '', tags: {}, value, rate: value / 10 });
  const round = async (first: number, last: number) => {
    for (let i = first; i <= last; i++) {
      nowMs = BASE + i * 10_000;
      // Ten-second flushes of a counter; a one-minute flush of a gauge at each whole minute.
      for (const s of both) await s.write(batch(nowMs, 10_000, [counter(i)]));
      if (i % 6 === 0) for (const s of both) await s.write(batch(nowMs, MINUTE, [gauge('a', i)]));
      if (i % 6 === 0) for (const s of both) await s.maintain();
    }
  };
  const compare = async () => {
    for (const [name, stat, stepMs] of [['c', 'sum', 10_000], ['c', 'sum', MINUTE], ['c', 'rate', 2 * MINUTE], ['g', 'last', MINUTE]] as const) {
      const spec = { name, stat, tags: [], fromMs: BASE, toMs: nowMs + MINUTE, stepMs, top: 20 };
      assert.deepEqual(await both[0]!.query(spec), await both[1]!.query(spec), JSON.stringify(spec));
    }
  };
  await round(1, 100);
  await compare();
  for (const s of both) await close(s);
  both = await openBoth();
  await compare();
  await round(101, 200);
  await compare();
});

test('a query across a restart answers the rows written before it (from DuckDB) and after it (from memory), each once', async () => {
  const dir = tempStoreDir('recent-restart');
  const now = () => BASE + 41 * MINUTE;
  const first = await open(dir, { now });
  for (let m = 0; m < 20; m++) await first.write(oneMinute(m, [gauge('a', m)]));
  await first.maintain();
  await close(first);
  const store = await open(dir, { now });
  for (let m = 20; m < 40; m++) await store.write(oneMinute(m, [gauge('a', m)]));
  await store.maintain();
  const expected = Array.from({ length: 40 }, (_, m) => m);
  assert.deepEqual(await lastPerMinute(store, 'a', 40), expected);
  // Its repeat (rows below the watermark now cached too) answers the same.
  assert.deepEqual(await lastPerMinute(store, 'a', 40), expected);
});

test("after a restart the rows stored before it are read back into memory in the background: once read, a series' first query over them reads nothing from DuckDB", async () => {
  const dir = tempStoreDir('recent-reload');
  const now = () => BASE + 3 * HOUR;
  const first = await open(dir, { now });
  for (let m = 0; m < 150; m++) await first.write(oneMinute(m, [gauge('a', m), gauge('b', -m)]));
  await first.maintain();
  await close(first);
  const store = await open(dir, { now });
  await (store as unknown as { loadingRecent: Promise<void> }).loadingRecent;
  let values: (number | null)[] = [];
  assert.equal(await duckDbReads(store, async () => (values = await lastPerMinute(store, 'b', 150))), 0);
  assert.deepEqual(values, Array.from({ length: 150 }, (_, m) => -m));
});

test('after a restart no row of a sealed (compacted) day is read back into memory, and a query across the day boundary answers every minute', async () => {
  const dir = tempStoreDir('recent-reload-sealed');
  const midnight = Math.floor(Date.now() / DAY) * DAY - DAY;
  const now = () => midnight + 2 * HOUR;
  const first = await open(dir, { now });
  const minuteAt = (m: number) => batch(midnight - 2 * HOUR + (m + 1) * MINUTE, MINUTE, [gauge('a', m)]);
  for (let m = 0; m < 4 * 60; m++) await first.write(minuteAt(m));
  await first.maintain();
  assert.equal(first.compactedUptoMs, midnight, 'the day before is sealed');
  await close(first);
  const store = await open(dir, { now });
  await (store as unknown as { loadingRecent: Promise<void> }).loadingRecent;
  assert.equal((store as unknown as { recent: { from: number } }).recent.from, midnight);
  const spec = { name: 'g', source: 'a', stat: 'last', tags: [], fromMs: midnight - 2 * HOUR, toMs: midnight + 2 * HOUR, stepMs: MINUTE, top: 20 };
  assert.deepEqual((await store.query(spec)).series[0]!.points.map(([, v]) => v), Array.from({ length: 4 * 60 }, (_, m) => m));
});

test('a one-minute flush that arrives late, below the rows in memory, while the rows stored before a restart are read back, is answered (the read is not kept)', async () => {
  const dir = tempStoreDir('recent-reload-late');
  const now = () => BASE + 3 * HOUR;
  const first = await open(dir, { now });
  for (let m = 0; m < 150; m++) if (m !== 140) await first.write(oneMinute(m, [gauge('a', m)]));
  await first.maintain();
  await close(first);
  const store = await open(dir, { now });
  // Written while the first hour read back is in flight: that read began before it.
  await store.write(oneMinute(140, [gauge('a', 140)]));
  await (store as unknown as { loadingRecent: Promise<void> }).loadingRecent;
  assert.deepEqual(await lastPerMinute(store, 'a', 150), Array.from({ length: 150 }, (_, m) => m));
});

test('a minute re-rolled from raw rows that arrived late answers its new value, not the one kept in memory before', async () => {
  let nowMs = BASE + 5 * MINUTE;
  const store = await open(tempStoreDir('recent-reroll'), { now: () => nowMs });
  const counter = (value: number): MetricPoint => ({ type: 'counter', name: 'c', source: '', tags: {}, value, rate: value / 10 });
  for (let m = 0; m < 5; m++) await store.write(batch(BASE + m * MINUTE + 10_000, 10_000, [counter(1)]));
  await store.maintain();
  const sums = async () => (await store.query({ name: 'c', stat: 'sum', tags: [], fromMs: BASE, toMs: BASE + 5 * MINUTE, stepMs: MINUTE, top: 20 })).series[0]!.points.map(([, v]) => v);
  assert.deepEqual(await sums(), [1, 1, 1, 1, 1]);
  // Minute 2's second interval arrives after its minute was rolled up.
  nowMs += MINUTE;
  await store.write(batch(BASE + 2 * MINUTE + 20_000, 10_000, [counter(5)]));
  await store.maintain();
  assert.equal(store.late.rerolled, 1);
  assert.deepEqual(await sums(), [1, 1, 6, 1, 1]);
});

test('rows deleted by 1-minute retention leave memory too, and queries answer what the table holds', async () => {
  let nowMs = BASE + 3 * HOUR;
  const retentionMs = { raw: HOUR, m1: 2 * HOUR, h1: 365 * DAY };
  const [kept, none] = await Promise.all([open(tempStoreDir('recent-retention'), { now: () => nowMs, retentionMs }), open(tempStoreDir('recent-retention-none'), { now: () => nowMs, retentionMs, recentMaxNumbers: 0 })]);
  for (let m = 0; m < 170; m++) for (const s of [kept, none]) await s.write(oneMinute(m, [gauge('a', m)]));
  const numbersBefore = (kept as unknown as { recent: { numbers: number } }).recent.numbers;
  nowMs += 2 * HOUR;
  for (const s of [kept, none]) await s.maintain();
  assert.ok((kept as unknown as { recent: { numbers: number } }).recent.numbers < numbersBefore, 'rows past retention are dropped from memory');
  for (const [fromMs, stepMs] of [
    [BASE, HOUR],
    [BASE + 2 * HOUR, MINUTE],
    [BASE + 2 * HOUR + 30 * MINUTE, MINUTE],
  ] as const) {
    const spec = { name: 'g', stat: 'last', tags: [], fromMs, toMs: BASE + 3 * HOUR, stepMs, top: 20 };
    assert.deepEqual(await kept.query(spec), await none.query(spec), JSON.stringify(spec));
  }
});

test('a store backend configured with recentRowsMiB below 0 is refused, the message naming the option; 0 keeps no row in memory', async () => {
  const { storeSinkSpec } = await import('../../src/store/store-sink.ts');
  const { resolveSinkOptions } = await import('../../src/sinks/registry.ts');
  const resolve = (recentRowsMiB: number) => {
    const o = resolveSinkOptions(storeSinkSpec, { path: tempStoreDir('recent-option'), port: 0, recentRowsMiB }, 'backends[0].options');
    storeSinkSpec.validate!(o, 'backends[0].options');
    return o;
  };
  assert.throws(() => resolve(-1), /backends\[0\]\.options\.recentRowsMiB/);
  const sink = storeSinkSpec.create(resolve(0), { backendName: 'b', log: () => undefined }) as import('../../src/store/store-sink.ts').StoreSink;
  await sink.start();
  try {
    await sink.export(oneMinute(0, [gauge('a', 1)]));
    assert.equal((sink.store as unknown as { recent: { numbers: number } }).recent.numbers, 0);
  } finally {
    await sink.stop();
  }
});
