import { InvalidOptionError } from '../errors.js';

/** `y` is 365 days (retention periods, not calendar arithmetic). */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/**
 * Parses `10s`, `500ms`, `1m`, `2h`, `2d`, `1w`, `1y` (decimals allowed: `1.5s`) into
 * milliseconds. A bare number is refused, on the command line and in config
 * files alike: `--flush 10` used to mean 10 ms where 10 s was meant, so the
 * unit must be written. `0` is the one exception (it means "never" or "no
 * delay" wherever a duration may be 0); pass `{ min }` to refuse it.
 */
export function parseDurationMs(text: string | number, what: string, limits: { min?: number; max?: number } = {}): number {
  const raw = typeof text === 'number' ? String(text) : String(text).trim();
  let ms: number;
  if (raw === '0') ms = 0;
  else {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)$/.exec(raw);
    if (!m) {
      const hint = /^\d+(\.\d+)?$/.test(raw) ? `; a bare number is not a duration: write ${raw}s or ${raw}ms` : ' (examples: 500ms, 10s, 1m)';
      throw new InvalidOptionError(`${what}: "${text}" is not a duration${hint}`);
    }
    ms = Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
  }
  if (limits.min !== undefined && ms < limits.min) throw new InvalidOptionError(`${what}: "${text}" is too short; the least is ${limits.min} ms`);
  if (limits.max !== undefined && ms > limits.max) throw new InvalidOptionError(`${what}: "${text}" is too long; the most is ${limits.max} ms`);
  return ms;
}

/**
 * Parses a whole number in `[min, max]` (default: at least 1). `abc`, `-1`,
 * `1.5`, `1e3` and the empty string are refused with the option's name.
 */
export function parseCount(text: string | number, what: string, limits: { min?: number; max?: number } = {}): number {
  const min = limits.min ?? 1;
  const max = limits.max ?? Number.MAX_SAFE_INTEGER;
  const raw = String(text).trim();
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`;
    throw new InvalidOptionError(`${what}: "${text}" is not ${range}`);
  }
  return n;
}

/**
 * The bounds of a sink's numeric option (`--port`, `--mtu`, `--request-timeout-ms` …):
 * every one is a count, a size or milliseconds, so a whole number ≥ 0; ports 1–65535,
 * or 0 for a sink that listens (store API, Prometheus /metrics): any free port.
 */
export function sinkNumberLimits(key: string, sink: { listens?: boolean } = {}): { min: number; max?: number } {
  return key === 'port' ? { min: sink.listens ? 0 : 1, max: 65_535 } : { min: 0 };
}
