import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MetricStore, sortByTime } from '../../src/store/store.ts';
import type { MetricPoint } from '../../src/sinks/sink.ts';
import { batch, tempStoreDir } from '../helpers/store.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const RETENTION = { raw: 2 * DAY, m1: 30 * DAY, h1: 365 * DAY };
/** An hour boundary, so one-minute flushes land on whole minutes (stored directly in points_1m). */
const BASE = Math.floor(Date.now() / HOUR) * HOUR - 6 * HOUR;

/** Integer values only: sums are then exact in any order, so both ways must agree to the bit. */
const value = fc.integer({ min: -1000, max: 1000 });

const flushArb = fc.record({
  minute: fc.integer({ min: 0, max: 59 }),
  /** 0–5: a ten-second flush in that minute; 6: a one-minute flush. */
  slot: fc.integer({ min: 0, max: 6 }),
  counter: fc.option(value, { nil: undefined }),
  gauge: fc.option(fc.tuple(value, value, value), { nil: undefined }),
  timer: fc.option(fc.tuple(fc.integer({ min: 1, max: 9 }), value, value), { nil: undefined }),
});

type Flush = { minute: number; slot: number; counter?: number; gauge?: [number, number, number]; timer?: [number, number, number] };

const queryArb = fc.record({
  fromMinute: fc.integer({ min: 0, max: 59 }),
  spanMinutes: fc.integer({ min: 1, max: 90 }),
  stepMs: fc.constantFrom(10_000, 60_000, 120_000, 300_000, HOUR),
  query: fc.constantFrom(
    ['c', 'rate'],
    ['c', 'sum'],
    ['g', 'last'],
    ['g', 'avg'],
    ['g', 'min'],
    ['g', 'max'],
    ['t', 'mean'],
    ['t', 'count'],
    ['t', 'min'],
    ['t', 'max'],
  ),
});

/**
 * Ten-second flushes in the first 30 minutes, one-minute flushes in the
 * next 30 (a small range, so steps hold several rows written out of order), one flush per time: two rows of a series at the same time (which
 * no backend writes) leave `last` to whichever DuckDB meets first.
 */
function minuteOf(f: Flush): number {
  return f.slot === 6 ? 30 + (f.minute % 30) : f.minute % 30;
}

function points(f: Flush): MetricPoint[] {
  const out: MetricPoint[] = [];
  if (f.counter !== undefined) out.push({ type: 'counter', name: 'c', source: '', tags: {}, value: f.counter, rate: f.counter });
  if (f.gauge !== undefined) {
    const [v, a, b] = f.gauge;
    out.push({ type: 'gauge', name: 'g', source: '', tags: {}, value: v, min: Math.min(v, a, b), max: Math.max(v, a, b) });
  }
  if (f.timer !== undefined) {
    const [count, a, b] = f.timer;
    const [min, max] = [Math.min(a, b), Math.max(a, b)];
    out.push({ type: 'timer', name: 't', source: '', tags: {}, count, sum: count * min, min, max, mean: min, stddev: 0, sumSquares: 0, p50: min, p90: min, p95: min, p99: min });
  }
  return out;
}

const stores: MetricStore[] = [];
after(async () => {
  for (const s of stores) await s.close();
});

/** Writes each flush to both stores, in order. */
async function writeBoth(stores: MetricStore[], flushes: Flush[]): Promise<void> {
  for (const f of flushes) {
    const oneMinute = f.slot === 6;
    const timeMs = BASE + minuteOf(f) * 60_000 + (oneMinute ? 60_000 : (f.slot + 1) * 10_000);
    const b = batch(timeMs, oneMinute ? 60_000 : 10_000, points(f));
    for (const s of stores) await s.write(b);
  }
}

const flushesArb = fc.uniqueArray(flushArb, { minLength: 1, maxLength: 30, selector: (f) => minuteOf(f) * 7 + f.slot });

test('a small query folded into steps in JavaScript, from rows kept in memory, cached rows and DuckDB, answers exactly what DuckDB GROUP BY answers, before and after more flushes, late rows and maintenance', async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      flushesArb,
      flushesArb,
      fc.array(queryArb, { minLength: 1, maxLength: 5 }),
      fc.record({ first: fc.integer({ min: 0, max: 70 }), second: fc.integer({ min: 0, max: 70 }), maintain: fc.boolean(), cacheRows: fc.constantFrom(0, 5, 100, 500_000), recentNumbers: fc.constantFrom(0, 12, 300, 4_000_000) }),
      async (first, second, queries, o) => {
        // The clock moves between the two rounds, so the rollup watermark cuts through the data and the second round has late rows.
        let nowMs = BASE + o.first * 60_000;
        const now = () => nowMs;
        const [inJs, inSql] = await Promise.all([
          MetricStore.open({ dir: tempStoreDir(`js-agg-${run}`), retentionMs: RETENTION, now, rollupGraceMs: 0, rowCacheMaxRows: o.cacheRows, recentMaxNumbers: o.recentNumbers }),
          MetricStore.open({ dir: tempStoreDir(`sql-agg-${run}`), retentionMs: RETENTION, now, rollupGraceMs: 0, jsAggregateMaxRows: 0 }),
        ]);
        run++;
        stores.push(inJs, inSql);
        const both = [inJs, inSql];
        const compare = async () => {
          for (const q of queries) {
            const [name, stat] = q.query as [string, string];
            const fromMs = BASE + q.fromMinute * 60_000;
            const spec = { name, stat, tags: [], fromMs, toMs: fromMs + q.spanMinutes * 60_000, stepMs: q.stepMs, top: 20 };
            assert.deepEqual(await inJs.query(spec), await inSql.query(spec), JSON.stringify(spec));
          }
        };
        await writeBoth(both, first);
        if (o.maintain) for (const s of both) await s.maintain();
        await compare();
        nowMs += o.second * 60_000;
        await writeBoth(both, second);
        await compare();
        for (const s of both) await s.maintain();
        await compare();
        for (const s of both) await s.close();
        stores.splice(stores.indexOf(inJs), 2);
      },
    ),
    { numRuns: 20 },
  );
});

test('a one-minute flush that arrives after its minute was rolled up shows in the next query of a series whose rows are cached', async () => {
  const now = () => BASE + 20 * 60_000;
  const store = await MetricStore.open({ dir: tempStoreDir('js-agg-late'), retentionMs: RETENTION, now, rollupGraceMs: 0 });
  stores.push(store);
  const gauge = (minute: number, value: number) => batch(BASE + (minute + 1) * 60_000, 60_000, [{ type: 'gauge', name: 'g', source: '', tags: {}, value }]);
  for (let minute = 0; minute < 10; minute++) if (minute !== 5) await store.write(gauge(minute, minute));
  await store.maintain();
  const spec = { name: 'g', stat: 'last', tags: [], fromMs: BASE, toMs: BASE + 10 * 60_000, stepMs: 60_000, top: 20 };
  const at5 = async () => (await store.query(spec)).series[0]!.points[5]![1];
  assert.equal(await at5(), null);
  await store.write(gauge(5, 55));
  assert.equal(await at5(), 55);
});

test("a series' first query answers every row when its rows fill several of DuckDB's result chunks (2,048 rows each), and its repeat answers the same", async () => {
  const minutes = 2_100;
  const start = Math.floor(Date.now() / DAY) * DAY - 3 * DAY;
  const now = () => start + (minutes + 1) * 60_000;
  const store = await MetricStore.open({ dir: tempStoreDir('js-agg-chunks'), retentionMs: RETENTION, now, rollupGraceMs: 0 });
  stores.push(store);
  for (let minute = 0; minute < minutes; minute++) {
    await store.write(
      batch(start + (minute + 1) * 60_000, 60_000, [
        { type: 'gauge', name: 'g', source: '', tags: { s: 'a' }, value: minute },
        { type: 'gauge', name: 'g', source: '', tags: { s: 'b' }, value: -minute },
      ]),
    );
  }
  await store.maintain();
  const spec = { name: 'g', stat: 'last', tags: [['s', 'a']] as [string, string][], fromMs: start, toMs: start + minutes * 60_000, stepMs: 60_000, top: 20 };
  const expected = Array.from({ length: minutes }, (_, m) => [start + m * 60_000, m]);
  assert.deepEqual((await store.query(spec)).series[0]!.points, expected);
  assert.deepEqual((await store.query(spec)).series[0]!.points, expected);
});

test('a query of one name answers every series of that name, written before the store reopened and after, and no series whose name only contains it; a glob still matches across names', async () => {
  const dir = tempStoreDir('js-agg-names');
  const t = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
  const gauge = (name: string, host: string, value: number): MetricPoint => ({ type: 'gauge', name, source: host, tags: {}, value });
  const first = await MetricStore.open({ dir, retentionMs: RETENTION });
  await first.write(batch(t + 60_000, 60_000, [gauge('db.q', 'a', 1), gauge('db.q.slow', 'a', 2), gauge('xdb.q', 'a', 3)]));
  await first.close();
  const store = await MetricStore.open({ dir, retentionMs: RETENTION });
  stores.push(store);
  await store.write(batch(t + 120_000, 60_000, [gauge('db.q', 'b', 4), gauge('db.q.slow', 'b', 5)]));
  const sources = async (name: string) => (await store.query({ name, stat: 'last', tags: [], fromMs: t, toMs: t + 180_000, stepMs: 60_000, top: 20 })).series.map((s) => `${s.name}@${s.source}`).sort();
  assert.deepEqual(await sources('db.q'), ['db.q@a', 'db.q@b']);
  assert.deepEqual(await sources('db.q*'), ['db.q.slow@a', 'db.q.slow@b', 'db.q@a', 'db.q@b']);
  assert.deepEqual(await sources('nothing'), []);
});

test("a series' cached rows read in any order are sorted by time, each row's values kept with its time and rows of equal time in the order read", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 300 }), (times) => {
      const e = { from: 0, upto: 100, t: times.slice(), last: times.map((_, i) => i) };
      sortByTime(e);
      const expected = times.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0]);
      assert.deepEqual(e.t, expected.map(([t]) => t));
      assert.deepEqual(e.last, expected.map(([, i]) => i));
    }),
  );
});
