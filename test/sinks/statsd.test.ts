import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { StatsdTransport, statsdLines, statsdSinkSpec } from '../../src/sinks/statsd-sink.js';
import { STATSD_BIN, StatsdPeer } from '../helpers/peers/statsd.js';
import { requirePeer, waitFor } from '../helpers/peers/process.js';
import { batchAt, counter, FAST_DELIVERY, gauge, makeSink, set, tempDir, timer } from './fixtures.js';

describe('statsd sink against the real etsy statsd daemon', () => {
  const tmp = tempDir('statsd');
  let peer: StatsdPeer | undefined;

  before(async () => {
    peer = await StatsdPeer.create(tmp.dir);
  });
  after(async () => {
    await peer?.stop();
    tmp.remove();
  });

  async function started(): Promise<StatsdPeer> {
    requirePeer(STATSD_BIN, 'the npm devDependency statsd', constants.R_OK);
    await peer!.start();
    return peer!;
  }

  async function arrived(p: StatsdPeer, prefix: string, expected: { counters: Record<string, number>; gauges: Record<string, number> }): Promise<void> {
    const want = Object.keys(expected.counters).length + Object.keys(expected.gauges).length;
    await waitFor(`statsd to flush ${want} ${prefix}* keys`, () => {
      const got = p.totals(prefix);
      return Object.keys(got.counters).length + Object.keys(got.gauges).length >= want ? got : undefined;
    }, 15_000).catch((err) => {
      throw new Error(`${(err as Error).message}; got ${JSON.stringify(p.totals(prefix))}`);
    });
    // One more statsd flush, so a late datagram cannot change the picture after we compared.
    const seen = p.flushes().length;
    await waitFor('one more statsd flush', () => p.flushes().length > seen, 5_000, 50);
    assert.deepEqual(p.totals(prefix), expected);
  }

  test('the dogstatsd tag style sends tags as |#k:v instead of folding them into the key', () => {
    const lines = statsdLines(counter('hits', 3, { source: 'web-1', tags: { route: '/a,b' } }), { prefix: 'p', tags: 'dogstatsd' });
    assert.deepEqual(lines, [['p.hits:3|c|#route:/a_b,source:web-1']]);
    assert.deepEqual(statsdLines(gauge('g', -1), { prefix: '', tags: 'path' }), [['g:0|g', 'g:-1|g']]);
  });

  test('over UDP, counters, negative gauges, timer aggregates and sets arrive with exact values', async () => {
    const p = await started();
    try {
      const sink = makeSink(statsdSinkSpec, { port: p.udpPort, prefix: 'zu', spoolDir: join(tmp.dir, 'spool1'), ...FAST_DELIVERY });
      await sink.start?.();
      await sink.export(batchAt([
        counter('app.requests', 42.5, { source: 'web-1', tags: { region: 'eu' } }),
        gauge('app.temp', -3.5),
        gauge('app.level', 12),
        timer('db.query', { tags: { db: 'main' } }),
        set('users.unique', 17),
        gauge('bad name/with:chars', 1.25),
      ]));
      await sink.stop();
      assert.deepEqual(sink.status(), { sent: 6, failed: 0, spooled: 0, dropped: 0, lastError: undefined });
      await arrived(p, 'zu.', {
        counters: {
          'zu.app.requests.region.eu.source.web-1': 42.5,
          'zu.db.query.count.db.main': 10,
          'zu.db.query.sum.db.main': 123.5,
        },
        gauges: {
          'zu.app.temp': -3.5,
          'zu.app.level': 12,
          'zu.db.query.min.db.main': 1.5,
          'zu.db.query.max.db.main': 40,
          'zu.db.query.mean.db.main': 12.35,
          'zu.db.query.stddev.db.main': 5.25,
          'zu.db.query.p50.db.main': 10,
          'zu.db.query.p90.db.main': 30.5,
          'zu.db.query.p95.db.main': 35,
          'zu.db.query.p99.db.main': 39.75,
          'zu.users.unique': 17,
          'zu.bad_name_with_chars': 1.25,
        },
      });
    } finally {
      await p.stop();
    }
  });

  test('lines are packed into datagrams no larger than the MTU, and none is lost', async () => {
    const p = await started();
    try {
      const points = Array.from({ length: 300 }, (_, i) => gauge(`zm.g${i}`, i === 7 ? -7 : i + 0.5));
      const transport = new StatsdTransport({ host: '127.0.0.1', port: p.udpPort, protocol: 'udp', mtuBytes: 1432, prefix: '', tags: 'path', timeoutMs: 1000 });
      const encoded = transport.encode(batchAt(points));
      assert.ok(encoded.payloads.length > 1);
      for (const d of encoded.payloads) assert.ok(d.body.length <= 1432, `datagram of ${d.body.length} bytes`);
      assert.equal(encoded.payloads.reduce((n, d) => n + d.points, 0), 300);
      // The reset and the negative value stay in one datagram, in order.
      assert.ok(encoded.payloads.some((d) => d.body.toString().includes('zm.g7:0|g\nzm.g7:-7|g')));

      const sink = makeSink(statsdSinkSpec, { port: p.udpPort, spoolDir: join(tmp.dir, 'spool2'), ...FAST_DELIVERY });
      await sink.export(batchAt(points));
      await sink.stop();
      const gauges = Object.fromEntries(points.map((g) => [g.name, g.value]));
      await arrived(p, 'zm.', { counters: {}, gauges });
    } finally {
      await p.stop();
    }
  });

  test('a point with a non-finite value is dropped and counted; the rest arrives', async () => {
    const p = await started();
    try {
      const sink = makeSink(statsdSinkSpec, { port: p.tcpPort, protocol: 'tcp', spoolDir: join(tmp.dir, 'spool3'), ...FAST_DELIVERY });
      await sink.export(batchAt([counter('zn.bad', Number.POSITIVE_INFINITY), counter('zn.good', 3)]));
      await sink.stop();
      assert.equal(sink.status().dropped, 1);
      assert.equal(sink.status().sent, 1);
      await arrived(p, 'zn.', { counters: { 'zn.good': 3 }, gauges: {} });
    } finally {
      await p.stop();
    }
  });

  test('over TCP, an outage spools the flushes and they are replayed in order when statsd returns', async () => {
    const p = await started();
    try {
      await p.stop();
      const sink = makeSink(statsdSinkSpec, { port: p.tcpPort, protocol: 'tcp', spoolDir: join(tmp.dir, 'spool4'), ...FAST_DELIVERY });
      await sink.start?.();
      await sink.export(batchAt([counter('zo.c', 5), gauge('zo.g', 1)]));
      await sink.export(batchAt([counter('zo.c', 6), gauge('zo.g', -2)]));
      assert.equal(sink.status().spooled, 4);
      assert.equal(sink.status().sent, 0);
      await p.start();
      await waitFor('the spool to drain', () => sink.status().spooled === 0, 20_000);
      await sink.stop();
      assert.deepEqual({ ...sink.status(), failed: 0, lastError: undefined }, { sent: 4, failed: 0, spooled: 0, dropped: 0, lastError: undefined });
      // Counters add up across the two flushes; the gauge ends at the later value.
      await arrived(p, 'zo.', { counters: { 'zo.c': 11 }, gauges: { 'zo.g': -2 } });
    } finally {
      await p.stop();
    }
  });
});
