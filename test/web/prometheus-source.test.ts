// The web UI and its HTTP API reading from a real Prometheus (native
// histograms on) instead of the embedded store: the data is written there by
// the remote-write sink, as a deployment on Prometheus would.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TimerAggregator } from '../../src/backend/aggregators/timer-aggregator.ts';
import { prometheusRemoteWriteSinkSpec } from '../../src/sinks/prometheus-remote-write-sink.ts';
import type { MetricPoint } from '../../src/sinks/sink.ts';
import type { StoreSink } from '../../src/store/store-sink.ts';
import { PrometheusSource } from '../../src/store/prometheus-source.ts';
import { PROMETHEUS_BIN, PrometheusPeer } from '../helpers/peers/prometheus.ts';
import { requirePeer } from '../helpers/peers/process.ts';
import { api, startStoreSink } from '../helpers/store.ts';
import { batchAt, counter, FAST_DELIVERY, gauge, makeSink, tempDir } from '../sinks/fixtures.ts';
import { launchBrowser, type TestBrowser } from './browser.ts';
import { chartValues, openPage, searchAndChart } from './page-helpers.ts';

const FLUSH_MS = 10_000;
const FLUSHES = 18;
/** The same timer values every flush: any window's exact p99 is theirs. */
const LATENCIES = Array.from({ length: 2000 }, (_, i) => 1 + ((i * 7919) % 2000) ** 1.5 / 100);
const EXACT_P99_MS = [...LATENCIES].sort((a, b) => a - b)[Math.ceil(0.99 * LATENCIES.length) - 1]!;

function latencyPoint(): MetricPoint {
  const t = new TimerAggregator();
  for (const v of LATENCIES) t.add(v, 1);
  return t.toPoint({ name: 'api.latency', source: 'web-1', tags: { region: 'eu' } });
}

describe('web UI and HTTP API on a Prometheus source', () => {
  const tmp = tempDir('prom-source');
  let prom: PrometheusPeer;
  let store: StoreSink;
  let url = '';
  let browser: TestBrowser | undefined;
  const endMs = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
  const startMs = endMs - (FLUSHES - 1) * FLUSH_MS;

  before(async () => {
    requirePeer(PROMETHEUS_BIN, 'the Debian package prometheus');
    prom = await PrometheusPeer.create(tmp.dir, undefined, ['native-histograms']);
    await prom.start();
    const sink = makeSink(prometheusRemoteWriteSinkSpec, { url: prom.remoteWriteUrl, namespace: 'ps_', nativeHistograms: true, spoolDir: join(tmp.dir, 'spool'), ...FAST_DELIVERY });
    for (let k = 0; k < FLUSHES; k++) {
      await sink.export(batchAt([counter('jobs.done', 6, { source: 'web-1' }), gauge('queue.depth', k), latencyPoint()], startMs + k * FLUSH_MS));
    }
    await sink.stop();
    assert.equal(sink.status().dropped, 0);
    const source = new PrometheusSource({ url: prom.baseUrl, namespace: 'ps_', timeoutMs: 10_000, lookbackMs: 3_600_000 });
    ({ sink: store, url } = await startStoreSink({ dir: join(tmp.dir, 'store'), source }));
  });
  after(async () => {
    await browser?.close();
    await store?.stop();
    await prom?.stop();
    tmp.remove();
  });

  test('/api/series lists the Prometheus series with their Zibrato type, source and tags', async () => {
    const { status, body } = await api(`${url}/api/series?q=`);
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(
      body.series.map((s: { key: string; type: string; source: string; tags: unknown }) => [s.key, s.type, s.source, s.tags]),
      [
        ['timer:api_latency@web-1;region=eu', 'timer', 'web-1', { region: 'eu' }],
        ['counter:jobs_done@web-1', 'counter', 'web-1', {}],
        ['gauge:queue_depth', 'gauge', null, {}],
      ],
    );
  });

  test('/api/query answers a counter rate, a gauge last value and a timer p99 (histogram_quantile, within 1 %) per step', async () => {
    const range = `from=${startMs}&to=${endMs + 1}&step=1m`;
    const rate = (await api(`${url}/api/query?name=jobs_done&stat=rate&${range}`)).body;
    assert.equal(rate.unit, '/s');
    const rates = rate.series[0].points.flatMap(([, v]: [number, number | null]) => (v === null ? [] : [v]));
    assert.ok(rates.length > 0 && rates.every((v: number) => Math.abs(v - 0.6) < 1e-9), `rates ${rates}`);
    const last = (await api(`${url}/api/query?name=queue_depth&stat=last&${range}`)).body;
    assert.equal(last.series[0].points.at(-1)[1], FLUSHES - 1);
    const p99 = (await api(`${url}/api/query?name=api_latency&stat=p99&${range}`)).body;
    assert.equal(p99.unit, 'ms');
    const values = p99.series[0].points.flatMap(([, v]: [number, number | null]) => (v === null ? [] : [v]));
    assert.ok(values.length > 0, JSON.stringify(p99));
    for (const v of values) assert.ok(Math.abs(v - EXACT_P99_MS) / EXACT_P99_MS <= 0.01, `p99 ${v} vs exact ${EXACT_P99_MS}`);
  });

  test('the page searches the Prometheus series and charts a timer\'s p99 from it', async () => {
    browser = await launchBrowser();
    const page = browser.page;
    await openPage(page, `${url}/?from=${startMs}&to=${endMs + 1}`);
    await searchAndChart(page, 'api', 'api_latency');
    assert.match(await page.locator('.chart .info').innerText(), /p99/);
    const plotted = [...(await chartValues(page, 0)).values()].flatMap((m) => [...m.values()]);
    assert.ok(plotted.length > 0, 'the chart plots values');
    for (const v of plotted) assert.ok(Math.abs(v - EXACT_P99_MS) / EXACT_P99_MS <= 0.01, `plotted p99 ${v} vs exact ${EXACT_P99_MS}`);
    assert.deepEqual(browser.pageErrors, []);
  });
});
