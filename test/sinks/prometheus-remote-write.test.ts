import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import protobuf from 'protobufjs';
import { encodeWriteRequest, prometheusRemoteWriteSinkSpec, RemoteWriteTransport } from '../../src/sinks/prometheus-remote-write-sink.js';
import { snappyUncompress } from '../../src/sinks/snappy-block.js';
import { PROMETHEUS_BIN, PrometheusPeer } from '../helpers/peers/prometheus.js';
import { requirePeer, waitFor } from '../helpers/peers/process.js';
import { batchAt, counter, FAST_DELIVERY, gauge, makeSink, tempDir, timer } from './fixtures.js';

/** prometheus/prompb/types.proto and remote.proto, the parts remote write 1.0 uses. */
const REMOTE_PROTO = `
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
`;

describe('prometheus remote-write sink into a real Prometheus', () => {
  const tmp = tempDir('prom-rw');
  let prom: PrometheusPeer | undefined;
  const nowMs = Math.floor(Date.now() / 1000) * 1000;

  before(async () => {
    prom = await PrometheusPeer.create(tmp.dir);
  });
  after(async () => {
    await prom?.stop();
    tmp.remove();
  });

  test('the WriteRequest decodes with the prompb schema; labels are sorted with __name__', () => {
    const body = encodeWriteRequest([{ labels: [['__name__', 'a_total'], ['b', 'x'], ['source', 'y']], value: 1.5 }], 1_700_000_000_123);
    const root = protobuf.parse(REMOTE_PROTO).root;
    const decoded = root.lookupType('prometheus.WriteRequest').toObject(root.lookupType('prometheus.WriteRequest').decode(body), { longs: Number });
    assert.deepEqual(decoded, {
      timeseries: [{ labels: [{ name: '__name__', value: 'a_total' }, { name: 'b', value: 'x' }, { name: 'source', value: 'y' }], samples: [{ value: 1.5, timestamp: 1_700_000_000_123 }] }],
    });
    assert.deepEqual(snappyUncompress(Buffer.from([0x03, 0x08, 0x61, 0x62, 0x63])), Buffer.from('abc'));
  });

  test('samples land at flush time with exact values: cumulative _total counters, summaries, gauges', async () => {
    requirePeer(PROMETHEUS_BIN, 'the Debian package prometheus');
    await prom!.start();
    try {
      const sink = makeSink(prometheusRemoteWriteSinkSpec, { url: prom!.remoteWriteUrl, namespace: 'rw_', spoolDir: join(tmp.dir, 'spool1'), ...FAST_DELIVERY });
      await sink.start?.();
      const t1 = nowMs - 60_000;
      const t2 = nowMs - 50_000;
      await sink.export(batchAt([counter('requests', 5, { source: 'web-1', tags: { Zone: 'eu' } }), gauge('temp', -3.5), timer('db.query')], t1));
      await sink.export(batchAt([counter('requests', 7, { source: 'web-1', tags: { Zone: 'eu' } }), gauge('temp', 2), timer('db.query', { count: 5, sum: 10, p99: 50 })], t2));
      await sink.stop();
      assert.deepEqual(sink.status(), { sent: 6, failed: 0, spooled: 0, dropped: 0, lastError: undefined });
      await prom!.waitForValue('rw_requests_total{source="web-1",Zone="eu"}', 5, t1 / 1000);
      await prom!.waitForValue('rw_requests_total{source="web-1",Zone="eu"}', 12, t2 / 1000);
      await prom!.waitForValue('rw_temp', -3.5, t1 / 1000);
      await prom!.waitForValue('rw_temp', 2, t2 / 1000);
      // Timers travel in ms and reach Prometheus in seconds, as its naming conventions ask.
      await prom!.waitForValue('rw_db_query_seconds_count', 15, t2 / 1000);
      await prom!.waitForValue('rw_db_query_seconds_sum', 0.1335, t2 / 1000);
      await prom!.waitForValue('rw_db_query_seconds{quantile="0.99"}', 0.05, t2 / 1000);
      await prom!.waitForValue('rw_db_query_seconds{quantile="0.5"}', 0.01, t2 / 1000);
      // Samples carry the flush time, not the arrival time.
      const [r] = await prom!.query('timestamp(rw_temp)', t2 / 1000);
      assert.equal(Number(r!.value[1]), t2 / 1000);
    } finally {
      await prom!.stop();
    }
  });

  test('a 400 (out-of-order sample) is counted as dropped and not retried', async () => {
    requirePeer(PROMETHEUS_BIN, 'the Debian package prometheus');
    await prom!.start();
    try {
      const logs: string[] = [];
      const sink = makeSink(prometheusRemoteWriteSinkSpec, { url: prom!.remoteWriteUrl, spoolDir: join(tmp.dir, 'spool2'), ...FAST_DELIVERY }, logs);
      await sink.export(batchAt([gauge('ooo', 1)], nowMs - 40_000));
      await sink.export(batchAt([gauge('ooo', 2)], nowMs - 45_000));
      await sink.stop();
      const s = sink.status();
      assert.equal(s.sent, 1);
      assert.equal(s.dropped, 1);
      assert.equal(s.failed, 1, 'a permanent rejection is tried once');
      assert.equal(s.spooled, 0);
      assert.match(logs.join('\n'), /answered 400/);
    } finally {
      await prom!.stop();
    }
  });

  test('while Prometheus is down flushes are spooled, then replayed in order with nothing lost', async () => {
    requirePeer(PROMETHEUS_BIN, 'the Debian package prometheus');
    const sink = makeSink(prometheusRemoteWriteSinkSpec, { url: prom!.remoteWriteUrl, spoolDir: join(tmp.dir, 'spool3'), ...FAST_DELIVERY });
    try {
      const ts = [nowMs - 30_000, nowMs - 29_000, nowMs - 28_000];
      for (const [i, at] of ts.entries()) await sink.export(batchAt([counter('outage', i + 1), gauge('outage_g', i * 10)], at));
      assert.equal(sink.status().spooled, 6);
      assert.equal(sink.status().sent, 0);
      await prom!.start();
      await waitFor('the spool to drain', () => sink.status().spooled === 0, 20_000);
      assert.equal(sink.status().sent, 6);
      assert.equal(sink.status().dropped, 0);
      await prom!.waitForValue('outage_total', 1, ts[0]! / 1000);
      await prom!.waitForValue('outage_total', 3, ts[1]! / 1000);
      await prom!.waitForValue('outage_total', 6, ts[2]! / 1000);
      await prom!.waitForValue('outage_g', 20, ts[2]! / 1000);
    } finally {
      await sink.stop();
      await prom!.stop();
    }
  });
});

describe('prometheus remote-write payloads', () => {
  const root = protobuf.parse(REMOTE_PROTO).root;
  const WriteRequest = root.lookupType('prometheus.WriteRequest');
  /** `name value` of every series a flush sends. */
  function sentSeries(t: RemoteWriteTransport, batch: ReturnType<typeof batchAt>): string[] {
    return t.encode(batch).payloads.flatMap((p) => {
      const req = WriteRequest.toObject(WriteRequest.decode(snappyUncompress(p.body))) as { timeseries: { labels: { name: string; value: string }[]; samples: { value: number }[] }[] };
      return req.timeseries.map((ts) => `${ts.labels.find((l) => l.name === '__name__')!.value} ${ts.samples[0]!.value}`);
    }).sort();
  }
  const transport = (): RemoteWriteTransport => new RemoteWriteTransport({ url: 'http://127.0.0.1:1/api/v1/write', namespace: '', maxSeriesPerRequest: 1, timeoutMs: 1_000 });

  test('a counter idle in a flush is still sent with its current total', () => {
    const t = transport();
    sentSeries(t, batchAt([counter('jobs', 5), gauge('temp', 2)], 1_000));
    assert.deepEqual(sentSeries(t, batchAt([counter('other', 1)], 2_000)), ['jobs_total 5', 'other_total 1', 'temp 2']);
  });

  test('a series the backend forgot is no longer sent', () => {
    const t = transport();
    sentSeries(t, batchAt([counter('jobs', 5), gauge('temp', 2)], 1_000));
    const batch = { ...batchAt([], 2_000), expired: [{ type: 'counter' as const, name: 'jobs', source: '', tags: {} }] };
    assert.deepEqual(sentSeries(t, batch), ['temp 2']);
  });
});
