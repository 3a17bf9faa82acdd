/** Exponential backoff with full jitter, so many sinks recovering together do not retry in lockstep. */
export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialDelayMs: number;
  /** Upper bound of any one delay. */
  maxDelayMs: number;
}

/**
 * The delay before retry number `attempt` (0-based): a random value in
 * [base/2, base] where base = initial × 2^attempt, capped. Half the base is
 * kept fixed so a retry never fires immediately after a failure.
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + (random() * base) / 2);
}

/**
 * Parses an HTTP `Retry-After` value (delta-seconds or an HTTP date) into ms
 * from `nowMs`; undefined when absent or unparsable.
 */
export function parseRetryAfterMs(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
