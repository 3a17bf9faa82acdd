import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { graphiteName, graphiteSinkSpec } from '../../src/sinks/graphite-sink.js';
import { CARBON_CACHE, CarbonPeer } from '../helpers/peers/carbon.js';
import { requirePeer, waitFor } from '../helpers/peers/process.js';
import { batchAt, counter, FAST_DELIVERY, gauge, makeSink, set, tempDir, timer } from './fixtures.js';

describe('graphite sink against a real carbon-cache', () => {
  const tmp = tempDir('graphite');
  let carbon: CarbonPeer | undefined;
  const nowSec = Math.floor(Date.now() / 1000);

  before(async () => {
    // Series under bucket2s. get 2-second buckets, as a 2 s flush interval would want.
    carbon = await CarbonPeer.create(join(tmp.dir, 'carbon'), '[bucket2s]\npattern = ^bucket2s\\.\nretentions = 2s:6h\n');
  });
  after(async () => {
    await carbon?.stop();
    tmp.remove();
  });

  async function started(): Promise<CarbonPeer> {
    requirePeer(CARBON_CACHE, 'the Debian package graphite-carbon');
    if (!carbon) throw new Error('carbon peer not created');
    await carbon.start().catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${carbon?.log}`);
    });
    return carbon;
  }

  async function stored(peer: CarbonPeer, expected: Record<string, number>, tsSec: number): Promise<void> {
    const names = Object.keys(expected);
    const got = await waitFor(`carbon to store ${names.join(', ')}`, async () => {
      const v = await peer.fetch(names, tsSec);
      return names.every((n) => v[n] !== null) ? v : undefined;
    }, 20_000, 250).catch(async (err) => {
      throw new Error(`${(err as Error).message}; stored so far: ${JSON.stringify(await peer.fetch(names, tsSec))}`);
    });
    assert.deepEqual(got, expected);
  }

  test('graphite tag names and values lose the characters Graphite forbids; empty values are left out', () => {
    const p = gauge('a b.c', 1, { tags: { 'k;=1': '~v;x y', empty: '' } });
    assert.equal(graphiteName(p, 'p99', 'pre', 'graphite'), 'pre.a_b.c.p99;k__1=_v_x_y');
  });

  test('counters, gauges, timers and sets arrive with exact values as tagged series', async () => {
    const peer = await started();
    try {
      const sink = makeSink(graphiteSinkSpec, { port: peer.linePort, prefix: 'zt', spoolDir: join(tmp.dir, 'spool1'), ...FAST_DELIVERY });
      await sink.start?.();
      const ts = nowSec - 100;
      await sink.export(batchAt([
        counter('app.requests', 42, { rate: 4.2, source: 'web-1', tags: { region: 'eu' } }),
        gauge('app.temp', -3.5),
        timer('db.query', { tags: { db: 'main' } }),
        set('users.unique', 17),
        gauge('bad name/with:chars', 1.25),
      ], ts * 1000));
      await sink.stop();
      assert.deepEqual(sink.status(), { sent: 5, failed: 0, spooled: 0, dropped: 0, lastError: undefined });
      await stored(peer, {
        'zt.app.requests.count;region=eu;source=web-1': 42,
        'zt.app.requests.rate;region=eu;source=web-1': 4.2,
        'zt.app.temp': -3.5,
        'zt.db.query.count;db=main': 10,
        'zt.db.query.sum;db=main': 123.5,
        'zt.db.query.min;db=main': 1.5,
        'zt.db.query.max;db=main': 40,
        'zt.db.query.mean;db=main': 12.35,
        'zt.db.query.stddev;db=main': 5.25,
        'zt.db.query.p50;db=main': 10,
        'zt.db.query.p90;db=main': 30.5,
        'zt.db.query.p95;db=main': 35,
        'zt.db.query.p99;db=main': 39.75,
        'zt.users.unique': 17,
        'zt.bad_name_with_chars': 1.25,
      }, ts);
    } finally {
      await peer.stop();
    }
  });

  test('the final flush on stop lands in its own Carbon bucket instead of overwriting the last scheduled flush', async () => {
    const peer = await started();
    try {
      const sink = makeSink(graphiteSinkSpec, { port: peer.linePort, spoolDir: join(tmp.dir, 'spool-final'), ...FAST_DELIVERY });
      const scheduled = (nowSec - 110 - (nowSec % 2)) * 1000;
      await sink.export({ timeMs: scheduled, intervalMs: 2_000, scheduleMs: 2_000, points: [counter('bucket2s.jobs', 3)] });
      // SIGTERM one second later: the final flush covers [scheduled, scheduled + 1 s).
      await sink.export({ timeMs: scheduled + 1_000, intervalMs: 1_000, scheduleMs: 2_000, points: [counter('bucket2s.jobs', 4)] });
      await sink.stop();
      await stored(peer, { 'bucket2s.jobs.count': 3 }, scheduled / 1000);
      await stored(peer, { 'bucket2s.jobs.count': 4 }, scheduled / 1000 + 2);
    } finally {
      await peer.stop();
    }
  });

  test('the path tag style folds source and tags into the dotted name', async () => {
    const peer = await started();
    try {
      const sink = makeSink(graphiteSinkSpec, { port: peer.linePort, tags: 'path', spoolDir: join(tmp.dir, 'spool2'), ...FAST_DELIVERY });
      const ts = nowSec - 90;
      await sink.export(batchAt([gauge('cpu.load', 0.75, { source: 'db.2', tags: { zone: 'a b', core: '3' } })], ts * 1000));
      await sink.stop();
      await stored(peer, { 'cpu.load.core.3.source.db_2.zone.a_b': 0.75 }, ts);
    } finally {
      await peer.stop();
    }
  });

  test('a point with a non-finite value is dropped and counted; the rest of the batch is stored', async () => {
    const peer = await started();
    try {
      const logs: string[] = [];
      const sink = makeSink(graphiteSinkSpec, { port: peer.linePort, spoolDir: join(tmp.dir, 'spool3'), ...FAST_DELIVERY }, logs);
      const ts = nowSec - 80;
      await sink.export(batchAt([gauge('poison', Number.NaN), gauge('healthy', 7)], ts * 1000));
      await sink.stop();
      assert.equal(sink.status().dropped, 1);
      assert.equal(sink.status().sent, 1);
      assert.match(logs.join('\n'), /poison: value is not a finite number/);
      await stored(peer, { healthy: 7 }, ts);
    } finally {
      await peer.stop();
    }
  });

  test('while carbon is down batches are spooled, and replayed in full when it returns', async () => {
    const peer = await started();
    try {
      await peer.stop();
      const spoolDir = join(tmp.dir, 'spool4');
      const sink = makeSink(graphiteSinkSpec, { port: peer.linePort, spoolDir, ...FAST_DELIVERY });
      await sink.start?.();
      await sink.export(batchAt([gauge('outage.a', 1), counter('outage.c', 5)], (nowSec - 70) * 1000));
      await sink.export(batchAt([gauge('outage.a', 2), counter('outage.c', 6)], (nowSec - 69) * 1000));
      const down = sink.status();
      assert.equal(down.spooled, 4);
      assert.equal(down.sent, 0);
      assert.ok(down.failed >= 2);
      await peer.start();
      await waitFor('the spool to drain', () => sink.status().spooled === 0, 20_000);
      await sink.stop();
      assert.equal(sink.status().sent, 4);
      assert.equal(sink.status().dropped, 0);
      await stored(peer, { 'outage.a': 1, 'outage.c.count': 5 }, nowSec - 70);
      await stored(peer, { 'outage.a': 2, 'outage.c.count': 6 }, nowSec - 69);
    } finally {
      await peer.stop();
    }
  });

  test('the spool survives a backend restart and is replayed by the next process', async () => {
    const peer = await started();
    try {
      await peer.stop();
      const spoolDir = join(tmp.dir, 'spool5');
      const first = makeSink(graphiteSinkSpec, { port: peer.linePort, spoolDir, ...FAST_DELIVERY, stopBudgetMs: 200 });
      await first.export(batchAt([gauge('restart.g', 11)], (nowSec - 60) * 1000));
      await first.stop();
      assert.equal(first.status().spooled, 1);

      await peer.start();
      const second = makeSink(graphiteSinkSpec, { port: peer.linePort, spoolDir, ...FAST_DELIVERY });
      await second.start?.();
      await waitFor('the second sink to replay the spool', () => second.status().spooled === 0 && second.status().sent === 1, 20_000);
      await second.stop();
      await stored(peer, { 'restart.g': 11 }, nowSec - 60);
    } finally {
      await peer.stop();
    }
  });
});
