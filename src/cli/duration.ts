import { InvalidOptionError } from '../errors.js';

/** Parses `10s`, `500ms`, `1m`, `2h` or a bare number of milliseconds. */
export function parseDurationMs(text: string | number, what: string): number {
  if (typeof text === 'number') return text;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(String(text).trim());
  if (!m) throw new InvalidOptionError(`${what}: "${text}" is not a duration (examples: 500ms, 10s, 1m)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return Math.round(n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000));
}
