import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricPoint } from '../../src/sinks/sink.ts';
import { api, batch, startStoreSink } from '../helpers/store.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const stops: (() => Promise<void>)[] = [];
after(async () => {
  for (const s of stops) await s();
});

const jobs = (value: number): MetricPoint => ({ type: 'counter', name: 'jobs', source: '', tags: {}, value, rate: value / 10 });

test('a row that arrives after its minute was rolled up is rolled into it, and its hour answers it', async () => {
  let nowMs = Date.UTC(2026, 0, 1);
  const { sink, url } = await startStoreSink({ now: () => nowMs });
  stops.push(() => sink.stop());
  const hour = nowMs;
  // Minute 5 gets 10 from its first interval on time, and is rolled up (its hour is answered from the minutes).
  await sink.export(batch(hour + 5 * MINUTE + 10_000, 10_000, [jobs(10)]));
  nowMs = hour + 2 * HOUR;
  await sink.maintain();
  assert.deepEqual(await sink.store!.rowCounts(), { raw: 1, m1: 1, h1: 0 });
  // Its third interval arrives an hour and a half late (a spool drained).
  await sink.export(batch(hour + 5 * MINUTE + 30_000, 10_000, [jobs(7)]));
  await sink.maintain();
  const sum = async (step: string) => (await api(`${url}/api/query?name=jobs&stat=sum&from=${hour}&to=${hour + HOUR}&step=${step}`)).body.series[0].points.filter((p: [number, number | null]) => p[1] !== null);
  assert.deepEqual(await sum('1m'), [[hour + 5 * MINUTE, 17]], 'the 1-minute rollup');
  assert.deepEqual(await sum('1h'), [[hour, 17]], 'the 1-hour rollup');
  assert.deepEqual(await sink.store!.rowCounts(), { raw: 2, m1: 1, h1: 0 }, 'rebuilt, not duplicated');
  assert.equal(sink.store!.late.rerolled, 1);
});

test('a late row older than raw retention is counted instead of rebuilt, and the rollups keep what they had', async () => {
  let nowMs = Date.UTC(2026, 0, 1);
  const { sink, url } = await startStoreSink({ now: () => nowMs });
  stops.push(() => sink.stop());
  const hour = nowMs;
  await sink.export(batch(hour + 10_000, 10_000, [jobs(10)]));
  nowMs = hour + 3 * 24 * HOUR;
  await sink.maintain();
  await sink.export(batch(hour + 20_000, 10_000, [jobs(7)]));
  await sink.maintain();
  assert.equal(sink.store!.late.pastRetention, 1);
  const body = (await api(`${url}/api/query?name=jobs&stat=sum&from=${hour}&to=${hour + HOUR}&step=1h`)).body;
  assert.deepEqual(body.series[0].points, [[hour, 10]]);
});

test('/api/status counts the late rows', async () => {
  let nowMs = Date.UTC(2026, 0, 1);
  const { sink, url } = await startStoreSink({ now: () => nowMs });
  stops.push(() => sink.stop());
  await sink.export(batch(nowMs + 10_000, 10_000, [jobs(1)]));
  nowMs += HOUR;
  await sink.maintain();
  await sink.export(batch(nowMs - HOUR + 20_000, 10_000, [jobs(2)]));
  await sink.maintain();
  assert.deepEqual((await api(`${url}/api/status`)).body.store.late, { rerolled: 1, pastRetention: 0 });
});
