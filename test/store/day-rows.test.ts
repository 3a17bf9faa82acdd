import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { MetricPoint } from '../../src/sinks/sink.ts';
import type { MetricStore } from '../../src/store/store.ts';
import type { StoreSink } from '../../src/store/store-sink.ts';
import { batch, startStoreSink, tempStoreDir } from '../helpers/store.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SERIES = 3;

function gauges(f: number): MetricPoint[] {
  return Array.from({ length: SERIES }, (_, i) => ({ type: 'gauge' as const, name: 'g', source: '', tags: { i: String(i) }, value: (i + 1) * Math.PI * (1 + Math.sin(f / 7 + i)) }));
}

/** Writes a one-minute gauge flush for every minute of the day but those in (100, 200]: enough minutes for day rows (90 %), with a gap. */
async function writeDay(sink: { export(b: ReturnType<typeof batch>): Promise<void> }, day: number): Promise<void> {
  for (let f = 1; f <= 1440; f++) if (f <= 100 || f > 200) await sink.export(batch(day + f * MINUTE, MINUTE, gauges(f)));
}

/** Seals the day starting at `day` (the clock, and a flush, past its end), compacts it, and checks that no answer changed. */
async function compactChecked(sink: StoreSink, day: number, setNow: (ms: number) => void): Promise<void> {
  setNow(day + DAY + HOUR);
  await sink.export(batch(day + DAY + HOUR, MINUTE, gauges(0)));
  const before = await answers(sink.store!, day, day + DAY);
  await sink.maintain();
  assert.equal(sink.store!.compactedUptoMs, day + DAY);
  assert.deepEqual(await answers(sink.store!, day, day + DAY), before);
}

const jobs = (value: number, i = 0): MetricPoint => ({ type: 'counter', name: 'jobs', source: '', tags: { i: String(i) }, value, rate: value / 10 });

/** Runs SQL on a stopped store's file (DuckDB lets one process open it) and returns the rows. */
async function onFile(dir: string, sql: string[]): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(join(dir, 'store.duckdb'));
  const c = await instance.connect();
  try {
    let rows: Record<string, unknown>[] = [];
    for (const s of sql) rows = (await c.runAndReadAll(s)).getRowObjectsJS() as Record<string, unknown>[];
    return rows;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** Rows of points_1m and of the day table whose time is in the day starting at `day`. */
async function layout(dir: string, day: number): Promise<{ m1: number; days: number; minutes: number }> {
  const [r] = await onFile(dir, [
    `SELECT (SELECT count(*) FROM points_1m WHERE t >= ${day} AND t < ${day + DAY})::DOUBLE AS m1, (SELECT count(*) FROM points_1m_days WHERE day = ${day})::DOUBLE AS days, (SELECT min(len(coalesce(sum, last))) FROM points_1m_days WHERE day = ${day})::DOUBLE AS minutes`,
  ]);
  return { m1: Number(r!.m1), days: Number(r!.days), minutes: Number(r!.minutes) };
}

/** Each gauge's last/min/max per minute and per hour over [from, to). */
async function answers(store: MetricStore, from: number, to: number, name = 'g'): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const stat of name === 'g' ? ['last', 'min', 'max'] : ['sum', 'rate']) for (const stepMs of [MINUTE, HOUR]) out.push(await store.query({ name, stat, fromMs: from, toMs: to, stepMs, tags: [], top: SERIES }));
  return out;
}

describe('store: a sealed day stored as one row per series', () => {
  const stops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const s of stops) await s();
  });

  test('a compacted day leaves points_1m and is one row per series of 1,440 minutes, with the same answers', async () => {
    const day = Date.UTC(2026, 0, 1);
    let nowMs = day;
    const dir = tempStoreDir('day-rows');
    const { sink } = await startStoreSink({ dir, now: () => nowMs, http: false });
    await writeDay(sink, day);
    await compactChecked(sink, day, (ms) => (nowMs = ms));
    assert.deepEqual(await sink.store!.rowCounts(), { raw: 0, m1: 1341 * SERIES, h1: 0 });
    await sink.stop();
    assert.deepEqual(await layout(dir, day), { m1: 0, days: SERIES, minutes: 1440 });
  });

  test('a series whose day has fewer than 90 % of its minutes keeps them as rows when the day is compacted, with the same answers', async () => {
    const day = Date.UTC(2026, 0, 1);
    let nowMs = day;
    const dir = tempStoreDir('day-rows');
    const { sink } = await startStoreSink({ dir, now: () => nowMs, http: false });
    // Series 0 every minute; the others every third minute of the first 300 (a day row would be mostly NaN, each costing as much as a value).
    for (let f = 1; f <= 1440; f++) await sink.export(batch(day + f * MINUTE, MINUTE, gauges(f).filter((_, i) => i === 0 || (f <= 300 && f % 3 === 1))));
    await compactChecked(sink, day, (ms) => (nowMs = ms));
    await sink.stop();
    assert.deepEqual(await layout(dir, day), { m1: 100 * (SERIES - 1), days: 1, minutes: 1440 });
  });

  test('a read of many series sees full days and days with gaps alike once compacted', async () => {
    const day = Date.UTC(2026, 0, 1);
    let nowMs = day;
    const { sink } = await startStoreSink({ now: () => nowMs, http: false });
    stops.push(() => sink.stop());
    // 70 series (a read of more than 8 splits each day into its dense rows and the others): the odd ones miss minutes 100 to 199.
    const many = (f: number): MetricPoint[] =>
      Array.from({ length: 70 }, (_, i) => ({ type: 'gauge' as const, name: 'w', source: '', tags: { i: String(i) }, value: i + Math.sin(f / 9 + i) / 3 })).filter((_, i) => i % 2 === 0 || f <= 100 || f > 200);
    for (let f = 1; f <= 1440; f++) await sink.export(batch(day + f * MINUTE, MINUTE, many(f)));
    nowMs = day + DAY + HOUR;
    await sink.export(batch(nowMs, MINUTE, many(1)));
    const read = async () => [
      await sink.store!.query({ name: 'w', stat: 'last', fromMs: day, toMs: day + DAY, stepMs: MINUTE, tags: [], top: 70 }),
      await sink.store!.query({ name: 'w', stat: 'avg', fromMs: day, toMs: day + DAY, stepMs: 15 * MINUTE, tags: [], top: 5 }),
      await sink.store!.query({ name: 'w', stat: 'max', fromMs: day + HOUR, toMs: day + 5 * HOUR, stepMs: HOUR, tags: [], top: 70 }),
    ];
    const before = await read();
    await sink.maintain();
    assert.equal(sink.store!.compactedUptoMs, day + DAY);
    assert.deepEqual(await read(), before);
  });

  test('a raw row arriving late for a minute of a compacted day is rolled into that minute again, and no other minute changes', async () => {
    const day = Date.UTC(2026, 0, 1);
    let nowMs = day;
    const { sink } = await startStoreSink({ now: () => nowMs, http: false });
    stops.push(() => sink.stop());
    // A ten-second counter flush of two series in every minute (10 at minutes 5 and 600, else 1); a one-minute flush past the day seals it.
    for (let m = 0; m < 1440; m++) await sink.export(batch(day + m * MINUTE + 10_000, 10_000, [jobs(m === 5 || m === 600 ? 10 : 1, 0), jobs(3, 1)]));
    nowMs = day + DAY + HOUR;
    await sink.export(batch(nowMs, MINUTE, [jobs(1, 0)]));
    await sink.maintain();
    const store = sink.store!;
    assert.equal(store.compactedUptoMs, day + DAY);
    // Minute 5's third interval of series 0 arrives a day late (a spool drained), within raw retention.
    await sink.export(batch(day + 5 * MINUTE + 30_000, 10_000, [jobs(7, 0)]));
    await sink.maintain();
    assert.equal(store.late.rerolled, 1);
    const sums = async (i: string, stepMs: number) => (await store.query({ name: 'jobs', stat: 'sum', fromMs: day, toMs: day + DAY, stepMs, tags: [['i', i]], top: 1 })).series[0]!.points.filter((p) => p[1] !== null && p[1] !== 1 && p[1] !== 3);
    assert.deepEqual(await sums('0', MINUTE), [
      [day + 5 * MINUTE, 17],
      [day + 600 * MINUTE, 10],
    ]);
    assert.deepEqual((await sums('0', HOUR)).slice(0, 2), [
      [day, 59 + 17],
      [day + HOUR, 60],
    ]);
    assert.deepEqual((await sums('0', HOUR))[10], [day + 10 * HOUR, 59 + 10]);
    assert.deepEqual(await sums('1', MINUTE), []);
    // Raw rows: yesterday's and the late one; 1-minute rows: yesterday's (rebuilt, not duplicated) and today's.
    assert.deepEqual(await store.rowCounts(), { raw: 2 * 1440 + 1, m1: 2 * 1440 + 1, h1: 0 });
  });

  test('a one-minute flush arriving late for a compacted day is read beside its day row', async () => {
    const day = Date.UTC(2026, 0, 1);
    let nowMs = day;
    const dir = tempStoreDir('day-rows');
    const { sink } = await startStoreSink({ dir, now: () => nowMs, http: false });
    // Every minute but minute 7: 10 at minutes 5 and 600, else 1.
    for (let m = 0; m < 1440; m++) if (m !== 7) await sink.export(batch(day + (m + 1) * MINUTE, MINUTE, [jobs(m === 5 || m === 600 ? 10 : 1)]));
    nowMs = day + DAY + HOUR;
    await sink.export(batch(nowMs, MINUTE, [jobs(1)]));
    await sink.maintain();
    assert.equal(sink.store!.compactedUptoMs, day + DAY);
    await sink.export(batch(day + 8 * MINUTE, MINUTE, [jobs(4)]));
    await sink.maintain();
    const result = await sink.store!.query({ name: 'jobs', stat: 'sum', fromMs: day, toMs: day + DAY, stepMs: MINUTE, tags: [], top: 1 });
    assert.equal(result.series[0]!.points.filter((p) => p[1] !== null).length, 1440);
    assert.deepEqual(
      result.series[0]!.points.filter((p) => p[1] !== null && p[1] !== 1),
      [
        [day + 5 * MINUTE, 10],
        [day + 7 * MINUTE, 4],
        [day + 600 * MINUTE, 10],
      ],
    );
    const hours = await sink.store!.query({ name: 'jobs', stat: 'sum', fromMs: day, toMs: day + DAY, stepMs: HOUR, tags: [], top: 1 });
    assert.deepEqual(hours.series[0]!.points.slice(0, 2), [
      [day, 58 + 10 + 4],
      [day + HOUR, 60],
    ]);
    assert.deepEqual(hours.series[0]!.points[10], [day + 10 * HOUR, 59 + 10]);
    await sink.stop();
    assert.deepEqual(await layout(dir, day), { m1: 1, days: 1, minutes: 1440 });
  });

  test('a minute stored twice for a series, and a day of both one-minute and raw flushes, stay as rows when the day is compacted, and answers do not change', async () => {
    const day = Date.UTC(2026, 0, 1);
    let nowMs = day;
    const dir = tempStoreDir('day-rows');
    const { sink } = await startStoreSink({ dir, now: () => nowMs, http: false });
    // Series 0 and 1 every minute; minute 5 of series 0 comes as two one-minute flushes (two backends, a replay): two rows.
    for (let m = 0; m < 1440; m++) if (m !== 5 && m !== 8) await sink.export(batch(day + (m + 1) * MINUTE, MINUTE, [jobs(1, 0), jobs(1, 1)]));
    await sink.export(batch(day + 6 * MINUTE, MINUTE, [jobs(10, 0), jobs(3, 1)]));
    await sink.export(batch(day + 6 * MINUTE, MINUTE, [jobs(5, 0)]));
    await sink.export(batch(day + 9 * MINUTE, MINUTE, [jobs(2, 0), jobs(2, 1), jobs(6, 2)]));
    // Series 2 also has ten-second flushes that day, rolled up into rows that are not direct.
    await sink.export(batch(day + 7 * MINUTE + 10_000, 10_000, [jobs(4, 2)]));
    nowMs = day + DAY + HOUR;
    await sink.export(batch(nowMs, MINUTE, [jobs(1, 0)]));
    const before = await answers(sink.store!, day, day + DAY, 'jobs');
    await sink.maintain();
    assert.equal(sink.store!.compactedUptoMs, day + DAY);
    assert.deepEqual(await answers(sink.store!, day, day + DAY, 'jobs'), before);
    assert.deepEqual((await sink.store!.rowCounts()).m1, 1441 + 1440 + 2 + 1);
    await sink.stop();
    assert.deepEqual(await layout(dir, day), { m1: 4, days: 2, minutes: 1440 });
  });

  test('a day partly past 1-minute retention counts only its retained minutes, and its row goes once the whole day is past', async () => {
    const day = Date.UTC(2026, 0, 1);
    let nowMs = day;
    const dir = tempStoreDir('day-rows');
    const { sink } = await startStoreSink({ dir, now: () => nowMs, http: false, retention: { raw: '2d', m1: '3d', h1: '1y' } });
    for (let f = 1; f <= 1440; f++) await sink.export(batch(day + f * MINUTE, MINUTE, gauges(f)));
    nowMs = day + DAY + HOUR;
    await sink.export(batch(nowMs, MINUTE, gauges(0)));
    await sink.maintain();
    assert.equal(sink.store!.compactedUptoMs, day + DAY);
    // Three days after noon: the morning's minutes are past retention (rolled into their hours as they go), the afternoon's are not (nor the next day's).
    nowMs = day + 12 * HOUR + 3 * DAY;
    await sink.maintain();
    assert.deepEqual(await sink.store!.rowCounts(), { raw: 0, m1: (12 * 60 + 1) * SERIES, h1: 12 * SERIES });
    const afternoon = await sink.store!.query({ name: 'g', stat: 'last', fromMs: day + 12 * HOUR, toMs: day + DAY, stepMs: HOUR, tags: [['i', '1']], top: 1 });
    assert.equal(afternoon.series[0]!.points.filter((p) => p[1] !== null).length, 12);
    nowMs = day + DAY + 3 * DAY;
    await sink.maintain();
    assert.deepEqual(await sink.store!.rowCounts(), { raw: 0, m1: 1 * SERIES, h1: 24 * SERIES });
    await sink.stop();
    assert.deepEqual((await layout(dir, day)).days, 0);
  });

  test('a database whose sealed days are clustered rows of points_1m reads the same, and moves them into day rows on its first pass', async () => {
    const day = Date.UTC(2026, 0, 1);
    let nowMs = day + DAY + HOUR;
    const dir = tempStoreDir('day-rows');
    const first = await startStoreSink({ dir, now: () => nowMs, http: false });
    await writeDay(first.sink, day);
    await first.sink.export(batch(nowMs, MINUTE, gauges(0)));
    await first.sink.maintain();
    const before = await answers(first.sink.store!, day, day + DAY);
    await first.sink.stop();
    // As an earlier version left it: the day's rows back in points_1m, clustered, and the marks in a table of their own, that of the day under the old key.
    await onFile(dir, [
      `INSERT INTO points_1m SELECT series_id, t, 60000, sum, count, min, max, last, sketch, members, direct FROM (SELECT series_id, unnest(range(day, day + ${DAY}, 60000)) AS t, ${['sum', 'count', 'min', 'max', 'last'].map((k) => `nullif(unnest(${k}), 'NaN'::DOUBLE) AS ${k}`).join(', ')}, unnest(sketch) AS sketch, unnest(members) AS members, direct FROM points_1m_days) WHERE sum IS NOT NULL OR last IS NOT NULL ORDER BY series_id // 64, t, series_id`,
      `DROP TABLE points_1m_days`,
      `CREATE TABLE meta (key VARCHAR PRIMARY KEY, value BIGINT NOT NULL)`,
      `INSERT INTO meta SELECT key, last_seen FROM series WHERE type = 'mark' AND key <> 'compacted_days_1m' AND last_seen <> 0`,
      `INSERT INTO meta VALUES ('compacted_1m', ${day + DAY})`,
      `DELETE FROM series WHERE type = 'mark'`,
      `CHECKPOINT`,
    ]);
    assert.deepEqual(await layout(dir, day).catch(() => 'no day table'), 'no day table');

    const second = await startStoreSink({ dir, now: () => nowMs, http: false });
    assert.deepEqual(await answers(second.sink.store!, day, day + DAY), before);
    assert.equal(second.sink.store!.compactedUptoMs, 0, 'the old key is not the mark of day rows');
    nowMs += MINUTE;
    await second.sink.export(batch(nowMs, MINUTE, gauges(1)));
    await second.sink.maintain();
    assert.equal(second.sink.store!.compactedUptoMs, day + DAY);
    assert.deepEqual(await answers(second.sink.store!, day, day + DAY), before);
    await second.sink.stop();
    assert.deepEqual(await layout(dir, day), { m1: 0, days: SERIES, minutes: 1440 });
    // The marks moved out of the old table into rows of `series`, and the table is gone.
    assert.deepEqual(await onFile(dir, [`SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name = 'meta'`]), [{ n: 0 }]);
  });
});
