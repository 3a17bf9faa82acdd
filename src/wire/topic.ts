import { LEVELS, type Level } from '../levels.js';

/**
 * The ZeroMQ topic of a level is its name followed by `|`. ZeroMQ subscriptions
 * match by prefix, so the terminator makes the match exact (`info|` never
 * matches `information|`), and the same prefix also matches legacy 2013 text
 * messages, which start with `level|`.
 */
export const TOPIC_SEPARATOR = '|';

/** Topic bytes for each level, indexed by level number. Precomputed once. */
export const LEVEL_TOPICS: readonly Buffer[] = LEVELS.map((l) => Buffer.from(l + TOPIC_SEPARATOR, 'latin1'));

/** The subscription prefix for a level. */
export function topicFor(level: Level): Buffer {
  return LEVEL_TOPICS[LEVELS.indexOf(level)]!;
}

/** The level number a topic frame names (a level topic or one of its shard topics), or -1 when it is neither. */
export function levelOfTopic(frame: Uint8Array): number {
  return parseTopic(frame)?.level ?? -1;
}

/**
 * Sharded backends (docs/wire-format.md, "Shard topics"). A backend started
 * with `--shard K/N` subscribes to `level|K/N|`; a publisher that sees such
 * subscriptions sends each series' records on the topic of its shard. The
 * topic still begins with `level|`, so an unsharded backend (subscribed to
 * `level|`) receives every shard, and ZeroMQ's prefix match does all routing.
 *
 * The largest shard count: keeps topics short and the per-level writer arrays small.
 */
export const MAX_SHARD_COUNT = 256;

/** The topic of shard `index`/`count` of a level: `info|1/2|`. With `count` 1 it is the plain level topic `info|`. */
export function shardTopic(level: number, index: number, count: number): Buffer {
  if (count === 1) return LEVEL_TOPICS[level]!;
  return Buffer.from(`${LEVELS[level]}${TOPIC_SEPARATOR}${index}/${count}${TOPIC_SEPARATOR}`, 'latin1');
}

/** A topic frame or subscription prefix taken apart; `count` 1 (and `index` 1) for a plain level topic. */
export interface ParsedTopic {
  level: number;
  index: number;
  count: number;
}

const ZERO = 0x30;
const NINE = 0x39;
const SLASH = 0x2f;
const BAR = 0x7c;

/** A decimal of 1–3 digits without a leading zero at `bytes[from]`, ending before `end`; -1 when it is not one. */
function smallDecimal(bytes: Uint8Array, from: number, end: number): number {
  if (end <= from || end - from > 3 || bytes[from] === ZERO) return -1;
  let n = 0;
  for (let i = from; i < end; i++) {
    const c = bytes[i]!;
    if (c < ZERO || c > NINE) return -1;
    n = n * 10 + (c - ZERO);
  }
  return n;
}

/**
 * Parses a native message's topic frame: exactly `level|` or `level|K/N|`
 * with 1 ≤ K ≤ N, 2 ≤ N ≤ {@link MAX_SHARD_COUNT}, decimals without leading
 * zeros. Returns undefined for anything else (the message is malformed).
 */
export function parseTopic(frame: Uint8Array): ParsedTopic | undefined {
  for (let level = 0; level < LEVEL_TOPICS.length; level++) {
    const t = LEVEL_TOPICS[level]!;
    if (frame.length < t.length) continue;
    let prefix = true;
    for (let i = 0; i < t.length; i++) {
      if (frame[i] !== t[i]) {
        prefix = false;
        break;
      }
    }
    if (!prefix) continue;
    if (frame.length === t.length) return { level, index: 1, count: 1 };
    if (frame[frame.length - 1] !== BAR) return undefined;
    const slash = frame.indexOf(SLASH, t.length);
    if (slash < 0) return undefined;
    const index = smallDecimal(frame, t.length, slash);
    const count = smallDecimal(frame, slash + 1, frame.length - 1);
    if (index < 1 || count < 2 || count > MAX_SHARD_COUNT || index > count) return undefined;
    return { level, index, count };
  }
  return undefined;
}


/**
 * The level number of a subscription prefix as seen by an XPUB socket
 * (the prefix without the leading 1/0 byte), or -1 when it names no level topic.
 * A subscription to the empty prefix (everything) returns -2.
 */
export function levelOfSubscription(prefix: Uint8Array): number {
  if (prefix.length === 0) return -2;
  return levelOfTopic(prefix);
}

/**
 * The message a Zibrato broker sends upstream to publishers once it holds every
 * subscription it will replay to them: right after a publisher connects, or,
 * when the broker itself has just started, once its subscribers have had time
 * to reconnect. A publisher trusts "no subscriber for this level" only after
 * it. The first byte (2) is neither subscribe (1) nor unsubscribe (0), so
 * ZeroMQ passes it through XSUB → XPUB as a plain upstream message, and older
 * clients ignore it as a topic that is not theirs.
 */
export const SUBSCRIPTIONS_COMPLETE: Buffer = Buffer.from('\x02zibrato:subscriptions-complete', 'latin1');

/**
 * Sent upstream by a broker that is stopping (docs/delivery.md, "Stopping
 * without losing what is in flight"): a publisher stops sending, holds what
 * it has as if the broker were away, and answers {@link PUBLISHER_DONE} once
 * its last send is out. Like {@link SUBSCRIPTIONS_COMPLETE}, the first byte (2)
 * makes it a plain upstream message that older clients ignore.
 */
export const BROKER_STOPPING: Buffer = Buffer.from('\x02zibrato:broker-stopping', 'latin1');

/**
 * A publisher's answer to {@link BROKER_STOPPING}, one frame downstream: "I
 * send nothing more to you". ZeroMQ keeps a connection's messages in order,
 * so when the broker reads it, it holds everything this publisher sent. The
 * broker subscribes to it only while it stops (an XPUB sends only what is
 * subscribed) and never forwards it.
 */
export const PUBLISHER_DONE: Buffer = Buffer.from('zibrato:publisher-done', 'latin1');

/** The subscription (first byte 1) a stopping broker sends upstream so publishers' XPUB sockets pass {@link PUBLISHER_DONE}. */
export const SUBSCRIBE_PUBLISHER_DONE: Buffer = Buffer.concat([Buffer.from([1]), PUBLISHER_DONE]);
