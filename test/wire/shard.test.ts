/** Shard topics, the `--shard K/N` grammar and the series → shard assignment (docs/wire-format.md, "Shard topics"). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvalidOptionError } from '../../src/errors.ts';
import { LEVELS } from '../../src/levels.ts';
import { LEVEL_TOPICS, levelOfTopic, MAX_SHARD_COUNT, parseShard, parseTopic, seriesShardHash, shardOf, shardTopic } from '../../src/wire/index.ts';

const shard = fc.integer({ min: 2, max: MAX_SHARD_COUNT }).chain((count) => fc.record({ level: fc.integer({ min: 0, max: LEVELS.length - 1 }), index: fc.integer({ min: 1, max: count }), count: fc.constant(count) }));

describe('shard topics', () => {
  test('a shard topic extends its level topic, so an unsharded subscription matches it', () => {
    fc.assert(
      fc.property(shard, ({ level, index, count }) => {
        const t = shardTopic(level, index, count);
        assert.ok(t.subarray(0, LEVEL_TOPICS[level]!.length).equals(LEVEL_TOPICS[level]!));
        assert.equal(t.toString('latin1'), `${LEVELS[level]}|${index}/${count}|`);
      }),
    );
  });

  test('every shard topic parses back to its level, shard and count', () => {
    fc.assert(fc.property(shard, (s) => assert.deepEqual(parseTopic(shardTopic(s.level, s.index, s.count)), { ...s })));
  });

  test('a level topic parses as count 1, and shard count 1 is the level topic itself', () => {
    for (let l = 0; l < LEVELS.length; l++) {
      assert.deepEqual(parseTopic(LEVEL_TOPICS[l]!), { level: l, index: 1, count: 1 });
      assert.equal(shardTopic(l, 1, 1), LEVEL_TOPICS[l]);
    }
  });

  test('whatever bytes parse are the canonical topic they name (no second spelling of a stream)', () => {
    const near = fc.constantFrom(...LEVEL_TOPICS.map((t) => t.toString('latin1'))).chain((p) => fc.string({ unit: fc.constantFrom('0', '1', '2', '5', '9', '/', '|', 'a', ' ') , maxLength: 9 }).map((s) => Buffer.from(p + s, 'latin1')));
    fc.assert(
      fc.property(fc.oneof(near, fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b))), (bytes) => {
        const t = parseTopic(bytes);
        if (t !== undefined) assert.ok(shardTopic(t.level, t.index, t.count).equals(bytes), bytes.toString('latin1'));
        assert.equal(levelOfTopic(bytes), t === undefined ? -1 : t.level);
      }),
      { numRuns: 2000 },
    );
  });

  test('malformed shard topics are refused', () => {
    for (const bad of ['info|0/2|', 'info|3/2|', 'info|1/1|', 'info|01/2|', 'info|1/02|', 'info|1/257|', 'info|1/2', 'info|1/2||', 'info|a/2|', 'info|/2|', 'info|1/|', 'info|1|', 'info||']) {
      assert.equal(parseTopic(Buffer.from(bad)), undefined, bad);
    }
  });
});

describe('--shard K/N', () => {
  test('K/N with 2 ≤ N ≤ 256 and 1 ≤ K ≤ N is accepted', () => {
    assert.deepEqual(parseShard('1/2'), { index: 1, count: 2 });
    assert.deepEqual(parseShard(' 3 / 3 '), { index: 3, count: 3 });
    assert.deepEqual(parseShard('256/256'), { index: 256, count: 256 });
  });

  test('anything else is refused with ZIB_ERR_INVALID_SHARD naming the option', () => {
    for (const bad of ['', '1', '0/2', '3/2', '1/1', '1/257', '-1/2', '1.5/2', 'a/b', '1/2/3', undefined, 2]) {
      assert.throws(() => parseShard(bad, 'backends[0].shard'), (e: unknown) => e instanceof InvalidOptionError && e.code === 'ZIB_ERR_INVALID_SHARD' && e.message.startsWith('backends[0].shard'), String(bad));
    }
  });
});

describe('series → shard', () => {
  test('the shard of a hash is in range and the same every time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 1, max: MAX_SHARD_COUNT }), (h, n) => {
        const s = shardOf(h, n);
        assert.ok(Number.isInteger(s) && s >= 0 && s < n);
        assert.equal(shardOf(h, n), s);
      }),
    );
  });

  test('going from N to N+1 shards moves a series only to the new shard', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 1, max: MAX_SHARD_COUNT - 1 }), (h, n) => {
        const before = shardOf(h, n);
        const after = shardOf(h, n + 1);
        assert.ok(after === before || after === n, `${before} → ${after} of ${n + 1}`);
      }),
    );
  });

  test('series spread evenly over four shards', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[shardOf(seriesShardHash('http.requests', 'web-1', { route: `/r/${i}` }), 4)]!++;
    for (const c of counts) assert.ok(Math.abs(c - 10_000) < 600, counts.join(','));
  });

  test('the series hash ignores tag order and tells name, source and tags apart', () => {
    assert.equal(seriesShardHash('a', 's', { x: '1', y: '2' }), seriesShardHash('a', 's', { y: '2', x: '1' }));
    assert.equal(seriesShardHash('a', '', undefined), seriesShardHash('a', '', {}));
    const distinct = new Set([seriesShardHash('ab', '', undefined), seriesShardHash('a', 'b', undefined), seriesShardHash('a', '', { b: '' }), seriesShardHash('a', '', { '': 'b' })]);
    assert.equal(distinct.size, 4);
  });
});
