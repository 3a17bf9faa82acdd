import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TimerAggregator } from '../../src/backend/aggregators/timer-aggregator.ts';
import type { TimerPoint } from '../../src/sinks/sink.ts';
import { api, batch, startStoreSink, tempStoreDir } from '../helpers/store.ts';
import { eventually } from '../helpers/processes.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function timerPoint(name: string, samples: number[]): TimerPoint {
  const a = new TimerAggregator();
  for (const s of samples) a.add(s, 1);
  return a.toPoint({ name, source: '', tags: {} });
}

/** Exact percentile by the nearest-rank rule DDSketch follows (rank = q·(n−1)). */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

/** A deterministic pseudo-random generator, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('store: values, rollups, retention and restarts through the HTTP API', () => {
  const stops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const s of stops) await s();
  });

  test('each type is stored and answered exactly: counter rate and sum, gauge last/min/max/avg, timer count/mean/min/max, set cardinality', async () => {
    const { sink, url } = await startStoreSink();
    stops.push(() => sink.stop());
    const t = Math.floor(Date.now() / 10_000) * 10_000 - 60_000;
    await sink.export(
      batch(t, 10_000, [
        { type: 'counter', name: 'jobs.done', source: 'w1', tags: { region: 'eu' }, value: 50, rate: 5 },
        { type: 'gauge', name: 'queue.depth', source: '', tags: {}, value: 7, min: 2, max: 11 },
        { ...timerPoint('db.query', [1, 2, 3, 10]) },
        { type: 'set', name: 'users', source: '', tags: {}, value: 42 },
      ]),
    );
    const q = async (params: string) => (await api(`${url}/api/query?${params}&from=${t - 10_000}&to=${t}&step=10s`)).body;
    const only = (body: { series: { points: [number, number | null][] }[] }) => body.series[0]!.points.filter((p) => p[1] !== null).map((p) => p[1]);
    const rate = await q('name=jobs.done');
    assert.equal(rate.stat, 'rate');
    assert.equal(rate.unit, '/s');
    assert.equal(rate.series[0].source, 'w1');
    assert.deepEqual(rate.series[0].tags, { region: 'eu' });
    assert.deepEqual(only(rate), [5]);
    assert.deepEqual(only(await q('name=jobs.done&stat=sum')), [50]);
    assert.deepEqual(only(await q('name=queue.depth')), [7]);
    assert.deepEqual(only(await q('name=queue.depth&stat=min')), [2]);
    assert.deepEqual(only(await q('name=queue.depth&stat=max')), [11]);
    assert.deepEqual(only(await q('name=queue.depth&stat=avg')), [7]);
    assert.deepEqual(only(await q('name=db.query&stat=count')), [4]);
    assert.deepEqual(only(await q('name=db.query&stat=mean')), [4]);
    assert.deepEqual(only(await q('name=db.query&stat=min')), [1]);
    assert.deepEqual(only(await q('name=db.query&stat=max')), [10]);
    assert.equal((await q('name=db.query')).unit, 'ms');
    assert.deepEqual(only(await q('name=users')), [42]);
    const series = (await api(`${url}/api/series?q=jobs`)).body;
    assert.equal(series.total, 1);
    assert.equal(series.series[0].name, 'jobs.done');
    assert.equal(series.series[0].type, 'counter');
    assert.equal(series.series[0].lastSeen, t);
  });

  test('the p99 of an hour rolled up from 360 ten-second intervals is within 1 % of the exact p99 of all its samples', async () => {
    let nowMs = Date.UTC(2026, 0, 1);
    const { sink, url } = await startStoreSink({ now: () => nowMs, http: true });
    stops.push(() => sink.stop());
    const random = lcg(12);
    const all: number[] = [];
    const hourStart = nowMs;
    for (let i = 1; i <= 360; i++) {
      // A long-tailed latency: most samples 1–20 ms, a few up to 2 s, and a slow quarter of an hour.
      const samples = Array.from({ length: 50 }, () => (random() < 0.02 ? 200 + random() * 1800 : 1 + random() * (i > 180 && i < 270 ? 60 : 19)));
      all.push(...samples);
      await sink.export(batch(hourStart + i * 10_000, 10_000, [timerPoint('api.latency', samples)]));
    }
    const exact = exactQuantile(all.sort((a, b) => a - b), 0.99);
    const p99 = async () => {
      const body = (await api(`${url}/api/query?name=api.latency&stat=p99&from=${hourStart}&to=${hourStart + HOUR}&step=1h`)).body;
      assert.equal(body.step, HOUR);
      return body.series[0].points[0][1] as number;
    };
    nowMs = hourStart + 2 * HOUR;
    await sink.maintain();
    assert.deepEqual(await sink.store!.rowCounts(), { raw: 360, m1: 60, h1: 0 }, 'sixty 1-minute rows');
    const fromMinutes = await p99();
    assert.ok(Math.abs(fromMinutes - exact) / exact <= 0.01, `p99 of the hour's 1-minute rows ${fromMinutes} vs exact ${exact}`);
    // 30 days on, the minutes leave retention: the hour is rolled up from them and answered from its 1-hour row alone.
    nowMs = hourStart + 30 * DAY + 2 * HOUR;
    await sink.maintain();
    assert.deepEqual(await sink.store!.rowCounts(), { raw: 0, m1: 0, h1: 1 }, 'one 1-hour row');
    const fromHour = await p99();
    assert.ok(Math.abs(fromHour - exact) / exact <= 0.01, `rolled-up p99 ${fromHour} vs exact ${exact}`);
  });

  test('top=1 of a percentile keeps the series with the highest percentile, not the highest max', async () => {
    const { sink, url } = await startStoreSink();
    stops.push(() => sink.stop());
    const t = Math.floor(Date.now() / 10_000) * 10_000 - 60_000;
    const steady = Array.from({ length: 200 }, () => 100);
    const spiky = [...Array.from({ length: 199 }, () => 1), 5000];
    await sink.export(batch(t, 10_000, [timerPoint('svc.latency', steady), { ...timerPoint('svc.latency', spiky), source: 'spiky' }]));
    const body = (await api(`${url}/api/query?name=svc.latency&stat=p99&from=${t - 10_000}&to=${t}&step=10s&top=1`)).body;
    assert.equal(body.total, 2);
    assert.equal(body.series.length, 1);
    assert.equal(body.series[0].source, null);
  });

  test('groupBy merges timers: the mean is Σsum/Σcount and the p99 comes from the merged sketches of the group', async () => {
    const { sink, url } = await startStoreSink();
    stops.push(() => sink.stop());
    const t = Math.floor(Date.now() / 10_000) * 10_000 - 60_000;
    const a1 = Array.from({ length: 100 }, (_, i) => i + 1);
    const a2 = [1000, 1000];
    const b1 = [5, 5, 5];
    const tagged = (samples: number[], route: string, source: string) => ({ ...timerPoint('rpc', samples), source, tags: { route } });
    await sink.export(batch(t, 10_000, [tagged(a1, 'a', 'x'), tagged(a2, 'a', 'y'), tagged(b1, 'b', 'x')]));
    const q = async (stat: string) => {
      const body = (await api(`${url}/api/query?name=rpc&stat=${stat}&from=${t - 10_000}&to=${t}&step=10s&groupBy=route`)).body;
      return Object.fromEntries(body.series.map((s: { tags: { route: string }; points: [number, number | null][] }) => [s.tags.route, s.points[0]![1]]));
    };
    assert.deepEqual(await q('mean'), { a: (5050 + 2000) / 102, b: 5 });
    assert.deepEqual(await q('count'), { a: 102, b: 3 });
    assert.deepEqual(await q('max'), { a: 1000, b: 5 });
    const p99 = await q('p99');
    const exact = exactQuantile([...a1, ...a2].sort((x, y) => x - y), 0.99);
    assert.ok(Math.abs(p99.a - exact) / exact <= 0.01, `group p99 ${p99.a} vs exact ${exact}`);
  });

  test('retention deletes raw rows past 2 days, 1-minute rows past 30 days and 1-hour rows past a year, and nothing newer', async () => {
    const start = Date.UTC(2026, 0, 1);
    let nowMs = start;
    const { sink } = await startStoreSink({ now: () => nowMs, http: false });
    stops.push(() => sink.stop());
    const counter = (value: number) => ({ type: 'counter' as const, name: 'c', source: '', tags: {}, value, rate: value / 10 });
    // One flush at the start of each of two hours: one row per resolution each, once rolled up.
    await sink.export(batch(start + 10_000, 10_000, [counter(1)]));
    await sink.export(batch(start + HOUR + 10_000, 10_000, [counter(2)]));
    nowMs = start + 3 * HOUR;
    await sink.maintain();
    // An hour is rolled up only as its minutes leave retention.
    assert.deepEqual(await sink.store!.rowCounts(), { raw: 2, m1: 2, h1: 0 });
    // 2 days after the first flush, but not after the second: only the first raw row goes.
    nowMs = start + 2 * DAY + 30 * 60_000;
    await sink.maintain();
    assert.deepEqual(await sink.store!.rowCounts(), { raw: 1, m1: 2, h1: 0 });
    // 30 days after the first minute, but not after the second: the first goes, rolled into its hour first.
    nowMs = start + 30 * DAY + 30 * 60_000;
    await sink.maintain();
    assert.deepEqual(await sink.store!.rowCounts(), { raw: 0, m1: 1, h1: 1 });
    nowMs = start + 365 * DAY + 30 * 60_000;
    await sink.maintain();
    assert.deepEqual(await sink.store!.rowCounts(), { raw: 0, m1: 0, h1: 1 });
  });

  test('flushes written while a rollup and retention pass runs are all stored', async () => {
    const start = Date.UTC(2026, 0, 1);
    let nowMs = start;
    const { sink } = await startStoreSink({ now: () => nowMs, http: false });
    stops.push(() => sink.stop());
    const gauges = (n: number) => Array.from({ length: 500 }, (_, i) => ({ type: 'gauge' as const, name: 'g', source: '', tags: { i: String(i) }, value: n }));
    // Three hours of history to roll up, then new flushes while the pass runs.
    for (let f = 1; f <= 1080; f += 9) await sink.export(batch(start + f * 10_000, 10_000, gauges(f)));
    nowMs = start + 4 * HOUR;
    const pass = sink.store!.maintain();
    for (let f = 0; f < 20; f++) await sink.export(batch(nowMs + f * 10_000, 10_000, gauges(f)));
    await pass;
    assert.equal(sink.status().dropped, 0);
    assert.equal(sink.status().sent, 120 * 500 + 20 * 500);
    const rows = await sink.store!.rowCounts();
    assert.equal(rows.raw, 120 * 500 + 20 * 500);
    assert.ok(rows.m1 > 0, JSON.stringify(rows));
  });

  test('a restart keeps series, points and dashboards', async () => {
    const dir = tempStoreDir('restart');
    const t = Math.floor(Date.now() / 10_000) * 10_000;
    const first = await startStoreSink({ dir });
    await first.sink.export(batch(t, 10_000, [{ type: 'gauge', name: 'temp', source: 'probe', tags: { room: 'a' }, value: 21.5 }]));
    const dash = { name: 'home', range: { since: '1h' }, charts: [{ title: 'Temp', query: { name: 'temp' } }] };
    assert.equal((await api(`${first.url}/api/dashboards/home`, { method: 'PUT', body: JSON.stringify(dash) })).status, 200);
    await first.sink.stop();
    const second = await startStoreSink({ dir });
    stops.push(() => second.sink.stop());
    const body = (await api(`${second.url}/api/query?name=temp&from=${t - 20_000}&to=${t}&step=10s`)).body;
    assert.deepEqual(
      body.series[0].points.filter((p: [number, number | null]) => p[1] !== null),
      [[t - 10_000, 21.5]],
    );
    assert.deepEqual((await api(`${second.url}/api/dashboards/home`)).body, dash);
  });

  test('a corrupt database file gives ZIB_ERR_STORE_FAILED, the sink keeps taking flushes and counts them as dropped', async () => {
    const dir = tempStoreDir('corrupt');
    writeFileSync(join(dir, 'store.duckdb'), Buffer.alloc(8192, 0x5a));
    const { sink, url, logs } = await startStoreSink({ dir });
    stops.push(() => sink.stop());
    assert.ok(logs.some((l) => l.startsWith('ZIB_ERR_STORE_FAILED') && l.includes('store.duckdb')), logs.join('\n'));
    await sink.export(batch(Date.now(), 10_000, [{ type: 'counter', name: 'c', source: '', tags: {}, value: 1, rate: 0.1 }, { type: 'counter', name: 'd', source: '', tags: {}, value: 1, rate: 0.1 }]));
    assert.equal(sink.status().dropped, 2);
    const status = await api(`${url}/api/status`);
    assert.equal(status.status, 200);
    assert.match(status.body.store.error, /store\.duckdb/);
    assert.equal((await api(`${url}/api/series`)).body.error.code, 'ZIB_ERR_STORE_FAILED');
  });

  test('an unwritable data directory gives ZIB_ERR_STORE_FAILED and drops are counted', async () => {
    // A regular file where the directory should be: no database can be created there, even as root.
    const dir = join(tempStoreDir('unwritable'), 'not-a-dir');
    writeFileSync(dir, 'x');
    const { sink, logs } = await startStoreSink({ dir, http: false });
    stops.push(() => sink.stop());
    assert.ok(logs.some((l) => l.startsWith('ZIB_ERR_STORE_FAILED')), logs.join('\n'));
    await sink.export(batch(Date.now(), 10_000, [{ type: 'gauge', name: 'g', source: '', tags: {}, value: 1 }]));
    assert.equal(sink.status().dropped, 1);
  });

  test('/api/events announces every stored flush', async () => {
    const { sink, url } = await startStoreSink();
    stops.push(() => sink.stop());
    const res = await fetch(`${url}/api/events`);
    const reader = res.body!.getReader();
    let text = '';
    const t = Math.floor(Date.now() / 10_000) * 10_000;
    await sink.export(batch(t, 10_000, [{ type: 'gauge', name: 'g', source: '', tags: {}, value: 1 }]));
    await eventually(async () => {
      const { value } = await reader.read();
      text += Buffer.from(value ?? new Uint8Array()).toString();
      return text.includes('event: flush');
    }, 'a flush event');
    assert.match(text, new RegExp(`data: \\{"ts":${t},"series":1\\}`));
    await reader.cancel();
  });
});
