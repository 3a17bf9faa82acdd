import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { bucketIndex } from '../../src/backend/aggregators/exp-histogram.js';
import { TimerAggregator } from '../../src/backend/aggregators/timer-aggregator.js';
import type { TimerPoint } from '../../src/sinks/sink.js';
import { otlpSinkSpec } from '../../src/sinks/otlp-sink.js';
import { OtlpReceiver } from '../helpers/peers/otlp-receiver.js';
import { batchAt, FAST_DELIVERY, makeSink, tempDir } from './fixtures.js';

const T = 1_700_000_010_000;
const START = '1700000000000000000';

/** A timer point (ms) for `values`, built by the backend's own aggregator. */
function timerPoint(values: readonly number[]): TimerPoint {
  const t = new TimerAggregator();
  for (const v of values) t.add(v, 1);
  return t.toPoint({ name: 'db.query', source: 'web-1', tags: { db: 'main' } });
}

interface Dp {
  startTimeUnixNano: string;
  timeUnixNano: string;
  count: string;
  sum: number;
  scale: number;
  zeroCount: string;
  zeroThreshold: number;
  positive: { offset?: number; bucketCounts: string[] };
  negative?: { offset?: number; bucketCounts?: string[] };
  min?: number;
  max?: number;
  attributes: unknown[];
}
interface Metric {
  name: string;
  unit: string;
  exponentialHistogram: { dataPoints: Dp[]; aggregationTemporality: number };
}

function metricOf(request: Record<string, unknown>): Metric {
  return (request.resourceMetrics as { scopeMetrics: { metrics: Metric[] }[] }[])[0]!.scopeMetrics[0]!.metrics[0]!;
}

/** The non-empty buckets of a decoded point as [OTLP index, count]. */
function nonEmpty(b: { offset?: number; bucketCounts?: string[] }): [number, number][] {
  return (b.bucketCounts ?? []).flatMap((c, i) => (c === '0' ? [] : [[(b.offset ?? 0) + i, Number(c)] as [number, number]]));
}

describe('otlp sink: timers as exponential histograms, checked by a receiver decoding with the official OTLP schema', () => {
  const tmp = tempDir('otlp-exp');
  const receivers: OtlpReceiver[] = [];
  after(async () => {
    for (const r of receivers) await r.stop();
    tmp.remove();
  });
  async function receiver(): Promise<OtlpReceiver> {
    const r = new OtlpReceiver();
    await r.start();
    receivers.push(r);
    return r;
  }

  for (const encoding of ['protobuf', 'json'] as const) {
    test(`over ${encoding}, a delta point carries the interval's buckets: scale 7, seconds, zero count, OTLP bucket numbering, min and max`, async () => {
      const r = await receiver();
      const sink = makeSink(otlpSinkSpec, { url: r.url, encoding, exponentialHistograms: true, histogramTemporality: 'delta', spoolDir: join(tmp.dir, `d-${encoding}`), ...FAST_DELIVERY });
      // 1 s and 2 s are exact powers of 2: upper bounds of OTLP buckets -1 and 127 at scale 7.
      await sink.export(batchAt([timerPoint([0, 1000, 1000, 2000, 3000])], T));
      await sink.stop();
      assert.equal(sink.status().sent, 1);
      const m = metricOf(r.received[0]!.request);
      assert.equal(m.unit, 's');
      assert.equal(m.exponentialHistogram.aggregationTemporality, 1);
      const dp = m.exponentialHistogram.dataPoints[0]!;
      assert.deepEqual(
        { start: dp.startTimeUnixNano, count: dp.count, sum: dp.sum, scale: dp.scale, zero: dp.zeroCount, threshold: dp.zeroThreshold, min: dp.min, max: dp.max },
        { start: START, count: '5', sum: 7, scale: 7, zero: '1', threshold: 1e-12, min: 0, max: 3 },
      );
      assert.deepEqual(nonEmpty(dp.positive), [[-1, 2], [127, 1], [bucketIndex(3, 7), 1]]);
      assert.deepEqual(nonEmpty(dp.negative ?? {}), []);
    });
  }

  test('a cumulative point carries the merged buckets since the series started, without the interval\'s min and max', async () => {
    const r = await receiver();
    const sink = makeSink(otlpSinkSpec, { url: r.url, encoding: 'protobuf', exponentialHistograms: true, spoolDir: join(tmp.dir, 'c'), ...FAST_DELIVERY });
    await sink.export(batchAt([timerPoint([1000, 2000])], T));
    await sink.export(batchAt([timerPoint([1000, -4000])], T + 10_000));
    await sink.stop();
    assert.equal(sink.status().sent, 2);
    const m = metricOf(r.received[1]!.request);
    assert.equal(m.exponentialHistogram.aggregationTemporality, 2);
    const dp = m.exponentialHistogram.dataPoints[0]!;
    assert.deepEqual([dp.startTimeUnixNano, dp.count, dp.sum, dp.min, dp.max], [START, '4', 0, undefined, undefined]);
    assert.deepEqual(nonEmpty(dp.positive), [[-1, 2], [127, 1]]);
    assert.deepEqual(nonEmpty(dp.negative ?? {}), [[255, 1]]);
  });
});
