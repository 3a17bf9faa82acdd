import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TimerAggregator } from '../../src/backend/aggregators/timer-aggregator.ts';
import type { MetricPoint } from '../../src/sinks/sink.ts';
import type { MetricStore } from '../../src/store/store.ts';
import { batch, startStoreSink, tempStoreDir } from '../helpers/store.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** More series than one compaction cluster (64), so a day is clustered in several blocks. */
const SERIES = 150;

function gauges(f: number): MetricPoint[] {
  return Array.from({ length: SERIES }, (_, i) => ({ type: 'gauge' as const, name: 'g', source: '', tags: { i: String(i) }, value: Math.round(100 * (i + Math.sin(f / 7 + i))) / 100 }));
}

function timer(f: number): MetricPoint {
  const a = new TimerAggregator();
  for (let k = 1; k <= 20; k++) a.add(((f * 7 + k * 13) % 97) + k / 10, 1);
  return a.toPoint({ name: 't', source: '', tags: {} });
}

/** Every answer a chart could ask of the day: each gauge's last/min/max per minute, the timer's count and p99 per minute and per hour. */
async function answers(store: MetricStore, from: number, to: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const stat of ['last', 'min', 'max']) out.push(await store.query({ name: 'g', stat, fromMs: from, toMs: to, stepMs: MINUTE, tags: [], top: SERIES }));
  for (const stat of ['count', 'p99']) for (const stepMs of [MINUTE, HOUR]) out.push(await store.query({ name: 't', stat, fromMs: from, toMs: to, stepMs, tags: [], top: 1 }));
  return out;
}

describe('store: compaction of sealed days', () => {
  const stops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const s of stops) await s();
  });

  test('a day is compacted once the clock and a flush are past it, no answer changes, and a restart keeps it compacted', async () => {
    const day = Date.UTC(2026, 0, 1);
    let nowMs = day;
    const dir = tempStoreDir('compact');
    const first = await startStoreSink({ dir, now: () => nowMs, http: false });
    // A day of one-minute gauge flushes (written straight to points_1m) and two hours of ten-second timer flushes (rolled up into it).
    for (let f = 1; f <= 1440; f++) await first.sink.export(batch(day + f * MINUTE, MINUTE, gauges(f)));
    for (let f = 1; f <= 720; f++) await first.sink.export(batch(day + 6 * HOUR + f * 10_000, 10_000, [timer(f)]));
    const store = first.sink.store!;
    // Rolled up, but the day is not over: nothing is compacted yet.
    nowMs = day + 23 * HOUR + 59 * MINUTE;
    await store.maintain();
    assert.equal(store.compactedUptoMs, 0);
    const before = await answers(store, day, day + DAY);
    // The clock is past the day but no flush is: a backend replaying a spool may still be writing it.
    nowMs = day + DAY + HOUR;
    await store.maintain();
    assert.equal(store.compactedUptoMs, 0);
    await first.sink.export(batch(day + DAY + 2 * MINUTE, MINUTE, gauges(1442)));
    await store.maintain();
    assert.equal(store.compactedUptoMs, day + DAY);
    assert.deepEqual(await answers(store, day, day + DAY), before);
    await first.sink.stop();

    const second = await startStoreSink({ dir, now: () => nowMs, http: false });
    stops.push(() => second.sink.stop());
    assert.equal(second.sink.store!.compactedUptoMs, day + DAY);
    assert.deepEqual(await answers(second.sink.store!, day, day + DAY), before);
  });

  test('the sealed hours of the day being written are clustered as the day grows, and no answer changes', async () => {
    const day = Date.UTC(2026, 0, 1);
    let nowMs = day;
    const { sink } = await startStoreSink({ now: () => nowMs, http: false });
    stops.push(() => sink.stop());
    const store = sink.store!;
    const clusteredAt: number[] = [];
    let before: unknown[] = [];
    for (let f = 1; f <= 1440; f++) {
      await sink.export(batch(day + f * MINUTE, MINUTE, gauges(f)));
      if (f % 60 !== 0) continue;
      nowMs = day + f * MINUTE + MINUTE;
      if (f === 17 * 60) before = await answers(store, day, day + 17 * HOUR);
      await store.maintain();
      if (store.clusteredUptoMs !== 0 && store.clusteredUptoMs !== day + (clusteredAt.at(-1) ?? 0) * HOUR) clusteredAt.push((store.clusteredUptoMs - day) / HOUR);
    }
    // Rewritten each time the sealed hours double; the day itself is not sealed (no flush past it), so not compacted.
    assert.deepEqual(clusteredAt, [1, 2, 4, 8, 16]);
    assert.equal(store.compactedUptoMs, 0);
    assert.deepEqual(await answers(store, day, day + 17 * HOUR), before);
  });

  test('flushes written while a day is compacted are all stored, late ones for that day included', async () => {
    const day = Date.UTC(2026, 0, 1);
    let nowMs = day;
    const { sink } = await startStoreSink({ now: () => nowMs, http: false });
    stops.push(() => sink.stop());
    // Every minute but the even ones of the first 200 (they come late, below): enough of the day for a day row (see DAY_ROW_MIN_MINUTES).
    for (let f = 1; f <= 1440; f++) if (f > 200 || f % 2 === 1) await sink.export(batch(day + f * MINUTE, MINUTE, gauges(f)));
    nowMs = day + DAY + HOUR;
    const store = sink.store!;
    await sink.export(batch(nowMs, MINUTE, gauges(0)));
    const pass = store.maintain();
    // New flushes of today, and the other half of yesterday's minutes arriving late, while the pass runs.
    for (let f = 1; f < 20; f++) await sink.export(batch(nowMs + f * MINUTE, MINUTE, gauges(f)));
    for (let f = 2; f <= 200; f += 2) await sink.export(batch(day + f * MINUTE, MINUTE, gauges(f)));
    await pass;
    assert.equal(store.compactedUptoMs, day + DAY);
    assert.equal(sink.status().dropped, 0);
    const written = (1340 + 20 + 100) * SERIES;
    assert.equal(sink.status().sent, written);
    // Every one-minute row; no hourly row yet (hours are rolled up as their minutes leave retention).
    assert.deepEqual(await store.rowCounts(), { raw: 0, m1: written, h1: 0 });
    const late = await store.query({ name: 'g', stat: 'last', fromMs: day, toMs: day + 200 * MINUTE, stepMs: MINUTE, tags: [['i', '3']], top: 1 });
    const values = late.series[0]!.points.filter((p) => p[1] !== null);
    assert.equal(values.length, 200);
    assert.deepEqual(values.find((p) => p[0] === day + 99 * MINUTE)?.[1], (gauges(100)[3] as { value: number }).value);
  });
});
