import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TimerAggregator } from '../../src/backend/aggregators/timer-aggregator.js';
import { prometheusRemoteWriteSinkSpec } from '../../src/sinks/prometheus-remote-write-sink.js';
import { requirePeer, waitFor } from '../helpers/peers/process.js';
import { VICTORIA_METRICS_BIN, VictoriaMetricsPeer } from '../helpers/peers/victoria-metrics.js';
import { PrometheusSource } from '../../src/store/prometheus-source.js';
import { batchAt, counter, FAST_DELIVERY, gauge, makeSink, tempDir, timer } from './fixtures.js';

describe('prometheus remote-write sink into a real VictoriaMetrics', () => {
  const tmp = tempDir('victoria');
  let vm: VictoriaMetricsPeer | undefined;
  const nowMs = Math.floor(Date.now() / 1000) * 1000;

  before(async () => {
    requirePeer(VICTORIA_METRICS_BIN, 'the Debian package victoria-metrics');
    vm = await VictoriaMetricsPeer.create(tmp.dir);
    await vm.start();
  });
  after(async () => {
    await vm?.stop();
    tmp.remove();
  });

  test('counters (cumulative _total), gauges and timers as summaries land at flush time with exact values', async () => {
    const sink = makeSink(prometheusRemoteWriteSinkSpec, { url: vm!.remoteWriteUrl, namespace: 'vm_', spoolDir: join(tmp.dir, 'spool1'), ...FAST_DELIVERY });
    const t1 = nowMs - 60_000;
    const t2 = nowMs - 50_000;
    await sink.export(batchAt([counter('requests', 5, { source: 'web-1', tags: { zone: 'eu' } }), gauge('temp', -3.5), timer('db.query')], t1));
    await sink.export(batchAt([counter('requests', 7, { source: 'web-1', tags: { zone: 'eu' } }), gauge('temp', 2), timer('db.query', { count: 5, sum: 10, p99: 50 })], t2));
    await sink.stop();
    assert.deepEqual(sink.status(), { sent: 6, failed: 0, spooled: 0, dropped: 0, lastError: undefined });
    await vm!.waitForValue('vm_requests_total{source="web-1",zone="eu"}', 5, t1 / 1000);
    await vm!.waitForValue('vm_requests_total{source="web-1",zone="eu"}', 12, t2 / 1000);
    await vm!.waitForValue('vm_temp', -3.5, t1 / 1000);
    await vm!.waitForValue('vm_temp', 2, t2 / 1000);
    await vm!.waitForValue('vm_db_query_seconds_count', 15, t2 / 1000);
    await vm!.waitForValue('vm_db_query_seconds_sum', 0.1335, t2 / 1000);
    await vm!.waitForValue('vm_db_query_seconds{quantile="0.99"}', 0.05, t2 / 1000);
    await vm!.waitForValue('vm_db_query_seconds{quantile="0.5"}', 0.01, t2 / 1000);
  });

  test('VictoriaMetrics 1.79 accepts a request with native histograms but stores none of them (so timers go as summaries to it)', async () => {
    const sink = makeSink(prometheusRemoteWriteSinkSpec, { url: vm!.remoteWriteUrl, namespace: 'vmnh_', nativeHistograms: true, spoolDir: join(tmp.dir, 'spool2'), ...FAST_DELIVERY });
    const t = new TimerAggregator();
    for (const v of [1, 2, 3, 500]) t.add(v, 1);
    const at = nowMs - 40_000;
    await sink.export(batchAt([t.toPoint({ name: 'lat', source: '', tags: {} }), counter('marker', 1)], at));
    await sink.stop();
    assert.deepEqual(sink.status(), { sent: 2, failed: 0, spooled: 0, dropped: 0, lastError: undefined });
    // The counter of the same request is stored; once it is searchable, the histogram would be too.
    await vm!.waitForValue('vmnh_marker_total', 1, at / 1000);
    const r = await waitFor('the series query to answer', () => vm!.query('{__name__=~"vmnh_lat.*"}', at / 1000));
    assert.deepEqual(r, []);
  });

  test('the UI\'s query layer reads VictoriaMetrics as a Prometheus source: series with their types, a counter rate and a summary p99', async () => {
    const sink = makeSink(prometheusRemoteWriteSinkSpec, { url: vm!.remoteWriteUrl, namespace: 'ui_', spoolDir: join(tmp.dir, 'spool3'), ...FAST_DELIVERY });
    const end = Math.floor(nowMs / 60_000) * 60_000 - 60_000;
    const flushes = Array.from({ length: 12 }, (_, k) => end - (11 - k) * 10_000);
    for (const at of flushes) await sink.export(batchAt([counter('jobs.done', 6, { source: 'web-1' }), timer('db.query', { p99: 42 })], at));
    await sink.stop();
    await vm!.waitForValue('ui_jobs_done_total', 72, end / 1000);
    const source = new PrometheusSource({ url: vm!.baseUrl, namespace: 'ui_', timeoutMs: 10_000, lookbackMs: 3_600_000 });
    const listed = await source.listSeries({ tags: [], limit: 100 });
    assert.deepEqual(listed.series.map((x) => [x.key, x.type]), [['timer:db_query', 'timer'], ['counter:jobs_done@web-1', 'counter']]);
    const range = { tags: [] as [string, string][], fromMs: end - 60_000, toMs: end + 1, stepMs: 60_000, top: 20 };
    const rate = await source.query({ ...range, name: 'jobs_done', stat: 'rate' });
    assert.equal(rate.unit, '/s');
    const rates = rate.series[0]!.points.flatMap(([, v]) => (v === null ? [] : [v]));
    assert.ok(rates.length > 0 && rates.every((v) => Math.abs(v - 0.6) < 1e-6), `rates ${rates}`);
    const p99 = await source.query({ ...range, name: 'db_query', stat: 'p99' });
    assert.deepEqual(p99.series[0]!.points.flatMap(([, v]) => (v === null ? [] : [v])), [42]);
  });
});
