import { InvalidOptionError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** Parses `10s`, `500ms`, `1m`, `2h`, `2d`, `1w`, `1y` (365 days) or a bare number of milliseconds. */
export function parseDurationMs(text: string | number, what: string): number {
  if (typeof text === 'number') return text;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)?$/.exec(String(text).trim());
  if (!m) throw new InvalidOptionError(`${what}: "${text}" is not a duration (examples: 500ms, 10s, 1m)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return Math.round(n * UNIT_MS[unit]!);
}
