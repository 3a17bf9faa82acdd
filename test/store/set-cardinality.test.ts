import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SetAggregator } from '../../src/backend/aggregators/set-aggregator.ts';
import type { SetPoint } from '../../src/sinks/sink.ts';
import { ZibratoError } from '../../src/errors.ts';
import { SetUnion, STORE_SET_EXACT_CAP, encodeSetSummary } from '../../src/store/set-summary.ts';
import { api, batch, startStoreSink } from '../helpers/store.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A set point of members `from` … `to - 1` (member hashes are any integers below 2^52). */
function setPoint(name: string, from: number, to: number): SetPoint {
  const a = new SetAggregator();
  for (let m = from; m < to; m++) a.add(m * 7919 + 13);
  return a.toPoint({ name, source: '', tags: {} });
}

describe('store: set cardinality over steps and rollups is the size of the union', () => {
  const stops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const s of stops) await s();
  });

  test('a one-minute step over six overlapping ten-second sets counts each member once', async () => {
    const { sink, url } = await startStoreSink();
    stops.push(() => sink.stop());
    const start = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
    // Interval i holds members 10·i … 10·i + 29: 30 each, 80 distinct over the minute.
    for (let i = 0; i < 6; i++) await sink.export(batch(start + (i + 1) * 10_000, 10_000, [setPoint('users', 10 * i, 10 * i + 30)]));
    const body = (await api(`${url}/api/query?name=users&stat=cardinality&from=${start}&to=${start + MINUTE}&step=1m`)).body;
    assert.deepEqual(body.series[0].points, [[start, 80]]);
  });

  test('an hour rolled up from large sets answers the union within the HyperLogLog error', async () => {
    let nowMs = Date.UTC(2026, 0, 1);
    // 1-minute rows kept an hour: the hour is rolled up as they go, and answered from its 1-hour row alone.
    const { sink, url } = await startStoreSink({ now: () => nowMs, retention: { raw: '2d', m1: '1h', h1: '1y' } });
    stops.push(() => sink.stop());
    const hourStart = nowMs;
    // 60 one-minute intervals of 2,000 members each, shifted by 500: 31,500 distinct.
    for (let i = 0; i < 60; i++) await sink.export(batch(hourStart + (i + 1) * MINUTE, MINUTE, [setPoint('visitors', 500 * i, 500 * i + 2000)]));
    nowMs = hourStart + 2 * HOUR;
    await sink.maintain();
    assert.deepEqual(await sink.store!.rowCounts(), { raw: 0, m1: 0, h1: 1 }, 'one 1-hour row, and its minutes gone');
    const body = (await api(`${url}/api/query?name=visitors&stat=cardinality&from=${hourStart}&to=${hourStart + HOUR}&step=1h`)).body;
    const estimate = body.series[0].points[0][1] as number;
    // 2^12 registers: ~1.6 % standard error; 5 % is three of them.
    assert.ok(Math.abs(estimate - 31_500) / 31_500 <= 0.05, `union estimate ${estimate} vs 31,500`);
  });

  test('groupBy over sets answers the union of the group members, not their sum', async () => {
    const { sink, url } = await startStoreSink();
    stops.push(() => sink.stop());
    const t = Math.floor(Date.now() / 10_000) * 10_000 - MINUTE;
    const tagged = (p: SetPoint, region: string, source: string): SetPoint => ({ ...p, source, tags: { region } });
    await sink.export(batch(t, 10_000, [tagged(setPoint('sessions', 0, 40), 'eu', 'a'), tagged(setPoint('sessions', 20, 60), 'eu', 'b'), tagged(setPoint('sessions', 0, 5), 'us', 'a')]));
    const body = (await api(`${url}/api/query?name=sessions&stat=cardinality&from=${t - 10_000}&to=${t}&step=10s&groupBy=region`)).body;
    const byRegion = Object.fromEntries(body.series.map((s: { tags: { region: string }; points: [number, number | null][] }) => [s.tags.region, s.points[0]![1]]));
    assert.deepEqual(byRegion, { eu: 60, us: 5 });
  });
});

describe('store: set summaries', () => {
  test('the union of encoded parts is the exact distinct count up to the exact cap', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 2 ** 52 - 1 }), { maxLength: 200 }), { maxLength: 6 }), (parts) => {
        const distinct = new Set(parts.flat());
        fc.pre(distinct.size <= STORE_SET_EXACT_CAP);
        const u = new SetUnion();
        for (const part of parts) u.addEncoded(encodeSetSummary({ members: new Set(part) }));
        assert.equal(u.size, distinct.size);
      }),
    );
  });

  test('any bytes either decode as a summary or are refused with ZIB_ERR_STORE_FAILED', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (bytes) => {
        try {
          new SetUnion().addEncoded(bytes);
        } catch (err) {
          assert.ok(err instanceof ZibratoError && err.code === 'ZIB_ERR_STORE_FAILED', String(err));
        }
      }),
    );
  });
});
