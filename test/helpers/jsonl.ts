import { readFileSync, existsSync } from 'node:fs';

/** One row of the file sink (docs/file-format.md). */
export interface Row {
  time: number;
  interval_ms: number;
  type: 'counter' | 'gauge' | 'timer' | 'set';
  name: string;
  source: string;
  tags: Record<string, string>;
  value?: number;
  rate?: number;
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
  mean?: number;
  stddev?: number;
  p50?: number;
  p90?: number;
  p95?: number;
  p99?: number;
}

/** Every row written so far (none when the file does not exist yet). */
export function readRows(path: string): Row[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row);
}

/** Sum of `value` over all counter rows named `name` (optionally of one source). */
export function counterTotal(rows: Row[], name: string, source?: string): number {
  return rows.filter((r) => r.type === 'counter' && r.name === name && (source === undefined || r.source === source)).reduce((a, r) => a + (r.value ?? 0), 0);
}
