import type { PromSeries } from './prometheus-state.js';
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

/** Renders families in the Prometheus text format 0.0.4 (one TYPE line per family, its samples together). */
export function renderExposition(families: Map<string, PromSeries[]>): string {
  const out: string[] = [];
  for (const [family, series] of families) {
    const type = series[0]!.type;
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
