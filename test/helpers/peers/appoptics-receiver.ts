import { isFiniteNumber, JsonApiReceiver, unknownKeys } from './json-api-receiver.js';

/** An AppOptics `POST /v1/measurements` body. */
export interface AppOpticsBody {
  time: number;
  period?: number;
  tags?: Record<string, string>;
  measurements: Record<string, unknown>[];
}

const NAME = /^[A-Za-z0-9.:_-]{1,255}$/;
const TAG_NAME = /^[-.:_\w]{1,64}$/;
const TAG_VALUE = /^[-.:_\\/\w ?]{1,255}$/;

function tagErrors(tags: unknown, where: string): string[] {
  if (tags === undefined) return [];
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) return [`${where}: tags must be an object`];
  const errors: string[] = [];
  for (const [k, v] of Object.entries(tags)) {
    if (!TAG_NAME.test(k)) errors.push(`${where}: invalid tag name ${JSON.stringify(k)}`);
    if (typeof v !== 'string' || !TAG_VALUE.test(v)) errors.push(`${where}: invalid value for tag ${k}: ${JSON.stringify(v)}`);
  }
  return errors;
}

/**
 * Checks a body against the documented AppOptics measurements API: `time` in
 * whole seconds, optional `period` and `tags`; at most 1000 measurements; names
 * of 1–255 characters of `[A-Za-z0-9.:_-]`; tag names of 1–64 characters of
 * `[-.:_\w]`, values of 1–255 characters of `[-.:_\\/\w ?]`; each measurement
 * has `value` or the summary fields `count, sum` (optional `min, max, last`).
 */
export function validateAppOptics(raw: unknown): string[] {
  if (typeof raw !== 'object' || raw === null) return ['body must be an object'];
  const b = raw as Record<string, unknown>;
  const errors = unknownKeys(b, ['time', 'period', 'tags', 'measurements']).map((k) => `unknown field ${k}`);
  if (!Number.isInteger(b.time)) errors.push('time must be an integer');
  if (b.period !== undefined && !(Number.isInteger(b.period) && (b.period as number) > 0)) errors.push('period must be a positive integer');
  errors.push(...tagErrors(b.tags, 'request'));
  const ms = b.measurements;
  if (!Array.isArray(ms) || ms.length === 0) return [...errors, 'measurements must be a non-empty array'];
  if (ms.length > 1000) errors.push(`too many measurements: ${ms.length} > 1000`);
  ms.forEach((raw2, i) => {
    const m = raw2 as Record<string, unknown>;
    const where = `measurements[${i}]`;
    if (typeof m.name !== 'string' || !NAME.test(m.name)) errors.push(`${where}: invalid name ${JSON.stringify(m.name)}`);
    errors.push(...tagErrors(m.tags, where));
    if ('value' in m) {
      errors.push(...unknownKeys(m, ['name', 'value', 'tags', 'time']).map((k) => `${where}: unknown field ${k}`));
      if (!isFiniteNumber(m.value)) errors.push(`${where}: value must be a number`);
    } else {
      errors.push(...unknownKeys(m, ['name', 'count', 'sum', 'min', 'max', 'last', 'tags', 'time']).map((k) => `${where}: unknown field ${k}`));
      if (!Number.isInteger(m.count) || (m.count as number) < 1) errors.push(`${where}: count must be a positive integer`);
      if (!isFiniteNumber(m.sum)) errors.push(`${where}: sum must be a number`);
      for (const k of ['min', 'max', 'last']) if (m[k] !== undefined && !isFiniteNumber(m[k])) errors.push(`${where}: ${k} must be a number`);
    }
  });
  return errors;
}

/** A stand-in for the closed AppOptics API that enforces its documented format and limits. Auth: Basic, token as user, empty password. */
export function appOpticsReceiver(token: string): JsonApiReceiver<AppOpticsBody> {
  return new JsonApiReceiver<AppOpticsBody>('/v1/measurements', token, '', validateAppOptics);
}
