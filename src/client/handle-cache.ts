import type { Tags } from '../wire/series-encoding.js';
import type { SeriesHandle } from './series-handle.js';

interface Entry {
  kind: number;
  level: number;
  source: string | undefined;
  /** Tag keys and values in the order of the object first seen: a literal at the same call site enumerates in that order. */
  tagKeys: string[];
  tagValues: string[];
  handle: SeriesHandle;
}

const EMPTY: string[] = [];

/**
 * True when `tags` holds exactly the entry's tags. The fast path walks `tags`
 * once with for-in (V8 reads `tags[k]` through the enum cache) expecting the
 * keys in the stored order; a different order falls back to a lookup per key.
 */
function tagsMatch(e: Entry, tags: Tags | undefined): boolean {
  const keys = e.tagKeys;
  const values = e.tagValues;
  if (tags === undefined) return keys.length === 0;
  let n = 0;
  for (const k in tags) {
    if (n >= keys.length || keys[n] !== k || values[n] !== tags[k]) return sameTagsAnyOrder(e, tags);
    n++;
  }
  return n === keys.length;
}

function sameTagsAnyOrder(e: Entry, tags: Tags): boolean {
  let n = 0;
  for (const k in tags) {
    const i = e.tagKeys.indexOf(k);
    if (i < 0 || e.tagValues[i] !== tags[k]) return false;
    n++;
  }
  return n === e.tagKeys.length;
}

/**
 * Finds the handle for a call made with an options object (`z.count({...})`)
 * without building a key string: a map by name, then a short scan comparing
 * kind, level, source and tags by value.
 */
export class HandleCache {
  private readonly byName = new Map<string, Entry[]>();
  private size = 0;
  /**
   * The list found by the last lookup. Calls come in runs of the same name (a
   * loop, a handler), and comparing an interned string is one pointer compare
   * where a Map probe costs ~13 ns; a miss costs that compare and nothing else.
   */
  private lastName: string | undefined = undefined;
  private lastList: Entry[] | undefined = undefined;

  constructor(private readonly maxEntries = 100_000) {}

  get(kind: number, name: string, level: number, source: string | undefined, tags: Tags | undefined): SeriesHandle | undefined {
    let list: Entry[] | undefined;
    if (name === this.lastName) list = this.lastList!;
    else {
      list = this.byName.get(name);
      if (list === undefined) return undefined;
      this.lastName = name;
      this.lastList = list;
    }
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (e.kind === kind && e.level === level && e.source === source && tagsMatch(e, tags)) return e.handle;
    }
    return undefined;
  }

  /** Remembers a handle; past `maxEntries` (a cardinality explosion) new handles are not cached, only used once. */
  set(kind: number, name: string, level: number, source: string | undefined, tags: Tags | undefined, handle: SeriesHandle): void {
    if (this.size >= this.maxEntries) return;
    let list = this.byName.get(name);
    if (!list) this.byName.set(name, (list = []));
    const tagKeys = tags ? Object.keys(tags) : EMPTY;
    // Copies: the caller may change its object later, so identity never stands for equality.
    const tagValues = tagKeys.map((k) => tags![k]!);
    list.push({ kind, level, source, tagKeys, tagValues, handle });
    this.size++;
  }
}
