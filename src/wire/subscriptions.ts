/**
 * How a connecting publisher learns subscriptions from a Zibrato broker: the
 * app's client (src/client/transport.ts) and a host broker's link to its
 * central broker (src/broker/upstream.ts) follow the same rules, with these
 * timings (docs/delivery.md, "Learning subscriptions after a (re)connect").
 */

/**
 * How long after a (re)connect the client waits for the broker's
 * `SUBSCRIPTIONS_COMPLETE` (src/wire/topic.ts) before it trusts the subscriptions it has
 * heard. Only a broker that never sends it (a plain `zmq_proxy`, a Zibrato
 * broker older than wire version 2) gets here; until then records of every
 * level that may be wanted are held (bounded, overflow counted as dropped).
 */
export const LEARN_TIMEOUT_MS = 10_000;
/**
 * How long a level whose last subscriber left stays on, its records held
 * (bounded by `maxBufferedRecords`), before the client turns it off and lets
 * what it holds go as `unsubscribed`. Two reasons to wait:
 * - A backend that restarts (killed and restarted by its supervisor, a deploy)
 *   subscribes again within it, and then gets what was made meanwhile. Once a
 *   level is off the hot path makes and counts nothing (a level nobody wants
 *   costs nothing), so a call made while it is off shows up nowhere, not even
 *   as a gap at the restarted backend. The former 300 ms was shorter than a
 *   backend's restart on a loaded machine: the `backend-kill-loop` fault
 *   scenario lost records silently whenever a restart took longer (issue 13).
 * - When the broker goes away ZeroMQ reports its subscriptions as unsubscribed
 *   before the disconnect event arrives; the wait lets the disconnect come
 *   first, so the client keeps holding the levels that were wanted.
 * The cost: a level stays on this long after its last subscriber (say a
 * `zibrato tail`) leaves, and batches of other levels queued behind its held
 * ones wait as long.
 */
export const UNSUBSCRIBE_DELAY_MS = 2000;
