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
 * How long an unsubscription waits before it turns a level off. When the
 * broker goes away ZeroMQ reports its subscriptions as unsubscribed before the
 * disconnect event arrives; the delay lets the disconnect come first, so the
 * client keeps holding the levels that were wanted instead of discarding them.
 */
export const UNSUBSCRIBE_DELAY_MS = 300;
