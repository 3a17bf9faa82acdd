import { InvalidOptionError } from './errors.js';

/** Levels from lowest to highest, like log levels. Their index is the level number. */
export const LEVELS = ['debug', 'info', 'warn', 'error', 'crit'] as const;

/** One of `debug`, `info`, `warn`, `error`, `crit`. */
export type Level = (typeof LEVELS)[number];

/** The level used when a call names none. */
export const DEFAULT_LEVEL: Level = 'info';

/** Bit mask with every level set. */
export const ALL_LEVELS_MASK = (1 << LEVELS.length) - 1;

/**
 * The level's number (0 = debug … 4 = crit), or -1 when the name is not a
 * level. A switch rather than a Map: the client calls this on the hot path, and
 * comparing against literals is a pointer compare for the interned strings apps
 * pass, where a Map lookup costs a hash probe on every call.
 */
export function levelIndex(name: string): number {
  switch (name) {
    case 'debug':
      return 0;
    case 'info':
      return 1;
    case 'warn':
      return 2;
    case 'error':
      return 3;
    case 'crit':
      return 4;
    default:
      return -1;
  }
}

// The switch must agree with LEVELS, the one source of truth.
if (LEVELS.length !== 5 || LEVELS.some((l, i) => levelIndex(l) !== i)) throw new Error('levels.ts: levelIndex is out of step with LEVELS');

/** True when `name` is one of the five levels. */
export function isLevel(name: unknown): name is Level {
  return typeof name === 'string' && levelIndex(name) >= 0;
}

/**
 * Parses a level list as given on the command line or in config:
 * `info,warn` (exactly those), `info+` (info and everything above), `all` or `*`.
 * Throws a coded error naming the bad entry.
 */
export function parseLevels(spec: string | readonly string[], what = 'levels'): Level[] {
  const parts = (typeof spec === 'string' ? spec.split(',') : [...spec]).map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new InvalidOptionError(`${what}: no level given (use e.g. "info,warn", "info+" or "all")`, 'ZIB_ERR_INVALID_LEVEL');
  const out = new Set<Level>();
  for (const part of parts) {
    if (part === 'all' || part === '*') {
      for (const l of LEVELS) out.add(l);
      continue;
    }
    const plus = part.endsWith('+');
    const name = plus ? part.slice(0, -1) : part;
    const idx = levelIndex(name);
    if (idx < 0) {
      throw new InvalidOptionError(`${what}: "${part}" is not a level; expected one of ${LEVELS.join(', ')} (optionally with "+" for "and above")`, 'ZIB_ERR_INVALID_LEVEL');
    }
    if (plus) for (let i = idx; i < LEVELS.length; i++) out.add(LEVELS[i]!);
    else out.add(LEVELS[idx]!);
  }
  return LEVELS.filter((l) => out.has(l));
}
