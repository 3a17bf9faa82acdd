import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { libratoSinkSpec } from '../../src/sinks/librato-sink.js';
import type { JsonApiReceiver } from '../helpers/peers/json-api-receiver.js';
import { libratoReceiver, type LibratoBody } from '../helpers/peers/librato-receiver.js';
import { waitFor } from '../helpers/peers/process.js';
import { batchAt, counter, FAST_DELIVERY, gauge, makeSink, set, tempDir, timer } from './fixtures.js';

const EMAIL = 'ops@example.com';
const TOKEN = 'librato-token-0123456789';
const T = 1_700_000_010_000;

describe('librato sink against a receiver enforcing the legacy Librato API', () => {
  const tmp = tempDir('librato');
  const receivers: JsonApiReceiver<LibratoBody>[] = [];
  after(async () => {
    for (const r of receivers) await r.stop();
    tmp.remove();
  });
  async function receiver(port = 0): Promise<JsonApiReceiver<LibratoBody>> {
    const r = libratoReceiver(EMAIL, TOKEN);
    await r.start(port);
    receivers.push(r);
    return r;
  }

  test('the stand-in itself refuses what Librato refuses: >300 measurements, bad names, bad auth', async () => {
    const r = await receiver();
    const post = (body: unknown, auth = `Basic ${Buffer.from(`${EMAIL}:${TOKEN}`).toString('base64')}`) =>
      fetch(`${r.baseUrl}/v1/metrics`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: auth }, body: JSON.stringify(body) }).then((x) => x.status);
    const many = Array.from({ length: 301 }, (_, i) => ({ name: `g${i}`, value: 1 }));
    assert.equal(await post({ measure_time: 1, gauges: many }), 400);
    assert.equal(await post({ measure_time: 1, gauges: [{ name: 'bad name', value: 1 }] }), 400);
    assert.equal(await post({ measure_time: 1, gauges: [{ name: 'ok', value: 1 }] }, 'Basic eDp5'), 401);
    assert.equal(await post({ measure_time: 1, gauges: [{ name: 'ok', value: 1 }] }), 200);
  });

  test('values arrive exactly: cumulative counters, gauges, multi-sample timer gauges, sources', async () => {
    const r = await receiver();
    const sink = makeSink(libratoSinkSpec, { url: r.baseUrl, email: EMAIL, token: TOKEN, source: 'default-src', spoolDir: join(tmp.dir, 'spool1'), ...FAST_DELIVERY });
    await sink.start?.();
    await sink.export(batchAt([counter('hits', 5, { source: 'web-1', tags: { route: 'home' } }), gauge('temp', -3.5), timer('db.query', { source: 'web-1' }), set('users', 17)], T));
    await sink.export(batchAt([counter('hits', 7, { source: 'web-1', tags: { route: 'home' } })], T + 10_000));
    await sink.stop();
    assert.deepEqual(sink.status(), { sent: 5, failed: 0, spooled: 0, dropped: 0, lastError: undefined });
    assert.deepEqual(r.accepted.map((a) => a.body), [
      {
        measure_time: 1_700_000_010,
        gauges: [
          { name: 'temp', value: -3.5, source: 'default-src' },
          { name: 'db.query', count: 10, sum: 123.5, min: 1.5, max: 40, sum_squares: 3001.25, source: 'web-1' },
          { name: 'users', value: 17, source: 'default-src' },
        ],
        counters: [{ name: 'hits.route.home', value: 5, source: 'web-1' }],
      },
      { measure_time: 1_700_000_020, counters: [{ name: 'hits.route.home', value: 12, source: 'web-1' }] },
    ]);
  });

  test('names and sources are sanitised to [A-Za-z0-9.:_-] and cut to 255 characters', async () => {
    const r = await receiver();
    const sink = makeSink(libratoSinkSpec, { url: r.baseUrl, email: EMAIL, token: TOKEN, spoolDir: join(tmp.dir, 'spool2'), ...FAST_DELIVERY });
    await sink.export(batchAt([gauge('weird name/ü:ok', 1, { source: 'host 1' }), gauge('x'.repeat(300), 2, { source: 's'.repeat(300) })], T));
    await sink.stop();
    assert.equal(sink.status().sent, 2);
    assert.deepEqual(r.accepted[0]!.body.gauges, [
      { name: 'weird_name__:ok', value: 1, source: 'host_1' },
      { name: 'x'.repeat(255), value: 2, source: 's'.repeat(255) },
    ]);
  });

  test('a flush of 700 points goes out as requests of at most 300 measurements, all accepted', async () => {
    const r = await receiver();
    const sink = makeSink(libratoSinkSpec, { url: r.baseUrl, email: EMAIL, token: TOKEN, spoolDir: join(tmp.dir, 'spool3'), ...FAST_DELIVERY });
    await sink.export(batchAt(Array.from({ length: 700 }, (_, i) => gauge(`g.${i}`, i)), T));
    await sink.stop();
    assert.deepEqual(r.accepted.map((a) => a.body.gauges!.length), [300, 300, 100]);
    assert.equal(r.refused.length, 0);
    assert.equal(sink.status().sent, 700);
  });

  test('credentials come from LIBRATO_EMAIL/LIBRATO_TOKEN; a 401 is dropped, not retried, and never logs the token', async () => {
    const r = await receiver();
    const logs: string[] = [];
    process.env.LIBRATO_EMAIL = EMAIL;
    process.env.LIBRATO_TOKEN = 'wrong-token-abcdef';
    try {
      const sink = makeSink(libratoSinkSpec, { url: r.baseUrl, spoolDir: join(tmp.dir, 'spool4'), ...FAST_DELIVERY }, logs);
      await sink.export(batchAt([gauge('g', 1)], T));
      await sink.stop();
      assert.deepEqual({ ...sink.status(), lastError: undefined }, { sent: 0, failed: 1, spooled: 0, dropped: 1, lastError: undefined });
      assert.match(sink.status().lastError ?? '', /answered 401/);
      const everything = logs.join('\n') + (sink.status().lastError ?? '');
      assert.doesNotMatch(everything, /wrong-token-abcdef/);
      assert.doesNotMatch(everything, new RegExp(Buffer.from(`${EMAIL}:wrong-token-abcdef`).toString('base64')));
    } finally {
      delete process.env.LIBRATO_EMAIL;
      delete process.env.LIBRATO_TOKEN;
    }
  });

  test('a 429 is retried after Retry-After; an outage spools, then replays in order with nothing lost', async () => {
    const r = await receiver();
    const port = r.port;
    const sink = makeSink(libratoSinkSpec, { url: r.baseUrl, email: EMAIL, token: TOKEN, spoolDir: join(tmp.dir, 'spool5'), ...FAST_DELIVERY });
    r.failures.push({ status: 429, headers: { 'Retry-After': '1' } });
    await sink.export(batchAt([counter('c', 1)], T));
    assert.equal(r.accepted.length, 1);
    await r.stop();
    await sink.export(batchAt([counter('c', 2)], T + 10_000));
    await sink.export(batchAt([counter('c', 3)], T + 20_000));
    assert.equal(sink.status().spooled, 2);
    const back = await receiver(port);
    await waitFor('the spool to drain', () => sink.status().spooled === 0, 20_000);
    await sink.stop();
    assert.deepEqual(back.accepted.map((a) => [a.body.measure_time, a.body.counters![0]!.value]), [[1_700_000_020, 3], [1_700_000_030, 6]]);
    assert.equal(sink.status().sent, 3);
    assert.equal(sink.status().dropped, 0);
  });
});
