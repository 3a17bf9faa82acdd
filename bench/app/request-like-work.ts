// The fixed work that stands in for a request of the real-service benchmark's
// service, without I/O: a lookup among 10,000 entries keyed by a built string,
// an object serialised to JSON. Timed by steadiness.ts (before each service
// start) and contention-probe.ts (all through the run).

const USERS = 10_000;

/**
 * A fresh `work(units)`: that many units, walking the entries from where the
 * last call stopped (7919 is prime to 10,000, so every entry comes round
 * alike); the sum it returns keeps V8 from dropping any of it.
 */
export function requestLikeWork(): (units: number) => number {
  const entries = new Map<string, { n: number }>();
  for (let i = 0; i < USERS; i++) entries.set(`u${i}`, { n: i });
  let next = 0;
  return (units) => {
    let acc = 0;
    for (let i = 0; i < units; i++) {
      const user = `u${(next++ * 7919) % USERS}`;
      acc += (entries.get(user)?.n ?? 0) + JSON.stringify({ ok: true, user, items: [1, 2, 3] }).length;
    }
    return acc;
  };
}
