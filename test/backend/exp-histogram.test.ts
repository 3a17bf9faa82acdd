import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EXP_HISTOGRAM_MAX_BUCKETS, ExpHistogram, bucketIndex, lowerBoundary } from '../../src/backend/aggregators/exp-histogram.ts';
import { TimerSketch } from '../../src/backend/aggregators/timer-aggregator.ts';

/** Non-zero empty buckets are left out: a histogram's content as [scale, zero, positive, negative]. */
function content(h: ExpHistogram): unknown {
  return [h.scale, h.zeroCount, h.count, [...h.positive.entries()], [...h.negative.entries()]];
}

/** The exact value at quantile q with the histogram's rank convention (rank q·(n-1)). */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

const magnitudes = fc.double({ min: 1e-3, max: 1e6, noNaN: true });
const values = fc.array(fc.oneof(magnitudes, magnitudes.map((v) => -v), fc.constant(0)), { minLength: 1, maxLength: 400 });

describe('base-2 exponential histogram', () => {
  test('a value exactly at a bucket boundary lands in the bucket it is the upper bound of, at every scale', () => {
    for (const scale of [-2, 0, 3, 6, 7, 8]) {
      for (let index = -3000; index <= 3000; index += 7) {
        const boundary = lowerBoundary(index, scale);
        // Coarse scales reach past the doubles; the normal range is what values come in.
        if (!(boundary >= 2 ** -1000 && boundary < 2 ** 1000)) continue;
        assert.equal(bucketIndex(boundary, scale), index - 1, `scale ${scale} boundary of bucket ${index}`);
        // The next double up belongs to the bucket itself.
        const above = boundary * (1 + Number.EPSILON);
        assert.equal(bucketIndex(above, scale), index, `scale ${scale} just above the boundary of bucket ${index}`);
      }
    }
  });

  test('every positive double lands in the bucket whose boundaries enclose it: lowerBoundary(i) < v ≤ lowerBoundary(i + 1)', () => {
    fc.assert(
      fc.property(fc.double({ min: Number.MIN_VALUE, max: 1e300, noNaN: true }), fc.integer({ min: -3, max: 8 }), (v, scale) => {
        const i = bucketIndex(v, scale);
        assert.ok(lowerBoundary(i, scale) < v && v <= lowerBoundary(i + 1, scale), `${v} in bucket ${i} at scale ${scale}`);
      }),
      { numRuns: 2000 },
    );
  });

  test('exact powers of 2 are upper bounds of their buckets (2^k is bucket k·2^scale − 1)', () => {
    for (const scale of [0, 4, 7]) for (let k = -40; k <= 40; k++) assert.equal(bucketIndex(2 ** k, scale), k * 2 ** scale - 1);
  });

  test('zero and magnitudes at or below the zero threshold go to the zero bucket, negatives to the negative buckets', () => {
    const h = new ExpHistogram(1e-6);
    h.record(0);
    h.record(1e-6);
    h.record(-1e-7);
    h.record(-4);
    h.record(4);
    assert.equal(h.zeroCount, 3);
    assert.deepEqual([...h.negative.entries()], [[bucketIndex(4, 7), 1]]);
    assert.deepEqual([...h.positive.entries()], [[bucketIndex(4, 7), 1]]);
    assert.equal(h.quantile(0), -h.quantile(1));
    assert.equal(h.quantile(0.5), 0);
  });

  test('the bucket count stays bounded: a wider range halves the scale instead', () => {
    const h = new ExpHistogram(0, 160);
    for (let v = 1e-3; v < 1e6; v *= 1.01) h.record(v);
    assert.ok(h.positive.counts.length <= 160, `${h.positive.counts.length} buckets`);
    assert.ok(h.scale < 7);
    const wide = new TimerSketch();
    for (let v = 1e-6; v < 1e12; v *= 1.001) wide.accept(v);
    assert.ok(wide.positive.counts.length <= EXP_HISTOGRAM_MAX_BUCKETS);
    assert.equal(wide.scale, 6);
  });

  test('merging two histograms gives the histogram of the union of their samples', () => {
    fc.assert(
      fc.property(values, values, fc.integer({ min: 40, max: 5000 }), (a, b, maxBuckets) => {
        const ha = new ExpHistogram(1e-9, maxBuckets);
        const hb = new ExpHistogram(1e-9, maxBuckets);
        const union = new ExpHistogram(1e-9, maxBuckets);
        for (const v of a) ha.record(v);
        for (const v of b) hb.record(v);
        // The union at the scale the merge reached: downscaling is a function of the range only.
        ha.merge(hb);
        const direct = new ExpHistogram(1e-9, maxBuckets, ha.scale);
        for (const v of [...a, ...b]) direct.record(v);
        for (const v of [...b, ...a]) union.record(v);
        assert.deepEqual(content(ha), content(direct));
        assert.equal(union.scale >= ha.scale, true);
      }),
    );
  });

  test('every quantile of a merged timer sketch is within 0.27 % (scale 7) of the exact quantile of all samples', () => {
    fc.assert(
      fc.property(fc.array(values, { minLength: 1, maxLength: 4 }), fc.double({ min: 0, max: 1, noNaN: true }), (parts, q) => {
        const merged = new TimerSketch();
        for (const part of parts) {
          const one = new TimerSketch();
          for (const v of part) one.accept(v);
          merged.merge(one);
        }
        assert.equal(merged.scale, 7);
        const sorted = parts.flat().sort((x, y) => x - y);
        const want = exactQuantile(sorted, q);
        const got = merged.getValueAtQuantile(q);
        const bound = (2 ** (1 / 128) - 1) / (2 ** (1 / 128) + 1);
        if (want === 0) assert.equal(got, 0);
        else assert.ok(Math.abs(got - want) / Math.abs(want) <= bound * (1 + 1e-9), `q${q}: ${got} vs ${want}`);
      }),
    );
  });
});
