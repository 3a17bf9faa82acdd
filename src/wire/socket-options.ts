import { MAX_MESSAGE_BYTES } from './constants.js';

/**
 * Every ZeroMQ option Zibrato sets, in one place, with the reason for each
 * value. libzmq defaults are cited so a reader knows what we override.
 */
export const SOCKET_OPTIONS = {
  /** The app's XPUB socket (client). */
  publisher: {
    /** libzmq default 1000 messages. A message is a batch of up to ~6,500 records, so 1000 batches is millions of records in flight. */
    sendHighWaterMark: 1000,
    /** libzmq default -1 (wait forever on close). close() bounds its own wait, then drops what is left and counts it. */
    linger: 2000,
    /** libzmq default false: at HWM a PUB drops silently. With noDrop the send fails instead, so the client keeps the batch and counts it only if its own buffer overflows. */
    noDrop: true,
    /**
     * libzmq default false: a connecting socket keeps its pipe, and with it the old broker's
     * subscriptions, across reconnects, so batches went to a restarted broker that nobody had
     * subscribed to yet, and the client never heard about it. With immediate the pipe ends with the
     * connection: ZeroMQ reports the subscriptions gone, and the new broker's arrive afresh.
     */
    immediate: true,
    /** libzmq default 100 ms. Reconnect fast when the broker restarts. */
    reconnectInterval: 100,
    /** libzmq default 0 (no cap). Back off to at most 2 s while the broker is away. */
    reconnectMaxInterval: 2000,
  },
  /**
   * A host broker's XPUB socket to its central broker (`zibrato broker --upstream`): it connects
   * like an app's socket and for the same reasons (noDrop, immediate, fast reconnect); only the
   * high-water mark is larger, since one host broker carries every app of its host.
   */
  brokerUpstream: {
    /** libzmq default 1000. Batches queued in libzmq towards the central broker; the link's own buffer holds the rest. */
    sendHighWaterMark: 10_000,
    /** libzmq default -1. The link bounds its own wait on close, then counts what is left as dropped. */
    linger: 2000,
    /** libzmq default false. A full pipe fails the send, so the link keeps the batch instead of losing it silently. */
    noDrop: true,
    /** libzmq default false. The pipe ends with the connection, so a restarted central broker's subscriptions arrive afresh. */
    immediate: true,
    /** libzmq default 100 ms. */
    reconnectInterval: 100,
    /** libzmq default 0 (no cap). Back off to at most 2 s while the central broker is away. */
    reconnectMaxInterval: 2000,
  },
  /** The broker's XSUB side, where publishers connect. */
  brokerFrontend: {
    /** libzmq default 1000. Larger, so bursts from many publishers queue in the broker rather than in each app. */
    receiveHighWaterMark: 10_000,
    /** libzmq default -1 (no limit). A peer sending a bigger frame is disconnected before it is buffered: one 100 MB message once grew the broker to 404 MB. */
    maxMessageSize: MAX_MESSAGE_BYTES,
    linger: 0,
  },
  /** The broker's XPUB side, where backends connect. */
  brokerBackend: {
    /** libzmq default 1000. Per subscriber: the bounded queue each subscriber gets in the broker. */
    sendHighWaterMark: 10_000,
    /**
     * libzmq default false, kept: past its queue a slow or paused subscriber loses *its* copy of a
     * batch and counts the gap from the sequence numbers, while every other subscriber keeps full
     * speed. (With noDrop one full pipe failed the send for every subscriber.)
     */
    noDrop: false,
    linger: 0,
  },
  /** A backend's XSUB side (src/backend/receiver.ts says why not SUB), or tail's SUB. */
  subscriber: {
    /** libzmq default 1000. */
    receiveHighWaterMark: 10_000,
    /** libzmq default -1 (no limit). The broker never forwards a bigger frame, so only a rogue peer is cut off. */
    maxMessageSize: MAX_MESSAGE_BYTES,
    linger: 0,
    reconnectInterval: 100,
    reconnectMaxInterval: 2000,
  },
} as const;
