import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricPoint } from '../../src/sinks/sink.ts';
import type { MetricStore } from '../../src/store/store.ts';
import { batch, startStoreSink, tempStoreDir } from '../helpers/store.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SERIES = 300;

/** Unrounded doubles, so the raw rows take many blocks that retention then frees. */
function gauges(f: number): MetricPoint[] {
  return Array.from({ length: SERIES }, (_, i) => ({ type: 'gauge' as const, name: 'g', source: '', tags: { i: String(i) }, value: (i + 1) * (1 + Math.sin(f / 7 + i)) * Math.PI }));
}

/** What a restart must keep: rows per resolution, a day of one series, the compaction mark. */
async function snapshot(store: MetricStore, from: number, to: number): Promise<unknown> {
  return {
    rows: await store.rowCounts(),
    series: store.seriesCount,
    compactedUpto: store.compactedUptoMs,
    answer: await store.query({ name: 'g', stat: 'last', fromMs: from, toMs: to, stepMs: MINUTE, tags: [['i', '7']], top: 1 }),
  };
}

describe('store: free blocks reclaimed when the store stops', () => {
  const stops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const s of stops) await s();
  });

  test('a stopped store whose file is mostly free blocks is rewritten to the size its rows need, and reopens with the same rows, marks and dashboards', async () => {
    const dir = tempStoreDir('reclaim');
    const start = Date.UTC(2026, 0, 1);
    let nowMs = start;
    const first = await startStoreSink({ dir, now: () => nowMs, http: false });
    // Two hours of ten-second flushes: raw rows, rolled up, then deleted past raw retention, which frees their blocks.
    for (let f = 1; f <= 720; f++) await first.sink.export(batch(start + f * 10_000, 10_000, gauges(f)));
    nowMs = start + 3 * DAY;
    await first.sink.maintain();
    await first.sink.store!.putDashboard('home', { name: 'home', charts: [] });
    const path = join(dir, 'store.duckdb');
    const stats = await first.sink.store!.stats();
    const fileBytes = statSync(path).size;
    const before = await snapshot(first.sink.store!, start, start + 2 * HOUR);
    assert.ok(stats.freeBytes >= fileBytes / 2, `free ${stats.freeBytes} of ${fileBytes} bytes`);
    await first.sink.stop();
    // The final checkpoint adds what was still in the WAL (a few blocks); the free half is gone.
    assert.ok(statSync(path).size < fileBytes - stats.freeBytes / 2, `file ${statSync(path).size} bytes after stopping, ${fileBytes} before with ${stats.freeBytes} free`);
    assert.equal(existsSync(`${path}.reclaim`), false);

    const second = await startStoreSink({ dir, now: () => nowMs, http: false });
    stops.push(() => second.sink.stop());
    assert.equal((await second.sink.store!.stats()).freeBytes, 0);
    assert.deepEqual(await snapshot(second.sink.store!, start, start + 2 * HOUR), before);
    // The rollup watermarks survived: nothing is rolled up twice.
    await second.sink.maintain();
    assert.deepEqual(await snapshot(second.sink.store!, start, start + 2 * HOUR), before);
    // Keys survived too: storing a dashboard again replaces it.
    await second.sink.store!.putDashboard('home', { name: 'home', charts: [{ title: 'g' }] });
    assert.deepEqual(await second.sink.store!.listDashboards(), [{ name: 'home', updated: nowMs, charts: 1 }]);
  });

  test('a stopped store with few free blocks keeps its file as it is', async () => {
    const dir = tempStoreDir('reclaim-few');
    const t = Math.floor(Date.now() / 10_000) * 10_000;
    const { sink } = await startStoreSink({ dir, http: false });
    await sink.export(batch(t, 10_000, gauges(1)));
    await sink.store!.close();
    const path = join(dir, 'store.duckdb');
    const inode = statSync(path).ino;
    sink.store = undefined;
    const again = await startStoreSink({ dir, http: false });
    await again.sink.stop();
    assert.equal(statSync(path).ino, inode);
  });

  test('a rewrite left unfinished by an interrupted stop is discarded when the store opens, and the database is the old file', async () => {
    const dir = tempStoreDir('reclaim-left');
    const t = Math.floor(Date.now() / 10_000) * 10_000;
    const first = await startStoreSink({ dir, http: false });
    await first.sink.export(batch(t, 10_000, gauges(1)));
    await first.sink.stop();
    const path = join(dir, 'store.duckdb');
    writeFileSync(`${path}.reclaim`, 'half a copy');
    const second = await startStoreSink({ dir, http: false });
    stops.push(() => second.sink.stop());
    assert.equal(existsSync(`${path}.reclaim`), false);
    assert.deepEqual(await second.sink.store!.rowCounts(), { raw: SERIES, m1: 0, h1: 0 });
  });
});
