import * as zmq from 'zeromq';
import { ALL_LEVELS_MASK, LEVELS } from '../levels.js';
import { stampSequence } from '../wire/batch-writer.js';
import { SOCKET_OPTIONS } from '../wire/socket-options.js';
import { clientSocketOptions, type CurveClientKeys } from '../security/keys.js';
import { BROKER_STOPPING, parseTopic, PUBLISHER_DONE, SUBSCRIPTIONS_COMPLETE } from '../wire/topic.js';
import type { RecordBuffer, SealedBatch } from './record-buffer.js';
import type { InputProblems } from './input-problems.js';
import { LEARN_TIMEOUT_MS, UNSUBSCRIBE_DELAY_MS } from '../wire/subscriptions.js';

/**
 * How long after its first connect a client that has never been live holds
 * every batch while it waits for the broker's {@link SUBSCRIPTIONS_COMPLETE}
 * (see `mayLeave`). A Zibrato broker sends it at once, or, when it has just
 * started, after its 3 s settle time (`DEFAULT_SUBSCRIPTION_SETTLE_MS`); the
 * extra half second covers the hop. Past it, a broker that sends no marker
 * (a plain `zmq_proxy`) gets the records of the levels it reports subscribed,
 * as before, instead of waiting for {@link LEARN_TIMEOUT_MS}.
 */
const FIRST_HOLD_MS = 3_500;

/**
 * - `connecting`: no broker. Records of the wanted levels are held.
 * - `learning`: connected; subscriptions are arriving. Levels someone subscribes to are sent
 *   (by a client that has been live before; a new one holds everything, see `mayLeave`);
 *   the others are held until the broker says it has replayed every subscription.
 * - `live`: the subscriptions are known; a level nobody wants is off.
 */
type State = 'connecting' | 'learning' | 'live' | 'closed';

/**
 * Moves sealed batches from the {@link RecordBuffer} to the broker through an
 * XPUB socket, and keeps the buffer's level mask in step with the levels the
 * broker says someone subscribes to. Every batch is stamped with its level's
 * sequence just before the send (docs/wire-format.md).
 */
export class Transport {
  private readonly socket: zmq.XPublisher;
  private state: State = 'connecting';
  /** Unsharded subscribers (`info|`) per level as the broker reports them (XPUB passes first subscribe / last unsubscribe). */
  private readonly subscribed: boolean[] = [false, false, false, false, false];
  /** Per level, the shard subscriptions (`info|K/N|`) the broker reports, as `K/N` (docs/wire-format.md, "Shard topics"). */
  private readonly shardSubscriptions: Set<string>[] = LEVELS.map(() => new Set<string>());
  /** An unsubscription is waiting out {@link UNSUBSCRIBE_DELAY_MS}: a stream that just lost its subscriber is held, not discarded, meanwhile. */
  private removalPending = false;
  /** False until the client has first gone live: until then it holds every batch ({@link mayLeave}). */
  private everLive = false;
  /** Runs {@link FIRST_HOLD_MS} after the first connect; `firstHoldOver` is set when it has run. */
  private firstHoldTimer: NodeJS.Timeout | undefined;
  private firstHoldOver = false;
  private subscribedMask = 0;
  /** The drain in progress: one at a time, and the {@link PUBLISHER_DONE} answer waits for it. */
  private drainRun: Promise<void> | undefined;
  /** This connection's broker said it is stopping and was answered; reset by the next handshake. */
  private answeredStopping = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private learnTimer: NodeJS.Timeout | undefined;
  private unsubscribeTimer: NodeJS.Timeout | undefined;
  private readonly readyWaiters = new Set<() => void>();
  private loops: Promise<void>[] = [];
  private closing = false;
  /**
   * Per stream (a level topic, or a shard topic such as `info|1/2|`), records
   * sent so far: the sequence of the next batch (docs/wire-format.md). Kept
   * across shard count changes, so a stream that comes back carries on. Records the client lets go itself (`dropped`,
   * `unsubscribed`) are counted by the client and do not advance it, so a
   * receiver never counts them a second time as a gap. (After a broker
   * restart the client holds levels until the broker has settled, so
   * "unsubscribed" means nobody was listening.)
   */
  private readonly sequences = new Map<string, number>();

  constructor(
    private readonly buffer: RecordBuffer,
    private readonly problems: InputProblems,
    private readonly endpoint: string,
    private readonly flushIntervalMs: number,
    curve?: CurveClientKeys,
  ) {
    this.socket = new zmq.XPublisher(curve ? clientSocketOptions(curve) : {});
    Object.assign(this.socket, SOCKET_OPTIONS.publisher);
    // Watch events before connecting so the first handshake is not missed.
    this.loops = [this.watchEvents(), this.watchSubscriptions()];
    this.socket.connect(endpoint);
  }

  /** Levels someone subscribes to, as a bit mask (what the broker reported last). */
  get subscriptions(): number {
    return this.subscribedMask;
  }

  /** True once the subscriptions are learned from the broker. */
  get isLive(): boolean {
    return this.state === 'live';
  }

  /** Called by the buffer after the first record lands; sends within flushIntervalMs. */
  scheduleFlush = (): void => {
    if (this.buffer.flushPending || this.state === 'closed') return;
    this.buffer.flushPending = true;
    // One Timeout for the client's life, re-armed once it has fired: no allocation per flush.
    if (this.flushTimer === undefined) this.flushTimer = setTimeout(this.onFlushTimer, this.flushIntervalMs);
    else this.flushTimer.refresh();
  };

  private readonly onFlushTimer = (): void => {
    this.buffer.flushPending = false;
    this.sealAndSend();
  };

  /** Seals open batches and sends what may be sent now (an explicit `flush()`). */
  flushNow = (): void => {
    if (this.buffer.flushPending) {
      // Before the timer fired: cleared, or it would keep the process alive until it does
      // (a cleared Timeout cannot be re-armed, so the next flush makes a new one).
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      this.buffer.flushPending = false;
    }
    this.sealAndSend();
  };

  private sealAndSend(): void {
    this.buffer.sealAll();
    void this.drain();
  }

  /**
   * Called by the hot path when it sealed a full batch (a burst): the queue is
   * sent on the next turn of the event loop instead of at the flush timer, so
   * a long flush interval bounds neither memory nor latency under load. Never
   * sends from inside the app's call.
   */
  sendSoon = (): void => {
    if (this.sendSoonPending || this.state === 'closed') return;
    this.sendSoonPending = true;
    setImmediate(this.sendQueued);
  };

  private sendSoonPending = false;

  private readonly sendQueued = (): void => {
    this.sendSoonPending = false;
    void this.drain();
  };

  private async watchEvents(): Promise<void> {
    try {
      for await (const event of this.socket.events) {
        // Subscriptions flow only after the ZMTP handshake, so that is "connected".
        if (event.type === 'handshake') this.onConnect();
        // 'close' also follows every failed connect attempt while the broker is away; only a lost connection counts.
        else if (event.type === 'disconnect') this.onDisconnect();
        else if (event.type.startsWith('handshake:error') || event.type === 'close:error' || event.type === 'accept:error' || event.type === 'bind:error') {
          const detail = 'error' in event && event.error ? `: ${event.error.message}` : '';
          this.problems.warn('ZIB_TRANSPORT', `broker connection at ${this.endpoint}: ${event.type}${detail}`);
        }
      }
    } catch (err) {
      if (!this.closing) this.problems.warn('ZIB_TRANSPORT', `watching the broker connection at ${this.endpoint} stopped: ${(err as Error).message}`);
    }
  }

  private onConnect(): void {
    if (this.state === 'closed') return;
    this.state = 'learning';
    this.answeredStopping = false;
    clearTimeout(this.learnTimer);
    this.learnTimer = setTimeout(() => {
      if (this.state !== 'learning') return;
      this.problems.warn('ZIB_SUBSCRIPTIONS_ASSUMED', `the broker at ${this.endpoint} did not say it had replayed its subscriptions within ${LEARN_TIMEOUT_MS} ms (not a Zibrato broker?); trusting the ones heard so far`);
      this.goLive();
    }, LEARN_TIMEOUT_MS);
    if (!this.everLive && this.firstHoldTimer === undefined) {
      this.firstHoldTimer = setTimeout(() => {
        this.firstHoldOver = true;
        void this.drain();
      }, FIRST_HOLD_MS);
      this.firstHoldTimer.unref();
    }
    void this.drain();
  }

  /** The broker has replayed every subscription: a level nobody wants can be turned off now. */
  private goLive(): void {
    if (this.state !== 'learning') return;
    clearTimeout(this.learnTimer);
    this.state = 'live';
    this.everLive = true;
    clearTimeout(this.firstHoldTimer);
    this.applySubscriptions();
    void this.drain();
  }

  private onDisconnect(): void {
    if (this.state === 'closed' || this.closing) return;
    this.state = 'connecting';
    clearTimeout(this.learnTimer);
    // The levels that were wanted stay on (buffer.mask) and are held until the broker is back and
    // says who wants what. `subscribed` is left to ZeroMQ: XPUB reports a vanished subscription only
    // when no pipe holds it any more, so clearing it here could hide one the new connection re-sent.
    clearTimeout(this.unsubscribeTimer);
    this.removalPending = false;
    this.problems.warn('ZIB_BROKER_AWAY', `lost the broker at ${this.endpoint}; buffering up to ${this.buffer.maxBufferedRecords} records until it returns`);
  }

  /**
   * The broker is stopping (docs/delivery.md): from now on records are held as
   * if it were away (bounded, counted if they overflow or outlive close()),
   * and once the send in flight is out the broker is told nothing more comes,
   * so it can forward the last batches and close without losing any.
   */
  private onBrokerStopping(): void {
    if (this.state === 'closed' || this.answeredStopping) return;
    this.answeredStopping = true;
    clearTimeout(this.learnTimer);
    this.state = 'connecting';
    void this.answerStopping();
  }

  private async answerStopping(): Promise<void> {
    // After the send in flight (zeromq.js allows one at a time): the answer must follow the last batch.
    await this.drainRun;
    try {
      await this.socket.send(PUBLISHER_DONE);
    } catch (err) {
      // The broker gives up waiting after its drain timeout; nothing is lost here, the records are held.
      if (!this.closing) this.problems.warn('ZIB_TRANSPORT', `could not answer the stopping broker at ${this.endpoint}: ${(err as Error).message}`);
    }
  }

  private async watchSubscriptions(): Promise<void> {
    try {
      for await (const [msg] of this.socket) {
        if (!msg || msg.length === 0) continue;
        if (msg.equals(SUBSCRIPTIONS_COMPLETE)) {
          this.goLive();
          continue;
        }
        if (msg.equals(BROKER_STOPPING)) {
          this.onBrokerStopping();
          continue;
        }
        const on = msg[0] === 1;
        if (msg.length === 1) {
          // The empty prefix: everything, every shard included.
          for (let l = 0; l < LEVELS.length; l++) this.subscribed[l] = on;
        } else {
          const topic = parseTopic(msg.subarray(1));
          if (topic === undefined) continue; // a topic that is not ours
          if (topic.count === 1) this.subscribed[topic.level] = on;
          else this.onShardSubscription(topic.level, topic.index, topic.count, on);
        }
        this.recomputeSubscribedMask(on);
      }
    } catch (err) {
      if (!this.closing) this.problems.warn('ZIB_TRANSPORT', `receiving subscriptions from ${this.endpoint} stopped: ${(err as Error).message}`);
    }
  }

  /**
   * A backend with `--shard K/N` came or went. A set of N shards that has just
   * become complete is used at once (so a new set started next to an old one
   * takes over when its last shard subscribes); a removal is applied after
   * {@link UNSUBSCRIBE_DELAY_MS}, with the other subscriptions.
   */
  private onShardSubscription(level: number, index: number, count: number, on: boolean): void {
    const subs = this.shardSubscriptions[level]!;
    const key = `${index}/${count}`;
    if (!on) {
      subs.delete(key);
      return;
    }
    subs.add(key);
    this.buffer.setShardCount(level, this.chooseShardCount(level, this.isCompleteSet(level, count) ? count : 0));
  }

  /** True when every shard 1…count of the level has a subscriber. */
  private isCompleteSet(level: number, count: number): boolean {
    const subs = this.shardSubscriptions[level]!;
    for (let k = 1; k <= count; k++) if (!subs.has(`${k}/${count}`)) return false;
    return true;
  }

  /**
   * The shard count to assign the level's series under: a set that has just
   * become complete; else the current count while its set is complete; else
   * the largest complete set; else, while some shard is missing, the current
   * count if any of its shards remains (the missing shard's records are counted
   * as unsubscribed), or the largest count anyone subscribes to; 1 when nobody
   * subscribes to a shard (docs/delivery.md, "Sharded backends").
   */
  private chooseShardCount(level: number, justCompleted: number): number {
    if (justCompleted > 1) return justCompleted;
    const current = this.buffer.shardCounts[level]!;
    if (current > 1 && this.isCompleteSet(level, current)) return current;
    let largestComplete = 0;
    let largest = 0;
    let currentSeen = false;
    for (const key of this.shardSubscriptions[level]!) {
      const count = Number(key.slice(key.indexOf('/') + 1));
      if (count === current) currentSeen = true;
      if (count > largest) largest = count;
      if (count > largestComplete && this.isCompleteSet(level, count)) largestComplete = count;
    }
    if (largestComplete > 0) return largestComplete;
    if (currentSeen) return current;
    return largest > 1 ? largest : 1;
  }

  /** True when a batch's topic has a subscriber now: an unsharded one for its level, or one for its shard. */
  private hasSubscriber(batch: SealedBatch): boolean {
    return this.subscribed[batch.level]! || (batch.shardCount > 1 && this.shardSubscriptions[batch.level]!.has(batch.shardKey));
  }

  /**
   * True when a batch may be sent now. Before the client has first gone live
   * nothing leaves: it cannot know yet whether a level is sharded (a batch on
   * `info|` would reach the unsharded backends only, and one on `info|1/2|`
   * sent because an unsharded backend subscribes would miss a shard backend
   * still reconnecting, which could not count it as a gap), nor who else is
   * still reconnecting to a broker that has just started. At the marker the
   * held batches are split among the shards, if any, and sent. Once live (or
   * {@link FIRST_HOLD_MS} after the first connect, for a broker that sends no
   * marker), any subscriber of the topic will do.
   */
  private mayLeave(batch: SealedBatch): boolean {
    return (this.everLive || this.firstHoldOver) && this.hasSubscriber(batch);
  }

  private recomputeSubscribedMask(added: boolean): void {
    let m = 0;
    for (let l = 0; l < LEVELS.length; l++) if (this.subscribed[l] || this.shardSubscriptions[l]!.size > 0) m |= 1 << l;
    this.subscribedMask = m;
    if (added) {
      if (this.state === 'live') this.applySubscriptions();
      else {
        // While learning, a level someone wants is turned on at once; nothing is turned off yet.
        this.buffer.mask |= m;
        for (const w of this.readyWaiters) w();
      }
      void this.drain();
      return;
    }
    if (this.state !== 'live') return;
    clearTimeout(this.unsubscribeTimer);
    this.removalPending = true;
    this.unsubscribeTimer = setTimeout(() => {
      this.removalPending = false;
      if (this.state === 'live') {
        this.applySubscriptions();
        void this.drain();
      }
    }, UNSUBSCRIBE_DELAY_MS);
  }

  /** Makes the hot path produce exactly the subscribed levels. */
  private applySubscriptions(): void {
    this.removalPending = false;
    for (let l = 0; l < LEVELS.length; l++) this.buffer.setShardCount(l, this.chooseShardCount(l, 0));
    this.buffer.mask = this.subscribedMask;
    for (const w of this.readyWaiters) w();
  }

  /**
   * Sends queued batches in order. A batch whose topic has a subscriber is
   * stamped and sent; one whose level is off (live, nobody subscribes), or
   * whose shard nobody subscribes to (live, no unsubscription pending), is
   * discarded as unsubscribed; anything else (no broker, or subscriptions not
   * learned yet) stops the drain and is held.
   */
  private drain(): Promise<void> {
    this.drainRun ??= this.drainQueue().finally(() => {
      this.drainRun = undefined;
    });
    return this.drainRun;
  }

  private async drainQueue(): Promise<void> {
    const queue = this.buffer.queue;
    try {
      while (queue.length > 0 && (this.state === 'live' || this.state === 'learning')) {
        const batch = queue[0]!;
        if (!this.mayLeave(batch)) {
          // The broker would drop it without a trace; so it is held while the subscriptions may still change, else counted.
          if (this.state === 'live' && ((this.buffer.mask & (1 << batch.level)) === 0 || !this.removalPending)) {
            this.buffer.shift('unsubscribed');
            continue;
          }
          break;
        }
        const sequence = this.sequences.get(batch.stream) ?? 0;
        this.buffer.sending = batch;
        try {
          stampSequence(batch.frame, sequence);
          await this.socket.send([batch.topic, batch.frame]);
        } catch (err) {
          if ((this.state as State) === 'closed') break;
          // With noDrop a full pipe fails the send; keep the batch and retry shortly.
          this.problems.warn('ZIB_SEND_RETRY', `send to the broker failed (${(err as Error).message}); retrying`);
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        this.sequences.set(batch.stream, sequence + batch.records);
        this.buffer.shift('sent');
      }
    } finally {
      this.buffer.sending = undefined;
    }
  }

  /**
   * Resolves true once the subscriptions are learned from the broker and every
   * level in `mask` has a subscriber (so the level mask is exactly what the
   * broker reports) and, where the level is sharded, every shard of the count
   * in use; false on timeout.
   */
  waitReady(mask: number, timeoutMs: number): Promise<boolean> {
    const shardsComplete = (): boolean => {
      for (let l = 0; l < LEVELS.length; l++) {
        const count = this.buffer.shardCounts[l]!;
        if ((mask & (1 << l)) !== 0 && count > 1 && !this.isCompleteSet(l, count)) return false;
      }
      return true;
    };
    const ok = () => this.state === 'live' && (this.subscribedMask & mask) === mask && shardsComplete();
    if (ok()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!ok()) return;
        clearTimeout(timer);
        this.readyWaiters.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.readyWaiters.delete(check);
        resolve(false);
      }, timeoutMs);
      timer.unref();
      this.readyWaiters.add(check);
    });
  }

  /**
   * Sends what is buffered, waiting at most `timeoutMs`, then closes the socket.
   * Records still held after the wait are counted as dropped.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.state === 'closed' || this.closing) return;
    this.closing = true;
    clearTimeout(this.flushTimer);
    this.buffer.flushPending = true; // no more scheduling
    this.buffer.sealAll();
    const deadline = Date.now() + timeoutMs;
    while (this.buffer.queue.length > 0 && Date.now() < deadline) {
      await this.drain();
      if (this.buffer.queue.length > 0) await new Promise((r) => setTimeout(r, 10));
    }
    while (this.buffer.queue.length > 0) this.buffer.shift('dropped');
    this.buffer.mask = 0;
    this.state = 'closed';
    clearTimeout(this.learnTimer);
    clearTimeout(this.unsubscribeTimer);
    clearTimeout(this.firstHoldTimer);
    for (const w of this.readyWaiters) w();
    // LINGER bounds how long libzmq keeps trying to deliver what was already handed to it.
    this.socket.linger = Math.max(0, deadline - Date.now()) + 100;
    this.socket.close();
    await Promise.allSettled(this.loops);
  }
}

/** Before the first connection the client buffers every level: it cannot know yet which ones are wanted. */
export const INITIAL_MASK = ALL_LEVELS_MASK;
