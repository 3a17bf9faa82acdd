import { LEVELS } from '../levels.js';

/**
 * The level's number (0 = debug … 4 = crit), or -1 when the name is not a
 * level. Same answer as `levelIndex` in levels.ts, written as a switch for the
 * hot path: comparing against literals is a pointer compare for the interned
 * strings apps pass, where a Map lookup costs a hash probe on every call.
 */
export function levelNumber(name: string): number {
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

// The switch must agree with the one source of truth.
if (LEVELS.some((l, i) => levelNumber(l) !== i) || LEVELS.length !== 5) throw new Error('client/level-number.ts is out of step with LEVELS');
