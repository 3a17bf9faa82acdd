import type { ExpiredSeries } from './sink.js';

/** What naming looks at: a point, or a series the backend forgot. */
type SeriesRef = Pick<ExpiredSeries, 'type' | 'name' | 'source' | 'tags' | 'unit'>;

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

/**
 * Units as publishers write them → the base-unit word Prometheus puts at the
 * end of a name (https://prometheus.io/docs/practices/naming/). Anything else
 * is sanitised and used as it is (`celsius`, `requests`).
 */
const UNIT_SUFFIXES: Readonly<Record<string, string>> = {
  s: 'seconds',
  sec: 'seconds',
  second: 'seconds',
  seconds: 'seconds',
  by: 'bytes',
  b: 'bytes',
  byte: 'bytes',
  bytes: 'bytes',
  '1': 'ratio',
  ratio: 'ratio',
  '%': 'percent',
  percent: 'percent',
};

/** The unit suffix of a point's family, without the `_`; '' for none. Timers are exposed in seconds whatever their unit says. */
export function unitSuffix(p: SeriesRef): string {
  if (p.type === 'timer') return 'seconds';
  const unit = p.unit?.trim().toLowerCase() ?? '';
  if (unit === '') return '';
  return UNIT_SUFFIXES[unit] ?? sanitizeMetricName(unit).replace(/^_+|_+$/g, '');
}

/**
 * The family name of a point: the sanitised name, then the unit suffix
 * (`_seconds`, `_bytes`, `_ratio` … unless the name already ends with it;
 * every timer gets `_seconds`), then for counters `_total` (once), as
 * Prometheus' naming conventions ask.
 */
export function familyName(p: SeriesRef, namespace: string): string {
  let base = sanitizeMetricName(namespace + p.name);
  const counter = p.type === 'counter';
  if (counter && base.endsWith('_total')) base = base.slice(0, -'_total'.length) || '_';
  const unit = unitSuffix(p);
  if (unit !== '' && !base.endsWith(`_${unit}`) && base !== unit) base = `${base}_${unit}`;
  return counter ? `${base}_total` : base;
}

/** Timers travel in milliseconds; Prometheus wants seconds: divided (not multiplied by 0.001) so 30.5 ms reads 0.0305. */
export const MS_PER_SECOND = 1000;

/** The quantiles a timer is exposed with, as `quantile` label values and the point fields holding them. */
export const SUMMARY_QUANTILES = [
  ['0.5', 'p50'],
  ['0.9', 'p90'],
  ['0.95', 'p95'],
  ['0.99', 'p99'],
] as const;
