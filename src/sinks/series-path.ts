import type { MetricPoint } from './sink.js';

/**
 * Naming for destinations whose series are dotted paths (Graphite, StatsD,
 * Librato). The rules, documented in docs/sinks.md:
 *
 * - a name keeps `[A-Za-z0-9_.-]`; any other character becomes `_`, and empty
 *   path segments (`a..b`, a leading or trailing dot) are removed;
 * - a non-empty source is treated as the tag `source` (unless a tag of that
 *   name exists);
 * - folded tags are appended, sorted by key, as `.key.value` segments in which
 *   `.` also becomes `_` so a tag cannot add path levels.
 */
export function sanitizePathName(name: string): string {
  return name
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .split('.')
    .filter((s) => s !== '')
    .join('.');
}

/** A single path segment: like {@link sanitizePathName} but dots become `_` too; empty becomes `_`. */
export function sanitizePathSegment(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_') || '_';
}

/** The point's tags with the source added as tag `source`, sorted by key. */
export function tagsWithSource(p: MetricPoint): [string, string][] {
  const tags = Object.entries(p.tags);
  if (p.source !== '' && !('source' in p.tags)) tags.push(['source', p.source]);
  return tags.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `prefix.name.k1.v1.k2.v2` with every part sanitised; `suffix` (e.g. `p99`) goes after the name. */
export function foldedPath(prefix: string, p: MetricPoint, suffix?: string): string {
  const parts = [prefix, p.name, suffix ?? ''].map(sanitizePathName).filter((s) => s !== '');
  for (const [k, v] of tagsWithSource(p)) parts.push(sanitizePathSegment(k), sanitizePathSegment(v));
  return parts.join('.');
}

/** The statistics a timer is split into on destinations without a timer type, in output order. */
export const TIMER_FIELDS = ['count', 'sum', 'min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p95', 'p99'] as const;

/** Formats a number for a text protocol; finite numbers only (callers drop the rest). */
export function formatNumber(n: number): string {
  // String() is the shortest round-trip form; exponent notation is accepted by
  // Carbon (Python float), StatsD (Number) and Prometheus (Go ParseFloat).
  return Object.is(n, -0) ? '0' : String(n);
}
