import type { PromFamily } from './prometheus-state.js';
import { SUMMARY_QUANTILES } from './prometheus-naming.js';

/** The Content-Type of the Prometheus text exposition format we write. */
export const PROMETHEUS_TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** Go's strconv.ParseFloat spelling for the values it cannot read from `String(n)`. */
function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function labelText(labels: readonly (readonly [string, string])[]): string {
  if (labels.length === 0) return '';
  return '{' + labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',') + '}';
}

/** HELP text escaping (text format 0.0.4): backslash and line feed only. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * Renders families in the Prometheus text format 0.0.4: a HELP and a TYPE
 * line per family, then its samples together (what `promtool check metrics`
 * asks for).
 */
export function renderExposition(families: Map<string, PromFamily>): string {
  const out: string[] = [];
  for (const [family, { type, help, series }] of families) {
    out.push(`# HELP ${family} ${escapeHelp(help)}`);
    out.push(`# TYPE ${family} ${type}`);
    for (const s of series) {
      if (type === 'summary') {
        for (const [q, field] of SUMMARY_QUANTILES) out.push(`${family}${labelText([...s.labels, ['quantile', q]])} ${formatValue(s.quantiles[field])}`);
        out.push(`${family}_sum${labelText(s.labels)} ${formatValue(s.sum)}`);
        out.push(`${family}_count${labelText(s.labels)} ${formatValue(s.count)}`);
      } else out.push(`${family}${labelText(s.labels)} ${formatValue(s.value)}`);
    }
  }
  return out.join('\n') + (out.length ? '\n' : '');
}
