import { InvalidOptionError } from '../errors.js';
import { MAX_SHARD_COUNT } from './topic.js';

/**
 * Sharded backends (docs/delivery.md, "Sharded backends"): the `--shard K/N`
 * grammar, and how a client assigns a series to a shard. The topics themselves
 * are in topic.ts.
 */

/** One shard of a level: `index` 1…`count`. */
export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

/**
 * Parses `--shard K/N` (CLI, config key `shard`, env `ZIBRATO_BACKEND_SHARD`).
 * Throws `ZIB_ERR_INVALID_SHARD` naming what is wrong.
 */
export function parseShard(spec: unknown, what = '--shard'): ShardSpec {
  const m = typeof spec === 'string' ? /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec) : null;
  if (!m) throw new InvalidOptionError(`${what}: expected K/N (e.g. 1/2: the first of two shards), got ${JSON.stringify(spec)}`, 'ZIB_ERR_INVALID_SHARD');
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!(count >= 2 && count <= MAX_SHARD_COUNT)) throw new InvalidOptionError(`${what}: the shard count N must be 2…${MAX_SHARD_COUNT} (a backend without --shard receives every shard), got ${m[2]}`, 'ZIB_ERR_INVALID_SHARD');
  if (!(index >= 1 && index <= count)) throw new InvalidOptionError(`${what}: the shard K must be 1…${count}, got ${m[1]}`, 'ZIB_ERR_INVALID_SHARD');
  return { index, count };
}

/**
 * A 32-bit hash of a series' identity without its kind (name, source, sorted
 * tags: FNV-1a over their UTF-8 with 0 separators). Without the kind so that a
 * gauge and its gauge-delta series, which the backend aggregates as one, land
 * in the same shard. Computed once per handle.
 */
export function seriesShardHash(name: string, source: string, tags: Readonly<Record<string, string>> | undefined): number {
  let h = 0x811c9dc5;
  const mix = (s: string): void => {
    for (const b of Buffer.from(s, 'utf8')) h = Math.imul(h ^ b, 0x01000193);
    h = Math.imul(h, 0x01000193); // the 0 separator
  };
  mix(name);
  mix(source);
  if (tags) {
    for (const k of Object.keys(tags).sort()) {
      mix(k);
      mix(String(tags[k]));
    }
  }
  return h >>> 0;
}

/**
 * The shard (0-based) of a series hash among `count` shards: jump consistent
 * hashing (Lamping & Veach, 2014) driven by splitmix32 from the hash, so when
 * N grows to N+1 only about 1/(N+1) of the series move, and each to the new
 * shard. O(log N), run once per handle and shard count change, never per record.
 */
export function shardOf(hash: number, count: number): number {
  if (count <= 1) return 0;
  let state = hash >>> 0;
  let b = 0;
  let j = 0;
  while (j < count) {
    b = j;
    // splitmix32: a full-period generator, so each series draws its own sequence.
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z = (z ^ (z >>> 16)) >>> 0;
    // (z + 1) / 2^32 is uniform in (0, 1]; jump to the next candidate bucket.
    j = Math.floor((b + 1) / ((z + 1) / 0x1_0000_0000));
  }
  return b;
}
