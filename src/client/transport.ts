import * as zmq from 'zeromq';
import { ALL_LEVELS_MASK } from '../levels.js';
import { SOCKET_OPTIONS } from '../wire/socket-options.js';
import { LEVEL_TOPICS, levelOfSubscription } from '../wire/topic.js';
import type { RecordBuffer } from './record-buffer.js';
import type { InputProblems } from './input-problems.js';

/** How long after (re)connecting the client waits for the broker to replay subscriptions before it trusts them. */
const SETTLE_MS = 150;
/**
 * How long an unsubscription waits before it turns a level off. When the
 * broker goes away its subscriptions vanish with the connection; the delay lets
 * the disconnect event arrive first, so the client keeps buffering for the
 * levels that were wanted instead of silently discarding them.
 */
const UNSUBSCRIBE_DELAY_MS = 300;

type State = 'connecting' | 'settling' | 'live' | 'closed';

/**
 * Moves sealed batches from the {@link RecordBuffer} to the broker through an
 * XPUB socket, and keeps the buffer's level mask in step with the levels the
 * broker says someone subscribes to.
 */
export class Transport {
  private readonly socket = new zmq.XPublisher();
  private state: State = 'connecting';
  /** Subscribers per level as the broker reports them (XPUB passes first subscribe / last unsubscribe). */
  private readonly subscribed: boolean[] = [false, false, false, false, false];
  private subscribedMask = 0;
  private draining = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private unsubscribeTimer: NodeJS.Timeout | undefined;
  private readonly readyWaiters = new Set<() => void>();
  private loops: Promise<void>[] = [];

  constructor(
    private readonly buffer: RecordBuffer,
    private readonly problems: InputProblems,
    private readonly endpoint: string,
    private readonly flushIntervalMs: number,
  ) {
    Object.assign(this.socket, SOCKET_OPTIONS.publisher);
    // Watch events before connecting so the first handshake is not missed.
    this.loops = [this.watchEvents(), this.watchSubscriptions()];
    this.socket.connect(endpoint);
  }

  /** Levels someone subscribes to, as a bit mask (what the broker reported last). */
  get subscriptions(): number {
    return this.subscribedMask;
  }

  get isLive(): boolean {
    return this.state === 'live';
  }

  /** Called by the buffer after the first record lands; sends within flushIntervalMs. */
  scheduleFlush = (): void => {
    if (this.buffer.flushPending || this.state === 'closed') return;
    this.buffer.flushPending = true;
    this.flushTimer = setTimeout(this.flushNow, this.flushIntervalMs);
  };

  /** Seals open batches and sends what may be sent now. */
  flushNow = (): void => {
    this.buffer.flushPending = false;
    this.flushTimer = undefined;
    this.buffer.sealAll();
    void this.drain();
  };

  private async watchEvents(): Promise<void> {
    try {
      for await (const event of this.socket.events) {
        // Subscriptions flow only after the ZMTP handshake, so that is "connected".
        if (event.type === 'handshake') this.onConnect();
        else if (event.type === 'disconnect' || event.type === 'close') this.onDisconnect();
      }
    } catch {
      // The socket closed.
    }
  }

  private onConnect(): void {
    if (this.state === 'closed') return;
    this.state = 'settling';
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      if (this.state !== 'settling') return;
      this.state = 'live';
      this.applySubscriptions();
      for (const w of this.readyWaiters) w();
      void this.drain();
    }, SETTLE_MS);
  }

  private onDisconnect(): void {
    if (this.state === 'closed' || this.closing) return;
    this.state = 'connecting';
    // Keep producing the levels that were wanted; they are held until the broker returns.
    clearTimeout(this.unsubscribeTimer);
    this.problems.warn('ZIB_BROKER_AWAY', `lost the broker at ${this.endpoint}; buffering up to ${this.buffer.maxBufferedRecords} records until it returns`);
  }

  private async watchSubscriptions(): Promise<void> {
    try {
      for await (const [msg] of this.socket) {
        if (!msg || msg.length === 0) continue;
        const on = msg[0] === 1;
        const level = levelOfSubscription(msg.subarray(1));
        if (level === -1) continue; // a topic that is not ours
        if (level === -2) for (let l = 0; l < 5; l++) this.subscribed[l] = on;
        else this.subscribed[level] = on;
        this.recomputeSubscribedMask(on);
      }
    } catch {
      // The socket closed.
    }
  }

  private recomputeSubscribedMask(added: boolean): void {
    let m = 0;
    for (let l = 0; l < 5; l++) if (this.subscribed[l]) m |= 1 << l;
    this.subscribedMask = m;
    if (this.state !== 'live') return;
    if (added) this.applySubscriptions();
    else {
      clearTimeout(this.unsubscribeTimer);
      this.unsubscribeTimer = setTimeout(() => {
        if (this.state === 'live') this.applySubscriptions();
      }, UNSUBSCRIBE_DELAY_MS);
    }
  }

  /** Makes the hot path produce exactly the subscribed levels. */
  private applySubscriptions(): void {
    this.buffer.mask = this.subscribedMask;
    for (const w of this.readyWaiters) w();
  }

  /** Sends queued batches in order while the broker is live. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      const queue = this.buffer.queue;
      while (queue.length > 0 && this.state === 'live') {
        const batch = queue[0]!;
        if ((this.subscribedMask & (1 << batch.level)) === 0) {
          this.buffer.shift('unsubscribed');
          continue;
        }
        try {
          await this.socket.send([LEVEL_TOPICS[batch.level]!, batch.frame]);
        } catch (err) {
          if ((this.state as State) === 'closed') break;
          // With noDrop a full pipe fails the send; keep the batch and retry shortly.
          this.problems.warn('ZIB_SEND_RETRY', `send to the broker failed (${(err as Error).message}); retrying`);
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        this.buffer.shift('sent');
      }
    } finally {
      this.draining = false;
    }
  }

  /** Resolves true once the broker is live and (if given) every level in `mask` has a subscriber; false on timeout. */
  waitReady(mask: number, timeoutMs: number): Promise<boolean> {
    const ok = () => this.state === 'live' && (this.subscribedMask & mask) === mask;
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
  private closing = false;

  async close(timeoutMs: number): Promise<void> {
    if (this.state === 'closed' || this.closing) return;
    this.closing = true;
    clearTimeout(this.flushTimer);
    this.buffer.flushPending = true; // no more scheduling
    this.buffer.sealAll();
    const deadline = Date.now() + timeoutMs;
    while (this.buffer.queue.length > 0 && Date.now() < deadline) {
      if (this.state === 'live') await this.drain();
      if (this.buffer.queue.length > 0) await new Promise((r) => setTimeout(r, 10));
    }
    while (this.buffer.queue.length > 0) this.buffer.shift('dropped');
    this.buffer.mask = 0;
    this.state = 'closed';
    clearTimeout(this.settleTimer);
    clearTimeout(this.unsubscribeTimer);
    for (const w of this.readyWaiters) w();
    // LINGER bounds how long libzmq keeps trying to deliver what was already handed to it.
    this.socket.linger = Math.max(0, deadline - Date.now()) + 100;
    this.socket.close();
    await Promise.allSettled(this.loops);
  }
}

/** Before the first connection the client buffers every level: it cannot know yet which ones are wanted. */
export const INITIAL_MASK = ALL_LEVELS_MASK;
