import type { Tags } from '../wire/series-encoding.js';
import type { SeriesHandle } from './series-handle.js';

interface Entry {
  kind: number;
  level: number;
  source: string | undefined;
  tags: Tags | undefined;
  handle: SeriesHandle;
}

function sameTags(a: Tags | undefined, b: Tags | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

/**
 * Finds the handle for a call made with an options object (`z.count({...})`)
 * without building a key string: a map by name, then a short scan comparing
 * kind, level, source and tags by value.
 */
export class HandleCache {
  private readonly byName = new Map<string, Entry[]>();
  private size = 0;

  constructor(private readonly maxEntries = 100_000) {}

  get(kind: number, name: string, level: number, source: string | undefined, tags: Tags | undefined): SeriesHandle | undefined {
    const list = this.byName.get(name);
    if (list === undefined) return undefined;
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (e.kind === kind && e.level === level && e.source === source && sameTags(e.tags, tags)) return e.handle;
    }
    return undefined;
  }

  /** Remembers a handle; past `maxEntries` (a cardinality explosion) new handles are not cached, only used once. */
  set(kind: number, name: string, level: number, source: string | undefined, tags: Tags | undefined, handle: SeriesHandle): void {
    if (this.size >= this.maxEntries) return;
    let list = this.byName.get(name);
    if (!list) this.byName.set(name, (list = []));
    list.push({ kind, level, source, tags: tags ? { ...tags } : undefined, handle });
    this.size++;
  }
}
