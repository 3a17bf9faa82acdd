import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import protobuf from 'protobufjs';
import { TimerAggregator } from '../../src/backend/aggregators/timer-aggregator.js';
import { encodeWriteRequest, nativeHistogram, prometheusRemoteWriteSinkSpec, RemoteWriteTransport } from '../../src/sinks/prometheus-remote-write-sink.js';
import type { TimerPoint } from '../../src/sinks/sink.js';
import { PROMETHEUS_BIN, PrometheusPeer } from '../helpers/peers/prometheus.js';
import { requirePeer, waitFor } from '../helpers/peers/process.js';
import { batchAt, FAST_DELIVERY, makeSink, tempDir, timer } from './fixtures.js';

/** prompb's Histogram and BucketSpan (prometheus/prompb/types.proto), as remote write 1.0 carries them. */
const HISTOGRAM_PROTO = `
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; repeated Histogram histograms = 4; }
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
message BucketSpan { sint32 offset = 1; uint32 length = 2; }
message Histogram {
  oneof count { uint64 count_int = 1; double count_float = 2; }
  double sum = 3;
  sint32 schema = 4;
  double zero_threshold = 5;
  oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
  repeated BucketSpan negative_spans = 8;
  repeated sint64 negative_deltas = 9;
  repeated double negative_counts = 10;
  repeated BucketSpan positive_spans = 11;
  repeated sint64 positive_deltas = 12;
  repeated double positive_counts = 13;
  int32 reset_hint = 14;
  int64 timestamp = 15;
}
`;

/** A deterministic pseudo-random sequence in [0, 1) (Park–Miller), so a failure replays. */
function uniform(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/** A timer point (ms) for `values`, built by the backend's own aggregator. */
function timerPoint(name: string, source: string, values: readonly number[]): TimerPoint {
  const t = new TimerAggregator();
  for (const v of values) t.add(v, 1);
  return t.toPoint({ name, source, tags: {} });
}

function exactQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(q * sorted.length) - 1]!;
}

describe('prometheus remote-write native histograms', () => {
  test('a histogram decodes with the prompb schema: schema, zero bucket, spans and deltas, Prometheus bucket numbering', () => {
    const t = new TimerAggregator();
    // 1 s and 2 s are exact powers of 2: upper bounds of Prometheus buckets 0 and 128 at schema 7.
    for (const v of [0, 1000, 1000, 2000, -1000]) t.add(v, 1);
    const p = t.toPoint({ name: 'x', source: '', tags: {} });
    const body = encodeWriteRequest([{ labels: [['__name__', 'x_seconds']], value: 0, histogram: nativeHistogram(p.sketch!, p.sum / 1000) }], 1_700_000_000_000);
    const root = protobuf.parse(HISTOGRAM_PROTO).root;
    const W = root.lookupType('prometheus.WriteRequest');
    const decoded = W.toObject(W.decode(body), { longs: Number, oneofs: false }) as { timeseries: { histograms: Record<string, unknown>[] }[] };
    assert.deepEqual(decoded.timeseries[0]!.histograms, [
      {
        countInt: 5,
        sum: 3,
        schema: 7,
        zeroThreshold: 1e-12,
        zeroCountInt: 1,
        negativeSpans: [{ length: 1 }],
        negativeDeltas: [1],
        positiveSpans: [{ length: 1 }, { offset: 127, length: 1 }],
        positiveDeltas: [2, -1],
        timestamp: 1_700_000_000_000,
      },
    ]);
  });
});

describe('prometheus remote-write native histograms: refusals', () => {
  test('a timer point without a sketch is refused and counted, never sent as an empty histogram', () => {
    const t = new RemoteWriteTransport({ url: 'http://127.0.0.1:1/api/v1/write', namespace: '', maxSeriesPerRequest: 10, timeoutMs: 1_000, nativeHistograms: true });
    const { payloads, rejected } = t.encode(batchAt([timer('no.sketch'), timerPoint('with.sketch', '', [1, 2])]));
    assert.deepEqual(rejected.map((r) => r.name), ['no.sketch']);
    assert.deepEqual(payloads.map((p) => p.points), [1]);
  });
});

describe('prometheus remote-write native histograms into a real Prometheus', () => {
  const tmp = tempDir('prom-native');
  let prom: PrometheusPeer | undefined;
  before(async () => {
    prom = await PrometheusPeer.create(tmp.dir, undefined, ['native-histograms']);
  });
  after(async () => {
    await prom?.stop();
    tmp.remove();
  });

  test('histogram_quantile(0.99, sum(increase(...))) over 3 publishers with different distributions is within 1 % of the exact p99 of all samples', async () => {
    requirePeer(PROMETHEUS_BIN, 'the Debian package prometheus');
    await prom!.start();
    const nowMs = Math.floor(Date.now() / 10_000) * 10_000;
    const flushes = [nowMs - 60_000, nowMs - 50_000, nowMs - 40_000, nowMs - 30_000];
    // Three publishers, each a backend with its own sink: fast uniform, log-normal-ish heavy tail, bimodal.
    const random = uniform(42);
    const distributions: (() => number)[] = [
      () => 2 + random() * 8,
      () => Math.exp(2 + 1.5 * (random() + random() + random() - 1.5)),
      () => (random() < 0.9 ? 20 + random() * 5 : 400 + random() * 200),
    ];
    const counted: number[] = [];
    const sinks = distributions.map((_, i) => makeSink(prometheusRemoteWriteSinkSpec, { url: prom!.remoteWriteUrl, namespace: 'nh_', nativeHistograms: true, spoolDir: join(tmp.dir, `spool${i}`), ...FAST_DELIVERY }));
    try {
      for (const [f, at] of flushes.entries()) {
        for (const [i, sink] of sinks.entries()) {
          const values = Array.from({ length: 1000 + 500 * i }, distributions[i]!);
          // increase() starts at the first sample: what the first flush carries is the baseline.
          if (f > 0) counted.push(...values);
          await sink.export(batchAt([timerPoint('api.latency', `host-${i}`, values)], at));
        }
      }
      for (const sink of sinks) {
        await sink.stop();
        assert.deepEqual(sink.status(), { sent: flushes.length, failed: 0, spooled: 0, dropped: 0, lastError: undefined });
      }
      const at = flushes.at(-1)! / 1000;
      const expr = 'histogram_quantile(0.99, sum(increase(nh_api_latency_seconds[2m])))';
      let got = NaN;
      await waitFor(`${expr} to answer`, async () => {
        const r = await prom!.query(expr, at);
        got = r.length === 1 ? Number(r[0]!.value[1]) : NaN;
        return Number.isFinite(got);
      }, 20_000);
      const want = exactQuantile(counted, 0.99) / 1000;
      assert.ok(Math.abs(got - want) / want <= 0.01, `merged p99 ${got} s vs exact ${want} s`);
      // Counts are exact (increase() extrapolates, so read the cumulative count itself), and so is the sum.
      await prom!.waitForValue('sum(histogram_count(nh_api_latency_seconds))', flushes.length * (1000 + 1500 + 2000), at);
    } finally {
      for (const sink of sinks) await sink.stop();
      await prom!.stop();
    }
  });
});
