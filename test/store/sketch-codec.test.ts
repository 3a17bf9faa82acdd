import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DDSketch } from '@datadog/sketches-js';
import { TimerSketch } from '../../src/backend/aggregators/timer-aggregator.ts';
import { decodeSketch, encodeLegacySketch, encodeSketch } from '../../src/store/sketch-codec.ts';

const values = fc.array(fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constant(0)), { minLength: 1, maxLength: 300 });

test('a decoded sketch answers every quantile and count exactly as the original and still merges', () => {
  fc.assert(
    fc.property(values, values, (a, b) => {
      const s = new TimerSketch();
      for (const v of a) s.accept(v);
      const d = decodeSketch(encodeSketch(s));
      assert.equal(d.count, s.count);
      assert.equal(d.scale, s.scale);
      for (const q of [0, 0.5, 0.9, 0.99, 1]) assert.equal(d.getValueAtQuantile(q), s.getValueAtQuantile(q));
      const t = new TimerSketch();
      for (const v of b) t.accept(v);
      d.merge(decodeSketch(encodeSketch(t)));
      s.merge(t);
      for (const q of [0.5, 0.99]) assert.equal(d.getValueAtQuantile(q), s.getValueAtQuantile(q));
    }),
  );
});

test('a version-1 (DDSketch) blob already on disk still reads, within 1 % of the exact quantiles, and merges with new sketches', () => {
  fc.assert(
    fc.property(values, values, (a, b) => {
      const old = new DDSketch({ relativeAccuracy: 0.005 });
      for (const v of a) old.accept(v);
      const d = decodeSketch(encodeLegacySketch(old));
      assert.equal(d.count, a.length);
      const fresh = new TimerSketch();
      for (const v of b) fresh.accept(v);
      d.merge(fresh);
      const sorted = [...a, ...b].sort((x, y) => x - y);
      for (const q of [0, 0.5, 0.9, 0.99, 1]) {
        const want = sorted[Math.floor(q * (sorted.length - 1))]!;
        const got = d.getValueAtQuantile(q);
        // Values below 1e-9 ms are zeros to both sketches.
        if (Math.abs(want) < 1e-6) assert.ok(Math.abs(got) < 1e-6, `q${q}: ${got} vs ${want}`);
        else assert.ok(Math.abs(got - want) / Math.abs(want) <= 0.01, `q${q}: ${got} vs ${want}`);
      }
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

test('a version-2 blob with a corrupted bucket list is refused with ZIB_ERR_STORE_FAILED', () => {
  const s = new TimerSketch();
  for (const v of [1, 2, 3]) s.accept(v);
  const good = Buffer.from(encodeSketch(s));
  assert.equal(decodeSketch(good).count, 3);
  for (const bad of [good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from([0])])]) {
    assert.throws(() => decodeSketch(bad), (e: Error & { code?: string }) => e.code === 'ZIB_ERR_STORE_FAILED');
  }
});
