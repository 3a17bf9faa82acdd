// How many rounds the real-service benchmark runs (bench/app/main.ts): rounds
// are added until the noise floor is known, that is until (a′), the service
// identical to (a), is pinned against (a) to ±1 % in CPU per request and in
// throughput (half the 2 % bar for two identical services).
import { noiseFloorResolved } from './report.mjs';

/** Why the run stopped adding rounds. */
export type RoundsStop = 'fixed' | 'noise floor resolved' | 'round limit' | 'time limit';

/** The bounds of the rounds (bench/app/main.ts's CONFIG). */
export interface RoundsConfig {
  /** Runs exactly this many rounds when set. */
  fixedRounds: number | undefined;
  /** Never fewer: report.mjs's sign test resolves a difference with one round of ten against it. */
  minRounds: number;
  maxRounds: number;
  /** The rounds stop when one more (at the average length so far) would pass this. */
  maxMinutes: number;
}

/** (a′)'s per-round comparisons with the same round's (a). */
export interface NoiseFloorRounds {
  cpuAdded: { rounds: number[] };
  throughputLost: { rounds: number[] };
}

/**
 * Whether to stop after `round` rounds that took `seconds`, and why: the fixed
 * count when one is set; else not before minRounds; then when (a′) against
 * (a) is known to ±1 % (report.mjs's noiseFloorResolved, which looks at the
 * spread and not at the difference, so the run cannot wait for a lucky
 * agreement), or when one more round would pass maxRounds or maxMinutes.
 */
export function whyStopRounds(round: number, noiseFloor: NoiseFloorRounds, seconds: number, config: RoundsConfig): RoundsStop | undefined {
  if (config.fixedRounds !== undefined) return round >= config.fixedRounds ? 'fixed' : undefined;
  if (round < config.minRounds) return undefined;
  if (noiseFloorResolved(noiseFloor)) return 'noise floor resolved';
  if (round >= config.maxRounds) return 'round limit';
  return seconds + seconds / round > config.maxMinutes * 60 ? 'time limit' : undefined;
}

/**
 * `items` turned left by `by` places (modulo their count): round r runs the
 * variants from the r-th on, so a place in the order (first after the last
 * round's heaviest variant, say) falls on each variant in turn.
 */
export function rotated<T>(items: readonly T[], by: number): T[] {
  const n = items.length;
  const k = ((by % n) + n) % n;
  return [...items.slice(k), ...items.slice(0, k)];
}
