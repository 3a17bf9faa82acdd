import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { otlpSinkSpec, OtlpTransport } from '../../src/sinks/otlp-sink.js';
import { CumulativeState } from '../../src/backend/temporality.js';
import { OtlpReceiver } from '../helpers/peers/otlp-receiver.js';
import { waitFor } from '../helpers/peers/process.js';
import { batchAt, counter, FAST_DELIVERY, gauge, makeSink, set, tempDir, timer } from './fixtures.js';

const T = 1_700_000_010_000;
const START = '1700000000000000000';
const END = '1700000010000000000';
const SCOPE = { name: 'zibrato', version: '1' };

function points() {
  return [
    counter('http.requests', 42, { source: 'web-1', tags: { route: '/a', method: 'GET' } }),
    counter('queue.delta', -3, { source: 'web-1' }),
    gauge('temp', -3.5),
    set('users', 17),
    timer('db.query', { source: 'web-1', tags: { db: 'main' }, count: 10.4 }),
  ];
}

/** What the official schema must decode, field by field. */
const EXPECTED = {
  resourceMetrics: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'web-1' } }] },
      scopeMetrics: [
        {
          scope: SCOPE,
          metrics: [
            {
              name: 'http.requests',
              sum: {
                dataPoints: [{
                  attributes: [{ key: 'method', value: { stringValue: 'GET' } }, { key: 'route', value: { stringValue: '/a' } }],
                  startTimeUnixNano: START, timeUnixNano: END, asDouble: 42,
                }],
                aggregationTemporality: 1,
                isMonotonic: true,
              },
            },
            // A negative delta cannot be monotonic.
            { name: 'queue.delta', sum: { dataPoints: [{ startTimeUnixNano: START, timeUnixNano: END, asDouble: -3 }], aggregationTemporality: 1 } },
            {
              name: 'db.query',
              unit: 'ms',
              summary: {
                dataPoints: [{
                  attributes: [{ key: 'db', value: { stringValue: 'main' } }],
                  startTimeUnixNano: START, timeUnixNano: END, count: '10', sum: 123.5,
                  quantileValues: [
                    { quantile: 0, value: 1.5 }, { quantile: 0.5, value: 10 }, { quantile: 0.9, value: 30.5 },
                    { quantile: 0.95, value: 35 }, { quantile: 0.99, value: 39.75 }, { quantile: 1, value: 40 },
                  ],
                }],
              },
            },
          ],
        },
      ],
    },
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'unknown_service:zibrato' } }] },
      scopeMetrics: [
        {
          scope: SCOPE,
          metrics: [
            { name: 'temp', gauge: { dataPoints: [{ timeUnixNano: END, asDouble: -3.5 }] } },
            { name: 'users', gauge: { dataPoints: [{ timeUnixNano: END, asDouble: 17 }] } },
          ],
        },
      ],
    },
  ],
};

describe('otlp sink against a receiver decoding with the official OTLP schema', () => {
  const tmp = tempDir('otlp');
  const receivers: OtlpReceiver[] = [];
  after(async () => {
    for (const r of receivers) await r.stop();
    tmp.remove();
  });
  async function receiver(port = 0): Promise<OtlpReceiver> {
    const r = new OtlpReceiver();
    await r.start(port);
    receivers.push(r);
    return r;
  }

  for (const encoding of ['protobuf', 'json'] as const) {
    test(`over ${encoding}, every field decodes as specified: delta Sums, Gauges, Summaries, resources per source`, async () => {
      const r = await receiver();
      const sink = makeSink(otlpSinkSpec, { url: r.url, encoding, spoolDir: join(tmp.dir, `spool-${encoding}`), ...FAST_DELIVERY });
      await sink.start?.();
      await sink.export(batchAt(points(), T));
      await sink.stop();
      assert.deepEqual(sink.status(), { sent: 5, failed: 0, spooled: 0, dropped: 0, lastError: undefined });
      assert.equal(r.received.length, 1);
      assert.equal(r.received[0]!.contentType, encoding === 'json' ? 'application/json' : 'application/x-protobuf');
      assert.deepEqual(r.received[0]!.request, EXPECTED);
    });
  }

  test('Summary count and sum are cumulative since the series started, quantiles are the interval\'s', async () => {
    const r = await receiver();
    const sink = makeSink(otlpSinkSpec, { url: r.url, encoding: 'json', spoolDir: join(tmp.dir, 'spool-cumulative'), ...FAST_DELIVERY });
    await sink.export(batchAt([timer('lat', { count: 2, sum: 3, p50: 1 })], T));
    await sink.export(batchAt([timer('lat', { count: 5, sum: 10, p50: 2 })], T + 10_000));
    await sink.stop();
    type Dp = { startTimeUnixNano: string; timeUnixNano: string; count: string; sum: number; quantileValues: { quantile: number; value: number }[] };
    const dps = r.received.map((x) => ((x.request.resourceMetrics as { scopeMetrics: { metrics: { summary: { dataPoints: Dp[] } }[] }[] }[])[0]!.scopeMetrics[0]!.metrics[0]!.summary.dataPoints[0]!));
    assert.deepEqual(dps.map((d) => [d.startTimeUnixNano, d.timeUnixNano, d.count, d.sum, d.quantileValues[1]!.value]), [
      [START, END, '2', 3, 1],
      [START, '1700000020000000000', '7', 13, 2],
    ]);
  });

  test('a timer series the backend forgot starts its Summary totals again', () => {
    const t = new OtlpTransport({ url: 'http://127.0.0.1:1/v1/metrics', encoding: 'json', serviceName: '', headers: {}, maxPointsPerRequest: 100, timeoutMs: 1_000 });
    // The totals are the backend's (its CumulativeState), as under a real backend.
    const state = new CumulativeState();
    t.encode(state.apply(batchAt([timer('lat', { count: 2, sum: 3 }), timer('kept', { count: 1, sum: 1 })], T)));
    assert.equal(state.size, 2);
    const body = t.encode(state.apply({ ...batchAt([timer('lat', { count: 5, sum: 10 })], T + 20_000), expired: [{ type: 'timer', name: 'lat', source: '', tags: {} }] })).payloads[0]!.body;
    const dp = (JSON.parse(body.toString()) as { resourceMetrics: { scopeMetrics: { metrics: { summary: { dataPoints: { count: string; startTimeUnixNano: string }[] } }[] }[] }[] }).resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.summary.dataPoints[0]!;
    assert.deepEqual([dp.count, dp.startTimeUnixNano], ['5', '1700000020000000000']);
    assert.equal(state.size, 2);
  });

  for (const encoding of ['protobuf', 'json'] as const) {
    test(`over ${encoding}, a series' description and unit become the metric's description and unit`, async () => {
      const r = await receiver();
      const sink = makeSink(otlpSinkSpec, { url: r.url, encoding, spoolDir: join(tmp.dir, `spool-described-${encoding}`), ...FAST_DELIVERY });
      await sink.export(batchAt([gauge('heap.used', 5, { description: 'V8 heap in use', unit: 'bytes' }), timer('gc', { description: 'GC pauses', unit: 'seconds' })], T));
      await sink.stop();
      type M = { name: string; description?: string; unit?: string };
      const metrics = (r.received[0]!.request.resourceMetrics as { scopeMetrics: { metrics: M[] }[] }[])[0]!.scopeMetrics[0]!.metrics;
      assert.deepEqual(metrics.map((m) => [m.name, m.description, m.unit]), [
        ['heap.used', 'V8 heap in use', 'bytes'],
        ['gc', 'GC pauses', 'ms'],
      ]);
    });
  }

  test('a configured service name replaces the source, which moves to zibrato.source', async () => {
    const r = await receiver();
    const sink = makeSink(otlpSinkSpec, { url: r.url, serviceName: 'checkout', spoolDir: join(tmp.dir, 'spool-svc'), ...FAST_DELIVERY });
    await sink.export(batchAt([gauge('g', 1, { source: 'web-1' })], T));
    await sink.stop();
    const rm = (r.received[0]!.request.resourceMetrics as { resource: unknown }[])[0]!;
    assert.deepEqual(rm.resource, { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }, { key: 'zibrato.source', value: { stringValue: 'web-1' } }] });
  });

  test('a 503 with Retry-After is retried and then delivered; a 400 is dropped and never retried', async () => {
    const r = await receiver();
    const logs: string[] = [];
    const sink = makeSink(otlpSinkSpec, { url: r.url, spoolDir: join(tmp.dir, 'spool-retry'), ...FAST_DELIVERY }, logs);
    r.failures.push({ status: 503, headers: { 'Retry-After': '1' } });
    await sink.export(batchAt([gauge('retried', 1)], T));
    assert.deepEqual({ ...sink.status(), lastError: undefined }, { sent: 1, failed: 1, spooled: 0, dropped: 0, lastError: undefined });
    r.failures.push({ status: 400, body: '{"message":"bad data"}' });
    await sink.export(batchAt([gauge('rejected', 1)], T));
    await sink.stop();
    assert.deepEqual({ ...sink.status(), lastError: undefined }, { sent: 1, failed: 2, spooled: 0, dropped: 1, lastError: undefined });
    assert.equal(r.received.length, 1);
    assert.match(logs.join('\n'), /answered 400: \{"message":"bad data"\}/);
  });

  test('a point with a non-finite value is dropped and counted; the rest is delivered', async () => {
    const r = await receiver();
    const sink = makeSink(otlpSinkSpec, { url: r.url, spoolDir: join(tmp.dir, 'spool-nan'), ...FAST_DELIVERY });
    await sink.export(batchAt([gauge('nan', Number.NaN), gauge('fine', 2)], T));
    await sink.stop();
    assert.equal(sink.status().dropped, 1);
    assert.equal(sink.status().sent, 1);
    const metrics = (r.received[0]!.request.resourceMetrics as { scopeMetrics: { metrics: { name: string }[] }[] }[])[0]!.scopeMetrics[0]!.metrics;
    assert.deepEqual(metrics.map((m) => m.name), ['fine']);
  });

  test('credentials in headers never reach logs or status, even when the server echoes them', async () => {
    const r = await receiver();
    const logs: string[] = [];
    const sink = makeSink(otlpSinkSpec, { url: r.url, headers: 'authorization=Bearer%20sekrit-token-123', spoolDir: join(tmp.dir, 'spool-secret'), ...FAST_DELIVERY }, logs);
    r.failures.push({ status: 401, body: 'invalid token Bearer sekrit-token-123' });
    await sink.export(batchAt([gauge('g', 1)], T));
    await sink.stop();
    assert.equal(sink.status().dropped, 1);
    assert.match(sink.status().lastError ?? '', /answered 401: invalid token \*\*\*/);
    assert.doesNotMatch(logs.join('\n') + sink.status().lastError, /sekrit/);
  });

  test('while the receiver is down flushes are spooled, then replayed in order with nothing lost', async () => {
    const first = await receiver();
    const port = first.port;
    await first.stop();
    const sink = makeSink(otlpSinkSpec, { url: `http://127.0.0.1:${port}/v1/metrics`, spoolDir: join(tmp.dir, 'spool-outage'), ...FAST_DELIVERY });
    await sink.start?.();
    for (let i = 0; i < 3; i++) await sink.export(batchAt([counter('outage', i + 1)], T + i * 10_000));
    assert.equal(sink.status().spooled, 3);
    assert.equal(sink.status().sent, 0);
    const back = await receiver(port);
    await waitFor('the spool to drain', () => sink.status().spooled === 0, 20_000);
    await sink.stop();
    assert.equal(sink.status().sent, 3);
    assert.equal(sink.status().dropped, 0);
    const values = back.received.map((x) => {
      const m = (x.request.resourceMetrics as { scopeMetrics: { metrics: { sum: { dataPoints: { asDouble: number }[] } }[] }[] }[])[0]!.scopeMetrics[0]!.metrics[0]!;
      return m.sum.dataPoints[0]!.asDouble;
    });
    assert.deepEqual(values, [1, 2, 3]);
  });
});
