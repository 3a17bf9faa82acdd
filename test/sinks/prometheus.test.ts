import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { prometheusSinkSpec, PrometheusExpositionSink } from '../../src/sinks/prometheus-sink.js';
import { sanitizeLabelName, sanitizeMetricName } from '../../src/sinks/prometheus-naming.js';
import { freeTcpPort } from '../helpers/ports.js';
import { PROMETHEUS_BIN, PrometheusPeer } from '../helpers/peers/prometheus.js';
import { requirePeer, waitFor } from '../helpers/peers/process.js';
import { promtoolCheckMetrics } from '../helpers/peers/promtool.js';
import { batchAt, counter, gauge, makeSink, set, tempDir, timer } from './fixtures.js';

describe('prometheus exposition sink scraped by a real Prometheus', () => {
  const tmp = tempDir('prom-scrape');
  let sink: PrometheusExpositionSink | undefined;
  let prom: PrometheusPeer | undefined;

  before(async () => {
    const port = await freeTcpPort();
    sink = makeSink(prometheusSinkSpec, { port }) as PrometheusExpositionSink;
    await sink.start();
    prom = await PrometheusPeer.create(tmp.dir, `127.0.0.1:${port}`);
  });
  after(async () => {
    await prom?.stop();
    await sink?.stop();
    tmp.remove();
  });

  test('names and label names are sanitised to what Prometheus accepts', () => {
    assert.equal(sanitizeMetricName('http.requests-served'), 'http_requests_served');
    assert.equal(sanitizeMetricName('9lives:x'), '_9lives_x');
    assert.equal(sanitizeLabelName('__reserved'), '_reserved');
    assert.equal(sanitizeLabelName('a.b'), 'a_b');
    assert.equal(sanitizeLabelName('1st'), '_1st');
  });

  test('the /metrics page is text format 0.0.4 with cumulative counters and summaries', async () => {
    const s = new PrometheusExpositionSink({ host: '127.0.0.1', port: 0, namespace: 'ns_', expireAfterMs: 0 });
    try {
      await s.start();
      await s.export(batchAt([counter('hits', 2, { tags: { path: '/a "b"\\' } }), timer('lat', { count: 2, sum: 3 })]));
      await s.export(batchAt([counter('hits', 3, { tags: { path: '/a "b"\\' } }), timer('lat', { count: 1, sum: 1.5, p99: 7 })]));
      const res = await fetch(`http://127.0.0.1:${s.port}/metrics`);
      assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      const text = await res.text();
      assert.equal(text, [
        '# HELP ns_hits_total zibrato counter hits',
        '# TYPE ns_hits_total counter',
        'ns_hits_total{path="/a \\"b\\"\\\\"} 5',
        '# HELP ns_lat_seconds zibrato timer lat',
        '# TYPE ns_lat_seconds summary',
        'ns_lat_seconds{quantile="0.5"} 0.01',
        'ns_lat_seconds{quantile="0.9"} 0.0305',
        'ns_lat_seconds{quantile="0.95"} 0.035',
        'ns_lat_seconds{quantile="0.99"} 0.007',
        'ns_lat_seconds_sum 0.0045',
        'ns_lat_seconds_count 3',
        '',
      ].join('\n'));
      const check = promtoolCheckMetrics(text);
      assert.equal(check.status, 0, check.output);
    } finally {
      await s.stop();
    }
  });

  test('Prometheus scrapes exact values: counters as cumulative _total, timers as summaries, gauges, sets', async () => {
    requirePeer(PROMETHEUS_BIN, 'the Debian package prometheus');
    await sink!.export(batchAt([
      counter('app.requests', 5, { source: 'web-1', tags: { region: 'eu' } }),
      gauge('app.temp', -3.5),
      timer('db.query', { tags: { db: 'main', quantile: 'x' } }),
      set('users.unique', 17),
      gauge('odd-name', 1, { tags: { __weird: 'w', '1st': 'one' } }),
    ]));
    await sink!.export(batchAt([counter('app.requests', 7, { source: 'web-1', tags: { region: 'eu' } }), timer('db.query', { tags: { db: 'main', quantile: 'x' }, count: 4, sum: 20, p50: 5 })]));
    await prom!.start();
    const base = 'job="zibrato"';
    await prom!.waitForValue(`app_requests_total{${base},source="web-1",region="eu"}`, 12);
    await prom!.waitForValue(`app_temp{${base}}`, -3.5);
    await prom!.waitForValue(`users_unique{${base}}`, 17);
    await prom!.waitForValue(`db_query_seconds_count{${base},db="main",tag_quantile="x"}`, 14);
    await prom!.waitForValue(`db_query_seconds_sum{${base},db="main",tag_quantile="x"}`, 0.1435);
    await prom!.waitForValue(`db_query_seconds{${base},db="main",tag_quantile="x",quantile="0.5"}`, 0.005);
    await prom!.waitForValue(`db_query_seconds{${base},db="main",tag_quantile="x",quantile="0.99"}`, 0.03975);
    await prom!.waitForValue(`odd_name{${base},_weird="w",_1st="one"}`, 1);
    // Scrapes happened and nothing was refused.
    assert.ok(sink!.scrapes > 0);
    assert.deepEqual(sink!.status(), { sent: 7, failed: 0, spooled: 0, dropped: 0, lastError: undefined });
  });

  test('a name reused with another type is dropped and counted; the rest is exposed', async () => {
    const s = new PrometheusExpositionSink({ host: '127.0.0.1', port: 0, namespace: '', expireAfterMs: 0 });
    try {
      await s.export(batchAt([gauge('x_total', 1), counter('x', 2), gauge('y', Number.NaN), gauge('z', 3)]));
      assert.equal(s.status().dropped, 2);
      const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
      assert.equal(text, '# HELP x_total zibrato gauge x_total\n# TYPE x_total gauge\nx_total 1\n# HELP z zibrato gauge z\n# TYPE z gauge\nz 3\n');
    } finally {
      await s.stop();
    }
  });

  test('a gauge whose sanitised name is a timer summary sample (lat.seconds.count beside timer lat) is dropped, counted and logged, never exposed twice', async () => {
    const logs: string[] = [];
    const s = new PrometheusExpositionSink({ host: '127.0.0.1', port: 0, namespace: '', expireAfterMs: 0 }, (l) => logs.push(l));
    try {
      await s.export(batchAt([timer('lat'), gauge('lat.seconds.count', 4), gauge('lat.seconds.sum', 5), gauge('lat.ok', 6)]));
      await s.export(batchAt([gauge('lat.seconds.count', 4)]));
      assert.equal(s.status().dropped, 3);
      assert.match(logs.join('\n'), /lat_seconds_count is already a sample of the summary lat_seconds/);
      const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
      assert.equal(text.split('\n').filter((l) => l.startsWith('lat_seconds_count')).length, 1, text);
      const check = promtoolCheckMetrics(text);
      assert.equal(check.status, 0, check.output);
    } finally {
      await s.stop();
    }
  });

  test('a timer arriving after a gauge that owns one of its sample names is the one dropped', async () => {
    const s = new PrometheusExpositionSink({ host: '127.0.0.1', port: 0, namespace: '', expireAfterMs: 0 });
    try {
      await s.export(batchAt([gauge('lat.seconds.count', 4)]));
      await s.export(batchAt([timer('lat')]));
      assert.equal(s.status().dropped, 1);
      const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
      assert.doesNotMatch(text, /summary/);
    } finally {
      await s.stop();
    }
  });

  test('series the backend forgot stop being exposed, and free their family name', async () => {
    const s = new PrometheusExpositionSink({ host: '127.0.0.1', port: 0, namespace: '', expireAfterMs: 0 });
    try {
      await s.export(batchAt([gauge('lat.seconds.count', 4), gauge('kept', 1)]));
      await s.export({ ...batchAt([timer('lat')]), expired: [{ type: 'gauge', name: 'lat.seconds.count', source: '', tags: {} }] });
      assert.equal(s.status().dropped, 0);
      const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
      assert.match(text, /# TYPE lat_seconds summary/);
      assert.match(text, /^kept 1$/m);
      assert.doesNotMatch(text, /TYPE lat_seconds_count/);
    } finally {
      await s.stop();
    }
  });

  test('promtool accepts an exposition of every point type with sources, tags and escapes', async () => {
    const s = new PrometheusExpositionSink({ host: '127.0.0.1', port: 0, namespace: 'app_', expireAfterMs: 0 });
    try {
      await s.export(batchAt([
        counter('http.requests', 5, { source: 'web-1', tags: { path: '/a "b"\\\nc', 'bad key': 'v' } }),
        gauge('queue.depth', -3.5, { tags: { __weird: 'w', '1st': 'one' } }),
        timer('db.query', { tags: { db: 'main', quantile: 'x' } }),
        set('users.unique', 17),
        gauge('odd:name\nwith\\help', 1),
      ]));
      const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
      const check = promtoolCheckMetrics(text);
      assert.equal(check.status, 0, `${check.output}\n${text}`);
    } finally {
      await s.stop();
    }
  });

  test('the exposition port answers 404 elsewhere and the sink stops cleanly', async () => {
    const s = new PrometheusExpositionSink({ host: '127.0.0.1', port: 0, namespace: '', expireAfterMs: 0 });
    await s.start();
    const res = await fetch(`http://127.0.0.1:${s.port}/`);
    assert.equal(res.status, 404);
    await res.text();
    await s.stop();
    await waitFor('the port to close', async () => (await fetch(`http://127.0.0.1:${s.port}/metrics`).then(() => false, () => true)), 5_000);
  });
});

describe('prometheus exposition: descriptions and units', () => {
  async function exposition(points: Parameters<typeof batchAt>[0]): Promise<string> {
    const s = new PrometheusExpositionSink({ host: '127.0.0.1', port: 0, namespace: '', expireAfterMs: 0 });
    try {
      await s.export(batchAt(points));
      return await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    } finally {
      await s.stop();
    }
  }

  test('a description becomes the family’s # HELP line, escaped', async () => {
    const text = await exposition([gauge('queue.depth', 3, { description: 'Jobs waiting\nin the queue \\ now' })]);
    assert.match(text, /^# HELP queue_depth Jobs waiting\\nin the queue \\\\ now$/m);
  });

  test('a unit becomes the name suffix, before _total on counters and once only', async () => {
    const text = await exposition([
      counter('process.cpu.user', 2, { unit: 'seconds' }),
      gauge('heap.used', 1024, { unit: 'bytes' }),
      gauge('heap_total_bytes', 2048, { unit: 'By' }),
      gauge('loop.utilization', 0.5, { unit: 'ratio' }),
      counter('jobs_total', 1, { unit: 's' }),
    ]);
    for (const name of ['process_cpu_user_seconds_total', 'heap_used_bytes', 'heap_total_bytes', 'loop_utilization_ratio', 'jobs_seconds_total']) assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), text);
  });

  test('timers are exposed in seconds with the _seconds suffix, whatever their unit says', async () => {
    const text = await exposition([timer('http.duration', { unit: 'ms', count: 2, sum: 250, p99: 1500 })]);
    assert.match(text, /^http_duration_seconds\{quantile="0.99"\} 1.5$/m);
    assert.match(text, /^http_duration_seconds_sum 0.25$/m);
    assert.match(text, /^http_duration_seconds_count 2$/m);
  });

  test('promtool accepts described series with units, default-metrics style', async () => {
    const text = await exposition([
      counter('process.cpu.system', 0.25, { unit: 'seconds', description: 'System CPU time spent' }),
      gauge('process.resident_memory', 5e7, { unit: 'bytes', description: 'Resident set size' }),
      timer('nodejs.gc.duration', { tags: { kind: 'minor' }, description: 'Garbage collection pauses by kind' }),
    ]);
    assert.match(text, /^# HELP nodejs_gc_duration_seconds Garbage collection pauses by kind$/m);
    const check = promtoolCheckMetrics(text);
    assert.equal(check.status, 0, check.output);
  });
});
