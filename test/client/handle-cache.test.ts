import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HandleCache } from '../../src/client/handle-cache.ts';
import type { SeriesHandle } from '../../src/client/series-handle.ts';
import { MetricKind } from '../../src/wire/constants.ts';

/** A stand-in handle: the cache only stores and returns it, so identity is all a test needs. */
const fakeHandle = (label: string) => ({ label }) as unknown as SeriesHandle;
const INFO = 1;

describe('the handle cache', () => {
  test('a lookup compares about one entry whether a name has 10 or 100,000 tag sets', () => {
    for (const tagSets of [10, 1_000, 100_000]) {
      const cache = new HandleCache(200_000);
      const handles = Array.from({ length: tagSets }, (_, i) => fakeHandle(`u${i}`));
      for (let i = 0; i < tagSets; i++) cache.set(MetricKind.counter, 'req', INFO, undefined, 1, { user: `u${i}` }, handles[i]!);
      cache.comparisons = 0;
      // Every other lookup, so the "same call again" shortcut never answers.
      for (let i = 0; i < tagSets; i += 2) assert.equal(cache.get(MetricKind.counter, 'req', INFO, undefined, 1, { user: `u${i}` }), handles[i]);
      const perLookup = cache.comparisons / (tagSets / 2);
      assert.ok(perLookup < 1.5, `${perLookup} entries compared per lookup at ${tagSets} tag sets`);
    }
  });

  test('a lookup reads about one stored handle whether a name has 10 or 100,000 tag sets (counted on the handles, not by the cache)', () => {
    // The cache's own `comparisons` counts only the comparisons it makes where it expects to: a scan
    // elsewhere would not show there. A handle that counts every read of its fields shows any scan.
    let reads = 0;
    const countingHandle = (label: string) =>
      new Proxy({ label } as Record<string | symbol, unknown>, {
        get(target, key) {
          reads++;
          return target[key];
        },
      }) as unknown as SeriesHandle;
    for (const tagSets of [10, 100_000]) {
      const cache = new HandleCache(200_000);
      const handles = Array.from({ length: tagSets }, (_, i) => countingHandle(`u${i}`));
      for (let i = 0; i < tagSets; i++) cache.set(MetricKind.counter, 'req', INFO, undefined, 1, { user: `u${i}` }, handles[i]!);
      // Every other lookup, so the "same call again" shortcut never answers.
      for (let i = 0; i < tagSets; i += 2) {
        reads = 0;
        assert.equal(cache.get(MetricKind.counter, 'req', INFO, undefined, 1, { user: `u${i}` }), handles[i]);
        // The last entry found and the one the hash picks (16 reads in all when this was written); checked
        // at each lookup, so a scan fails at the first one instead of running 50,000 of them.
        assert.ok(reads < 40, `${reads} handle fields read by lookup ${i / 2} at ${tagSets} tag sets`);
      }
    }
  });

  test('tags given in another key order find the same handle', () => {
    const cache = new HandleCache();
    for (let i = 0; i < 50; i++) cache.set(MetricKind.counter, 'req', INFO, undefined, 1, { route: `/r${i}`, status: '200' }, fakeHandle(`r${i}`));
    const h = cache.get(MetricKind.counter, 'req', INFO, undefined, 1, { status: '200', route: '/r7' });
    assert.equal((h as unknown as { label: string }).label, 'r7');
  });

  test('tag sets that differ only in kind, level, source, sample rate or one tag never share a handle', () => {
    const cache = new HandleCache();
    const base = { kind: MetricKind.counter, level: INFO, source: 'a' as string | undefined, rate: 1, tags: { k: 'v' } as Record<string, unknown> };
    const variants = [
      base,
      { ...base, kind: MetricKind.gauge },
      { ...base, kind: MetricKind.gaugeDelta },
      { ...base, level: 2 },
      { ...base, source: undefined },
      { ...base, source: 'b' },
      { ...base, rate: 0.25 },
      { ...base, tags: { k: 'w' } },
      { ...base, tags: { k: 'v', x: '' } },
      { ...base, tags: { kk: 'v' } },
      { ...base, tags: {} },
    ];
    // Past the scan limit too, so both the short list and the hash table are exercised.
    for (let i = 0; i < 20; i++) cache.set(MetricKind.counter, 'n', INFO, `filler${i}`, 1, undefined, fakeHandle(`filler${i}`));
    variants.forEach((v, i) => cache.set(v.kind, 'n', v.level, v.source, v.rate, v.tags, fakeHandle(`v${i}`)));
    variants.forEach((v, i) => {
      const h = cache.get(v.kind, 'n', v.level, v.source, v.rate, v.tags) as unknown as { label: string };
      assert.equal(h.label, `v${i}`, JSON.stringify(v));
    });
  });

  test('a counter sampled at 0.25 is not the unsampled gauge delta of the same name', () => {
    // The old key, kind + 16 × sampleRate, made both 5.
    const cache = new HandleCache();
    const delta = fakeHandle('gaugeDelta');
    cache.set(MetricKind.gaugeDelta, 'x', INFO, undefined, 1, undefined, delta);
    assert.equal(cache.get(MetricKind.counter, 'x', INFO, undefined, 0.25, undefined), undefined);
  });

  test('changing the tags object after it was cached does not change what it matches', () => {
    const cache = new HandleCache();
    const tags: Record<string, string> = { route: '/a' };
    cache.set(MetricKind.counter, 'req', INFO, undefined, 1, tags, fakeHandle('a'));
    tags.route = '/b';
    assert.equal(cache.get(MetricKind.counter, 'req', INFO, undefined, 1, tags), undefined);
    assert.equal((cache.get(MetricKind.counter, 'req', INFO, undefined, 1, { route: '/a' }) as unknown as { label: string }).label, 'a');
  });

  test('past its bound the cache stores no more handles', () => {
    const cache = new HandleCache(10);
    for (let i = 0; i < 20; i++) cache.set(MetricKind.counter, 'req', INFO, undefined, 1, { user: `u${i}` }, fakeHandle(`u${i}`));
    assert.equal(cache.entries, 10);
    assert.equal(cache.get(MetricKind.counter, 'req', INFO, undefined, 1, { user: 'u15' }), undefined);
  });

  test('a handle already cached under one key keeps it when it is set again under another', () => {
    // The key lives on the handle itself: a second set must not re-key it and strand the first.
    const cache = new HandleCache();
    const h = fakeHandle('a');
    cache.set(MetricKind.counter, 'req', INFO, undefined, 1, { user: 'u1' }, h);
    cache.set(MetricKind.counter, 'req', INFO, undefined, 1, { user: 'u2' }, h);
    assert.equal(cache.get(MetricKind.counter, 'req', INFO, undefined, 1, { user: 'u1' }), h);
    assert.equal(cache.get(MetricKind.counter, 'req', INFO, undefined, 1, { user: 'u2' }), undefined);
    assert.equal(cache.entries, 1);
  });

  test('random tag sets each find their own handle, in any key order and from copies of their strings, and unknown ones find none', () => {
    // Small alphabets, so sets that differ in one key, one value or one tag more come up often.
    const tagSet = fc.dictionary(fc.constantFrom('user', 'route', 'u', 'status', ''), fc.constantFrom('a', 'b', 'ab', 'u1', 'u10', '', '200'), { maxKeys: 3 });
    /** The set's identity: its pairs sorted by key. */
    const id = (t: Record<string, string>) => JSON.stringify(Object.entries(t).sort(([a], [b]) => (a < b ? -1 : 1)));
    /** The same tags in reverse key order, in fresh strings (what an app's next request passes). */
    const copy = (t: Record<string, string>) => Object.fromEntries(Object.entries(t).reverse().map(([k, v]) => [k, `${v}x`.slice(0, -1)]));
    fc.assert(
      fc.property(fc.array(tagSet, { maxLength: 40 }), fc.array(tagSet, { maxLength: 10 }), (stored, probes) => {
        const cache = new HandleCache();
        const handles = new Map<string, SeriesHandle>();
        for (const t of stored) {
          if (handles.has(id(t))) continue;
          const h = fakeHandle(id(t));
          handles.set(id(t), h);
          cache.set(MetricKind.counter, 'req', INFO, undefined, 1, t, h);
        }
        for (const t of [...stored, ...probes]) {
          assert.equal(cache.get(MetricKind.counter, 'req', INFO, undefined, 1, copy(t)), handles.get(id(t)), id(t));
          // The cache keeps the last entry found: asking again hits that path too.
          assert.equal(cache.get(MetricKind.counter, 'req', INFO, undefined, 1, t), handles.get(id(t)), id(t));
        }
      }),
      { numRuns: 300 },
    );
  });
});
