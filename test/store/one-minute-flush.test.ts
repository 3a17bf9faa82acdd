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

const depth = (value: number): MetricPoint => ({ type: 'gauge', name: 'queue.depth', source: '', tags: {}, value });
const sumOf = (points: [number, number | null][]) => points.filter((p) => p[1] !== null);

test('one-minute flushes are stored once, as 1-minute rows, and answered at every step', async () => {
  let nowMs = Date.UTC(2026, 0, 1);
  const { sink, url } = await startStoreSink({ now: () => nowMs });
  stops.push(() => sink.stop());
  const hour = nowMs;
  for (let m = 1; m <= 60; m++) await sink.export(batch(hour + m * MINUTE, MINUTE, [depth(m)]));
  nowMs = hour + 2 * HOUR;
  await sink.maintain();
  // No 1-hour row: hours are rolled up only as their minutes leave retention, and answered from the minutes until then.
  assert.deepEqual(await sink.store!.rowCounts(), { raw: 0, m1: 60, h1: 0 });
  const q = async (stat: string, step: string, to = hour + HOUR) => sumOf((await api(`${url}/api/query?name=queue.depth&stat=${stat}&from=${hour}&to=${to}&step=${step}`)).body.series[0].points);
  assert.deepEqual(await q('max', '1h'), [[hour, 60]]);
  assert.deepEqual((await q('last', '1m')).slice(0, 2), [[hour, 1], [hour + MINUTE, 2]]);
  assert.equal((await q('last', '1m')).length, 60);
  // A step finer than a minute still finds them (they have no raw rows).
  assert.deepEqual(await q('last', '10s', hour + 2 * MINUTE), [[hour, 1], [hour + MINUTE, 2]]);
});

test('a one-minute flush that arrives after its hour is over is answered in that hour', async () => {
  let nowMs = Date.UTC(2026, 0, 1);
  const { sink, url } = await startStoreSink({ now: () => nowMs });
  stops.push(() => sink.stop());
  const hour = nowMs;
  await sink.export(batch(hour + MINUTE, MINUTE, [depth(5)]));
  nowMs = hour + 2 * HOUR;
  await sink.maintain();
  await sink.export(batch(hour + 3 * MINUTE, MINUTE, [depth(9)]));
  await sink.maintain();
  const body = (await api(`${url}/api/query?name=queue.depth&stat=max&from=${hour}&to=${hour + HOUR}&step=1h`)).body;
  assert.deepEqual(body.series[0].points, [[hour, 9]]);
  assert.deepEqual(await sink.store!.rowCounts(), { raw: 0, m1: 2, h1: 0 });
});
