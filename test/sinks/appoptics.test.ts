import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { appOpticsSinkSpec } from '../../src/sinks/appoptics-sink.js';
import { appOpticsReceiver, type AppOpticsBody } from '../helpers/peers/appoptics-receiver.js';
import type { JsonApiReceiver } from '../helpers/peers/json-api-receiver.js';
import { waitFor } from '../helpers/peers/process.js';
import { batchAt, counter, FAST_DELIVERY, gauge, makeSink, set, tempDir, timer } from './fixtures.js';

const TOKEN = 'appoptics-token-0123456789';
const T = 1_700_000_010_000;

describe('appoptics sink against a receiver enforcing the AppOptics measurements API', () => {
  const tmp = tempDir('appoptics');
  const receivers: JsonApiReceiver<AppOpticsBody>[] = [];
  after(async () => {
    for (const r of receivers) await r.stop();
    tmp.remove();
  });
  async function receiver(port = 0): Promise<JsonApiReceiver<AppOpticsBody>> {
    const r = appOpticsReceiver(TOKEN);
    await r.start(port);
    receivers.push(r);
    return r;
  }

  test('the stand-in itself refuses what AppOptics refuses: >1000 measurements, bad tags, bad auth', async () => {
    const r = await receiver();
    const post = (body: unknown, auth = `Basic ${Buffer.from(`${TOKEN}:`).toString('base64')}`) =>
      fetch(`${r.baseUrl}/v1/measurements`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: auth }, body: JSON.stringify(body) }).then((x) => x.status);
    const many = Array.from({ length: 1001 }, (_, i) => ({ name: `g${i}`, value: 1 }));
    assert.equal(await post({ time: 1, measurements: many }), 400);
    assert.equal(await post({ time: 1, measurements: [{ name: 'ok', value: 1, tags: { ['k'.repeat(65)]: 'v' } }] }), 400);
    assert.equal(await post({ time: 1, measurements: [{ name: 'ok', value: 1, tags: { k: '' } }] }), 400);
    assert.equal(await post({ time: 1, measurements: [{ name: 'ok', value: 1 }] }, 'Basic eDp5'), 401);
    assert.equal(await post({ time: 1, measurements: [{ name: 'ok', value: 1 }] }), 200);
  });

  test('values arrive exactly: time, period, global and per-measurement tags, summary fields for timers', async () => {
    const r = await receiver();
    const sink = makeSink(appOpticsSinkSpec, { url: r.baseUrl, token: TOKEN, tags: 'env=prod,region=eu', spoolDir: join(tmp.dir, 'spool1'), ...FAST_DELIVERY });
    await sink.start?.();
    await sink.export(batchAt([
      counter('hits', 5, { source: 'web-1', tags: { route: '/home' } }),
      gauge('temp', -3.5),
      timer('db.query', { tags: { db: 'main' } }),
      set('users', 17),
    ], T));
    await sink.stop();
    assert.deepEqual(sink.status(), { sent: 4, failed: 0, spooled: 0, dropped: 0, lastError: undefined });
    assert.deepEqual(r.accepted.map((a) => a.body), [{
      time: 1_700_000_010,
      period: 10,
      tags: { env: 'prod', region: 'eu' },
      measurements: [
        { name: 'hits', value: 5, tags: { route: '/home', source: 'web-1' } },
        { name: 'temp', value: -3.5 },
        { name: 'db.query', count: 10, sum: 123.5, min: 1.5, max: 40, tags: { db: 'main' } },
        { name: 'users', value: 17 },
      ],
    }]);
  });

  test('tag names and values are sanitised and cut to 64 / 255 characters; empty values are left out', async () => {
    const r = await receiver();
    const sink = makeSink(appOpticsSinkSpec, { url: r.baseUrl, token: TOKEN, spoolDir: join(tmp.dir, 'spool2'), ...FAST_DELIVERY });
    await sink.export(batchAt([gauge('bad name', 1, { tags: { ['k'.repeat(70)]: 'v'.repeat(300), 'a b': 'x,y', empty: '' } })], T));
    await sink.stop();
    assert.equal(sink.status().sent, 1);
    assert.deepEqual(r.accepted[0]!.body.measurements, [{ name: 'bad_name', value: 1, tags: { a_b: 'x_y', ['k'.repeat(64)]: 'v'.repeat(255) } }]);
  });

  test('a flush of 2500 points goes out as requests of at most 1000 measurements, all accepted', async () => {
    const r = await receiver();
    const sink = makeSink(appOpticsSinkSpec, { url: r.baseUrl, token: TOKEN, spoolDir: join(tmp.dir, 'spool3'), ...FAST_DELIVERY });
    await sink.export(batchAt(Array.from({ length: 2500 }, (_, i) => gauge(`g.${i}`, i)), T));
    await sink.stop();
    assert.deepEqual(r.accepted.map((a) => a.body.measurements.length), [1000, 1000, 500]);
    assert.equal(r.refused.length, 0);
  });

  test('the token comes from APPOPTICS_TOKEN; a 401 is dropped, not retried, and never logs the token', async () => {
    const r = await receiver();
    const logs: string[] = [];
    process.env.APPOPTICS_TOKEN = 'wrong-token-abcdef';
    try {
      const sink = makeSink(appOpticsSinkSpec, { url: r.baseUrl, spoolDir: join(tmp.dir, 'spool4'), ...FAST_DELIVERY }, logs);
      await sink.export(batchAt([gauge('g', 1)], T));
      await sink.stop();
      assert.deepEqual({ ...sink.status(), lastError: undefined }, { sent: 0, failed: 1, spooled: 0, dropped: 1, lastError: undefined });
      assert.doesNotMatch(logs.join('\n') + (sink.status().lastError ?? ''), /wrong-token-abcdef|d3JvbmctdG9rZW4tYWJjZGVmOg/);
    } finally {
      delete process.env.APPOPTICS_TOKEN;
    }
  });

  test('a 503 outage spools, then replays in order with nothing lost', async () => {
    const r = await receiver();
    const sink = makeSink(appOpticsSinkSpec, { url: r.baseUrl, token: TOKEN, spoolDir: join(tmp.dir, 'spool5'), ...FAST_DELIVERY });
    r.failures.push({ status: 503 }, { status: 503 }, { status: 503 });
    await sink.export(batchAt([gauge('g', 1)], T));
    await sink.export(batchAt([gauge('g', 2)], T + 10_000));
    assert.ok(sink.status().spooled >= 1);
    await waitFor('the spool to drain', () => sink.status().spooled === 0, 20_000);
    await sink.stop();
    assert.deepEqual(r.accepted.map((a) => [a.body.time, a.body.measurements[0]!.value]), [[1_700_000_010, 1], [1_700_000_020, 2]]);
    assert.equal(sink.status().sent, 2);
    assert.equal(sink.status().dropped, 0);
  });
});
