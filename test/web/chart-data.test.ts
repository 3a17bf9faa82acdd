import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { alignPoints, formatTick, isolatedPoints } from '../../web/chart.js';

type Point = [number, number | null];
const series = fc.array(
  fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.option(fc.double({ noNaN: true }), { nil: null })), { selector: (p) => p[0], maxLength: 30 }).map((pts) => ({ points: pts.sort((a, b) => a[0] - b[0]) as Point[] })),
  { minLength: 1, maxLength: 5 },
);

describe('web chart data', () => {
  test('a value with no value on either side gets a dot, since the line through gaps cannot show it', () => {
    assert.deepEqual(isolatedPoints([null, null, 5, null, 1, 2, null, 7], 0, 7), [2, 7]);
    assert.deepEqual(isolatedPoints([3], 0, 0), [0]);
    assert.equal(isolatedPoints([1, 2, null, null], 0, 3), null);
    assert.deepEqual(isolatedPoints([null, 4, null, 6, null], 2, 4), [3]);
  });
  test('isolated points are exactly the visible values whose neighbours are both empty', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.double({ noNaN: true }), { nil: null }), { maxLength: 40 }), fc.nat(45), fc.nat(45), (values, a, b) => {
        const [i0, i1] = a <= b ? [a, b] : [b, a];
        const empty = (i: number) => values[i] === null || values[i] === undefined;
        const expected = values.map((_, i) => i).filter((i) => i >= i0 && i <= i1 && !empty(i) && empty(i - 1) && empty(i + 1));
        assert.deepEqual(isolatedPoints(values, i0, i1), expected.length > 0 ? expected : null);
      }),
    );
  });
  test('aligning series on one time axis keeps every value at its time and invents none', () => {
    fc.assert(
      fc.property(series, (all) => {
        const [xs, ...ys] = alignPoints(all);
        assert.deepEqual(xs, [...new Set(all.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b));
        all.forEach((s, j) => {
          const byTime = new Map(s.points);
          assert.deepEqual(ys[j], xs.map((x) => byTime.get(x) ?? null));
        });
      }),
    );
  });

  test('series on the same steps are aligned without merging', () => {
    const points: Point[] = [[10, 1], [20, null], [30, 3]];
    assert.deepEqual(alignPoints([{ points }, { points: points.map(([t]) => [t, 7] as Point) }]), [[10, 20, 30], [1, null, 3], [7, 7, 7]]);
  });

  test('time-axis labels show seconds up to a 10-minute window, minutes up to 2 days, then the date', () => {
    const t = new Date(2026, 10, 29, 22, 5, 7).getTime();
    assert.equal(formatTick(t, 600_000), '22:05:07');
    assert.equal(formatTick(t, 86_400_000), '22:05');
    assert.equal(formatTick(t, 7 * 86_400_000), '11-29 22:05');
  });
});
