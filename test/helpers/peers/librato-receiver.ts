import { isFiniteNumber, JsonApiReceiver, unknownKeys } from './json-api-receiver.js';

/** A legacy Librato `POST /v1/metrics` body. */
export interface LibratoBody {
  measure_time: number;
  source?: string;
  gauges?: Record<string, unknown>[];
  counters?: Record<string, unknown>[];
}

const NAME = /^[A-Za-z0-9.:_-]{1,255}$/;

/**
 * Checks a body against the documented legacy Librato API: names and sources
 * of 1–255 characters of `[A-Za-z0-9.:_-]`; at most 300 measurements per
 * request; a gauge has `value` or the multi-sample set `count, sum` (with
 * optional `min, max, sum_squares`), a counter has `value`; `measure_time` is
 * whole epoch seconds. Unknown fields are refused.
 */
export function validateLibrato(raw: unknown): string[] {
  const errors: string[] = [];
  if (typeof raw !== 'object' || raw === null) return ['body must be an object'];
  const b = raw as Record<string, unknown>;
  errors.push(...unknownKeys(b, ['measure_time', 'source', 'gauges', 'counters']).map((k) => `unknown field ${k}`));
  if (!Number.isInteger(b.measure_time)) errors.push('measure_time must be an integer');
  if (b.source !== undefined && (typeof b.source !== 'string' || !NAME.test(b.source))) errors.push('bad top-level source');
  const gauges = (b.gauges ?? []) as unknown[];
  const counters = (b.counters ?? []) as unknown[];
  if (!Array.isArray(gauges) || !Array.isArray(counters)) return [...errors, 'gauges and counters must be arrays'];
  if (gauges.length + counters.length === 0) errors.push('no measurements');
  if (gauges.length + counters.length > 300) errors.push(`too many measurements: ${gauges.length + counters.length} > 300`);
  const common = (m: Record<string, unknown>, where: string): void => {
    if (typeof m.name !== 'string' || !NAME.test(m.name)) errors.push(`${where}: invalid name ${JSON.stringify(m.name)}`);
    if (m.source !== undefined && (typeof m.source !== 'string' || !NAME.test(m.source))) errors.push(`${where}: invalid source ${JSON.stringify(m.source)}`);
  };
  gauges.forEach((g, i) => {
    const m = g as Record<string, unknown>;
    common(m, `gauges[${i}]`);
    if ('value' in m) {
      errors.push(...unknownKeys(m, ['name', 'source', 'value', 'measure_time']).map((k) => `gauges[${i}]: unknown field ${k}`));
      if (!isFiniteNumber(m.value)) errors.push(`gauges[${i}]: value must be a number`);
    } else {
      errors.push(...unknownKeys(m, ['name', 'source', 'count', 'sum', 'min', 'max', 'sum_squares', 'measure_time']).map((k) => `gauges[${i}]: unknown field ${k}`));
      if (!Number.isInteger(m.count) || (m.count as number) < 1) errors.push(`gauges[${i}]: count must be a positive integer`);
      for (const k of ['sum', 'min', 'max', 'sum_squares']) if (k === 'sum' ? !isFiniteNumber(m[k]) : m[k] !== undefined && !isFiniteNumber(m[k])) errors.push(`gauges[${i}]: ${k} must be a number`);
    }
  });
  counters.forEach((c, i) => {
    const m = c as Record<string, unknown>;
    common(m, `counters[${i}]`);
    errors.push(...unknownKeys(m, ['name', 'source', 'value', 'measure_time']).map((k) => `counters[${i}]: unknown field ${k}`));
    if (!isFiniteNumber(m.value)) errors.push(`counters[${i}]: value must be a number`);
  });
  return errors;
}

/** A stand-in for the retired Librato API that enforces its documented format and limits. */
export function libratoReceiver(email: string, token: string): JsonApiReceiver<LibratoBody> {
  return new JsonApiReceiver<LibratoBody>('/v1/metrics', email, token, validateLibrato);
}
