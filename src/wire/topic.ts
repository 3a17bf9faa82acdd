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

/** The level number a topic frame names, or -1 when it is not exactly a level topic. */
export function levelOfTopic(frame: Uint8Array): number {
  for (let i = 0; i < LEVEL_TOPICS.length; i++) {
    if (LEVEL_TOPICS[i]!.equals(frame)) return i;
  }
  return -1;
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
