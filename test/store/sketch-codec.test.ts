import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DDSketch } from '@datadog/sketches-js';
import { TIMER_RELATIVE_ACCURACY } from '../../src/backend/aggregators/timer-aggregator.ts';
import { decodeSketch, encodeSketch } from '../../src/store/sketch-codec.ts';

const values = fc.array(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(0)), { minLength: 1, maxLength: 300 });

test('a decoded sketch answers every quantile, count and sum exactly as the original and still merges', () => {
  fc.assert(
    fc.property(values, values, (a, b) => {
      const s = new DDSketch({ relativeAccuracy: TIMER_RELATIVE_ACCURACY });
      for (const v of a) s.accept(v);
      const d = decodeSketch(encodeSketch(s));
      assert.equal(d.count, s.count);
      assert.equal(d.sum, s.sum);
      for (const q of [0, 0.5, 0.9, 0.99, 1]) assert.equal(d.getValueAtQuantile(q), s.getValueAtQuantile(q));
      const t = new DDSketch({ relativeAccuracy: TIMER_RELATIVE_ACCURACY });
      for (const v of b) t.accept(v);
      d.merge(decodeSketch(encodeSketch(t)));
      s.merge(t);
      for (const q of [0.5, 0.99]) assert.equal(d.getValueAtQuantile(q), s.getValueAtQuantile(q));
    }),
  );
});

test('bytes that are not a sketch are refused with ZIB_ERR_STORE_FAILED', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      assert.throws(() => decodeSketch(bytes), (e: Error & { code?: string }) => e.code === 'ZIB_ERR_STORE_FAILED');
    }),
  );
});
