import type { SeriesHandle } from './series-handle.js';
import { WIDE_TAG_VALUES, type WideTagHandle } from './wide-tag-handle.js';

/**
 * Tags as an app passes them to the cache: not yet validated, so values may be
 * anything. Only values the client accepts (see `tag-values.ts`) are ever stored.
 */
type RawTags = Readonly<Record<string, unknown>>;

/**
 * A cached series is its handle: the key lives in the handle's `cache*` fields
 * (series-handle.ts), written once by {@link HandleCache.set}, so a lookup and
 * the write that follows touch one object. What the fields hold:
 * - `cacheName`, `cacheKind`, `cacheLevel`, `cacheSource`, `cacheSampleRate`: the key but the tags;
 * - `cacheTagCount`: how many tags;
 * - `cacheKey0`, `cacheValue0`: the only tag of a one-tag set (a user id, a
 *   route), held inline: the common case of many tag sets under one name costs
 *   no array and no elements store to reach (two fewer cache misses per lookup
 *   among thousands of series); undefined when there is not exactly one tag;
 * - `cacheTags`: with two tags or more, keys and values interleaved
 *   (`[k0, v0, k1, v1 …]`) in the order of the object first seen (a literal at
 *   the same call site enumerates in that order); empty otherwise;
 * - `cacheNext`: the next entry of the same name whose key hashes alike (a collision chain).
 */
type Entry = SeriesHandle;

/** The entries of one name: those of exactly one tag by that tag, the others in a short list, then a hash table as well. */
interface NameBucket {
  /**
   * Entries of exactly one tag, by the tag's key, then its value: the common
   * case of many tag sets under one name (a user id, a status) is found by
   * V8's own hash of the value (a string computes it once and keeps it),
   * instead of hashing every character of key and value in JavaScript. An
   * entry whose tag is here already, for another kind, level, source or sample
   * rate, goes to {@link list} / {@link table} instead.
   */
  oneTag: Map<string, OneTagIndex> | undefined;
  list: Entry[];
  /** Built once the list outgrows {@link SCAN_LIMIT}: key hash → first entry of its chain. */
  table: Map<number, Entry> | undefined;
}

/** The entries of one tag key under a name, by value. */
interface OneTagIndex {
  byValue: Map<unknown, Entry>;
  /**
   * Set once the key has {@link WIDE_TAG_VALUES} values: what a one-off call
   * with that key (and the same kind, level, source and sample rate) writes
   * through from then on, instead of a handle per value.
   */
  wide: WideTagHandle | undefined;
}

/**
 * Up to this many tag sets per name (beside those in the one-tag index), a
 * lookup scans the name's list: comparing a few entries costs less than
 * hashing every character of the tags. Past it, the key is hashed, so a lookup
 * costs the same at 10 or 100,000 tag sets.
 */
const SCAN_LIMIT = 8;

const EMPTY: unknown[] = [];


/** FNV-1a over the UTF-16 code units, seeded: no string is built. */
function hashString(s: string, seed: number): number {
  let h = seed ^ 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  // The length ends the string, so ("ab", "c") and ("a", "bc") hash apart.
  return Math.imul(h ^ s.length, 0x01000193);
}

/** murmur3's finaliser: spreads every input bit over the result before pairs are summed. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * The hash as a map key V8 stores unboxed (a 31-bit small integer): a full
 * 32-bit key would be a heap number, allocated on every lookup.
 */
function smi(h: number): number {
  return h & 0x3fffffff;
}

/**
 * A tag value's hash. Values the client accepts are strings, finite numbers
 * and booleans; anything else hashes to 0 and then fails the exact
 * comparison, so the call reaches validation and is rejected there.
 */
function hashValue(v: unknown, seed: number): number {
  if (typeof v === 'string') return hashString(v, seed);
  if (typeof v === 'number') return mix(seed ^ ((v * 2654435761) | 0) ^ ((v * 1e-9) | 0));
  if (typeof v === 'boolean') return mix(seed ^ (v ? 0x5bd1e995 : 0x1b873593));
  return 0;
}

/**
 * The key of everything but the name (the name picks the bucket). Tag pairs are
 * hashed one by one and summed, so the order of the keys does not matter.
 */
function keyHash(kind: number, level: number, source: string | undefined, sampleRate: number, tags: RawTags | undefined): number {
  let h = mix(kind * 0x9e3779b1 + level * 0x85ebca77 + ((sampleRate * 0x7fffffff) | 0));
  if (typeof source === 'string') h ^= hashString(source, 0x27d4eb2f);
  let sum = 0;
  if (tags !== undefined) for (const k in tags) sum = (sum + mix(hashValue(tags[k], hashString(k, 0x165667b1)))) | 0;
  return smi(mix(h ^ sum));
}

/** The same key hash from an entry's stored copy. */
function entryHash(e: Entry): number {
  let h = mix(e.cacheKind * 0x9e3779b1 + e.cacheLevel * 0x85ebca77 + ((e.cacheSampleRate * 0x7fffffff) | 0));
  if (e.cacheSource !== undefined) h ^= hashString(e.cacheSource, 0x27d4eb2f);
  let sum = 0;
  if (e.cacheTagCount === 1) sum = mix(hashValue(e.cacheValue0, hashString(e.cacheKey0!, 0x165667b1)));
  const t = e.cacheTags;
  for (let i = 0; i < t.length; i += 2) sum = (sum + mix(hashValue(t[i + 1], hashString(t[i] as string, 0x165667b1)))) | 0;
  return smi(mix(h ^ sum));
}

/**
 * True when `tags` holds the entry's tags in the stored order: one for-in walk
 * (V8 reads `tags[k]` through the enum cache). The repeat of a call site
 * passes a literal that enumerates alike, so this is the whole fast path.
 */
function tagsInOrder(e: Entry, tags: RawTags | undefined): boolean {
  if (tags === undefined) return e.cacheTagCount === 0;
  if (e.cacheTagCount <= 1) return oneTagMatches(e, tags);
  const stored = e.cacheTags;
  let n = 0;
  for (const k in tags) {
    if (n >= stored.length || stored[n] !== k || stored[n + 1] !== tags[k]) return false;
    n += 2;
  }
  return n === stored.length;
}

/** {@link tagsInOrder} for an entry of zero or one tag (stored inline): `tags` must hold exactly that tag. */
function oneTagMatches(e: Entry, tags: RawTags): boolean {
  let n = 0;
  for (const k in tags) {
    if (n !== 0 || e.cacheKey0 !== k || e.cacheValue0 !== tags[k]) return false;
    n = 1;
  }
  return n === e.cacheTagCount;
}

/** Exact equality in any key order: a hash hit is only a candidate until this says so. */
function sameTags(e: Entry, tags: RawTags | undefined): boolean {
  if (tagsInOrder(e, tags)) return true;
  // Zero or one tag has one order only.
  if (tags === undefined || e.cacheTagCount <= 1) return false;
  const stored = e.cacheTags;
  let n = 0;
  for (const k in tags) {
    let i = 0;
    while (i < stored.length && stored[i] !== k) i += 2;
    if (i >= stored.length || stored[i + 1] !== tags[k]) return false;
    n += 2;
  }
  return n === stored.length;
}

function sameKey(e: Entry, kind: number, level: number, source: string | undefined, sampleRate: number, tags: RawTags | undefined): boolean {
  return e.cacheKind === kind && e.cacheLevel === level && e.cacheSource === source && e.cacheSampleRate === sampleRate && sameTags(e, tags);
}

/**
 * Finds the handle for a call made with an options object (`z.count({...})`)
 * without building a key string. The last entry found is tried first (calls
 * come in runs of the same call site); otherwise a map by name gives the
 * name's bucket: one tag is looked up by its value; other tag sets are
 * scanned while they are few and hashed past {@link SCAN_LIMIT},
 * so the cost does not grow with the number of tag sets a name has. A hash
 * only picks candidates: every hit is compared exactly (kind, level, source,
 * sample rate, every tag), so two series never merge. Once one tag key has
 * {@link WIDE_TAG_VALUES} values under a name, one-off calls with that key get
 * its {@link WideTagHandle} instead of a handle per value: the cache stops
 * growing with the values, and a call touches no per-value memory.
 */
export class HandleCache {
  private readonly byName = new Map<string, NameBucket>();
  private size = 0;
  /** The entry found or stored last: a repeat of the same call costs one comparison. */
  private last: Entry | undefined = undefined;
  /**
   * Entries compared by lookups past the last entry: what a lookup costs,
   * counted instead of timed so a test can show it does not grow with the tag sets.
   */
  comparisons = 0;

  constructor(private readonly maxEntries = 100_000) {}

  /** Entries held (at most `maxEntries`). */
  get entries(): number {
    return this.size;
  }

  /**
   * The handle of a series. With `oneOff` (a call that writes once, at once:
   * `z.count`, `z.timing` …), a tag with thousands of values may be answered by
   * its {@link WideTagHandle}, aimed at the call's value; a handle kept by the
   * app (a scope, a decorator) always gets a handle of its own series.
   */
  get(kind: number, name: string, level: number, source: string | undefined, sampleRate: number, tags: RawTags | undefined, oneOff = false): SeriesHandle | undefined {
    const last = this.last;
    if (
      last !== undefined &&
      last.cacheName === name &&
      last.cacheKind === kind &&
      last.cacheLevel === level &&
      last.cacheSource === source &&
      last.cacheSampleRate === sampleRate &&
      tagsInOrder(last, tags)
    ) {
      return last;
    }
    return this.find(kind, name, level, source, sampleRate, tags, oneOff);
  }

  /** The lookup past the last entry, a call of its own so that {@link get} stays small enough to inline. */
  private find(kind: number, name: string, level: number, source: string | undefined, sampleRate: number, tags: RawTags | undefined, oneOff: boolean): SeriesHandle | undefined {
    const bucket = this.byName.get(name);
    if (bucket === undefined) return undefined;
    let e = bucket.oneTag !== undefined && tags !== undefined ? this.findOneTag(bucket.oneTag, kind, level, source, sampleRate, tags, oneOff) : undefined;
    if (e !== undefined) {
      // A wide handle answers for whichever value it is aimed at: never "the same call again".
      if (e.cacheName !== undefined) this.last = e;
      return e;
    }
    if (bucket.table === undefined) {
      const list = bucket.list;
      for (let i = 0; i < list.length; i++) {
        this.comparisons++;
        if (sameKey(list[i]!, kind, level, source, sampleRate, tags)) {
          e = list[i];
          break;
        }
      }
    } else {
      e = bucket.table.get(keyHash(kind, level, source, sampleRate, tags));
      while (e !== undefined && (this.comparisons++, !sameKey(e, kind, level, source, sampleRate, tags))) e = e.cacheNext;
    }
    if (e === undefined) return undefined;
    this.last = e;
    return e;
  }

  /** The entry of a one-tag `tags` from {@link NameBucket.oneTag}, if the rest of its key matches too; undefined otherwise (then the list or table decides). */
  private findOneTag(byKey: Map<string, OneTagIndex>, kind: number, level: number, source: string | undefined, sampleRate: number, tags: RawTags, oneOff: boolean): Entry | undefined {
    let key: string | undefined;
    for (const k in tags) {
      // Two tags or more: not in this index.
      if (key !== undefined) return undefined;
      key = k;
    }
    if (key === undefined) return undefined;
    const index = byKey.get(key);
    if (index === undefined) return undefined;
    const value = tags[key];
    const wide = index.wide;
    if (
      oneOff &&
      wide !== undefined &&
      typeof value === 'string' &&
      wide.cacheKind === kind &&
      wide.cacheLevel === level &&
      wide.cacheSource === source &&
      wide.cacheSampleRate === sampleRate &&
      wide.aim(value)
    ) {
      return wide;
    }
    const e = index.byValue.get(value);
    if (e === undefined) return undefined;
    this.comparisons++;
    // The map matched the value by SameValueZero; the cache's rule everywhere is ===.
    return e.cacheKind === kind && e.cacheLevel === level && e.cacheSource === source && e.cacheSampleRate === sampleRate && e.cacheValue0 === value ? e : undefined;
  }

  /**
   * Remembers a handle for tags that were validated. Past `maxEntries` (a
   * cardinality explosion) new handles are not cached, only used once: memory
   * stays bounded and each such call costs one series encoding. True when this
   * handle's tag key just reached {@link WIDE_TAG_VALUES} values under its name:
   * the caller then gives the key a wide handle ({@link setWide}).
   */
  set(kind: number, name: string, level: number, source: string | undefined, sampleRate: number, tags: RawTags | undefined, handle: SeriesHandle): boolean {
    // A handle carries one key: one cached under another already (never the case for the client's own) stays as it is.
    if (this.size >= this.maxEntries || handle.cacheName !== undefined) return false;
    let bucket = this.byName.get(name);
    if (!bucket) this.byName.set(name, (bucket = { oneTag: undefined, list: [], table: undefined }));
    // Copies: the caller may change its object later, so identity never stands for equality.
    // for-in, as the lookups walk the tags, so both see the same keys.
    let stored = EMPTY;
    if (tags !== undefined) {
      for (const k in tags) {
        if (stored === EMPTY) stored = [];
        stored.push(k, tags[k]);
      }
    }
    const e = handle;
    e.cacheName = name;
    e.cacheKind = kind;
    e.cacheLevel = level;
    e.cacheSource = source;
    e.cacheSampleRate = sampleRate;
    e.cacheTagCount = stored.length / 2;
    // One tag lives in the handle itself (see Entry); two or more in the array.
    const one = e.cacheTagCount === 1;
    e.cacheKey0 = one ? (stored[0] as string) : undefined;
    e.cacheValue0 = one ? stored[1] : undefined;
    e.cacheTags = one ? EMPTY : stored;
    e.cacheNext = undefined;
    this.size++;
    this.last = e;
    if (one) {
      const key = e.cacheKey0!;
      bucket.oneTag ??= new Map();
      let index = bucket.oneTag.get(key);
      if (index === undefined) bucket.oneTag.set(key, (index = { byValue: new Map(), wide: undefined }));
      if (!index.byValue.has(e.cacheValue0)) {
        index.byValue.set(e.cacheValue0, e);
        return index.wide === undefined && index.byValue.size === WIDE_TAG_VALUES;
      }
    }
    if (bucket.table === undefined && bucket.list.length >= SCAN_LIMIT) {
      // The name has many tag sets: index them all by hash from now on.
      bucket.table = new Map();
      for (const old of bucket.list) insert(bucket.table, old);
      bucket.list = [];
    }
    if (bucket.table !== undefined) insert(bucket.table, e);
    else bucket.list.push(e);
    return false;
  }

  /**
   * Makes `wide` the handle one-off calls of `entry`'s tag key write through,
   * for `entry`'s kind, level, source and sample rate: the client makes it when
   * {@link set} returned true for `entry`.
   */
  setWide(entry: SeriesHandle, wide: WideTagHandle): void {
    const index = this.byName.get(entry.cacheName!)?.oneTag?.get(entry.cacheKey0!);
    if (index === undefined || index.wide !== undefined) return;
    wide.cacheKind = entry.cacheKind;
    wide.cacheLevel = entry.cacheLevel;
    wide.cacheSource = entry.cacheSource;
    wide.cacheSampleRate = entry.cacheSampleRate;
    index.wide = wide;
  }
}

/** Puts an entry at the head of its hash's chain. */
function insert(table: Map<number, Entry>, e: Entry): void {
  const h = entryHash(e);
  e.cacheNext = table.get(h);
  table.set(h, e);
}
