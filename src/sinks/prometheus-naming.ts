import type { ExpiredSeries } from './sink.js';

/** What naming looks at: a point, or a series the backend forgot. */
type SeriesRef = Pick<ExpiredSeries, 'type' | 'name' | 'source' | 'tags'>;

/**
 * Prometheus naming rules (docs/sinks.md, "prometheus"):
 *
 * - a metric name matches `[a-zA-Z_][a-zA-Z0-9_]*`: every other character
 *   becomes `_` (`:` too: Prometheus reserves it for recording rules and
 *   `promtool check metrics` flags it), and a leading digit gets a `_` in front;
 * - a label name matches `[a-zA-Z_][a-zA-Z0-9_]*` likewise, and may not start
 *   with `__` (reserved for Prometheus): a leading run of underscores becomes one;
 * - the point's source becomes the label `source` (a tag named `source` wins);
 * - when two tags sanitise to the same label name, the first by original key order wins;
 * - a timer's tag named `quantile` would clash with the summary's own label and becomes `tag_quantile`.
 */
export function sanitizeMetricName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s || '_';
}

export function sanitizeLabelName(name: string): string {
  let s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(s)) s = `_${s}`;
  s = s.replace(/^_{2,}/, '_');
  return s || '_';
}

/** The labels of a point, sanitised, sorted by name (byte order), without `__name__`. */
export function pointLabels(p: SeriesRef): [string, string][] {
  const entries = Object.entries(p.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (p.source !== '' && !('source' in p.tags)) entries.unshift(['source', p.source]);
  const out = new Map<string, string>();
  for (const [k, v] of entries) {
    let name = sanitizeLabelName(k);
    if (p.type === 'timer' && name === 'quantile') name = 'tag_quantile';
    // An empty label value means "no label" to Prometheus; leave it out.
    if (v === '' || out.has(name)) continue;
    out.set(name, v);
  }
  return [...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The family name of a point: counters carry the `_total` suffix (once), as Prometheus counters do. */
export function familyName(p: SeriesRef, namespace: string): string {
  const base = sanitizeMetricName(namespace + p.name);
  if (p.type !== 'counter') return base;
  return base.endsWith('_total') ? base : `${base}_total`;
}

/** The quantiles a timer is exposed with, as `quantile` label values and the point fields holding them. */
export const SUMMARY_QUANTILES = [
  ['0.5', 'p50'],
  ['0.9', 'p90'],
  ['0.95', 'p95'],
  ['0.99', 'p99'],
] as const;
