import * as zmq from 'zeromq';
import { SOCKET_OPTIONS } from '../wire/socket-options.js';
import { clientSocketOptions, type CurveClientKeys } from '../security/keys.js';
import { BROKER_STOPPING, LEVEL_TOPICS, parseTopic, PUBLISHER_DONE, SUBSCRIPTIONS_COMPLETE } from '../wire/topic.js';
import { RateLimitedLog } from '../diagnostics.js';
import { LEARN_TIMEOUT_MS, UNSUBSCRIBE_DELAY_MS } from '../wire/subscriptions.js';

/**
 * Records a host broker holds for its central broker by default: the same
 * bound as a client's buffer (`maxBufferedRecords`), about 10 MB of records
 * plus the batch headers. Enough for tens of seconds of a busy host while the
 * central broker restarts; past it, new batches are dropped and counted.
 */
export const DEFAULT_UPSTREAM_BUFFER_RECORDS = 1_000_000;

/** How long a failed send (central pipe full: noDrop) waits before it is retried. */
const SEND_RETRY_MS = 5;

/** Counters of a host broker's link to its central broker. */
export interface UpstreamStats {
  /** Records handed to the central broker. */
  forwardedRecords: number;
  /** Records dropped because the buffer was full (or still held when the broker stopped). */
  droppedRecords: number;
  /** Records discarded because no subscriber behind the central broker wants their level. */
  unwantedRecords: number;
  /** Records held now. */
  bufferedRecords: number;
}

/** What the link needs from its broker. */
export interface UpstreamHost {
  /** Passes a subscription message (1/0 byte + topic) to the host broker's publishers. */
  subscribe(message: Buffer): void;
  /** The central broker has said, for the first time, that it replayed every subscription. */
  learned(): void;
  log(line: string): void;
}

type State = 'connecting' | 'learning' | 'live' | 'closed';

interface Held {
  frames: Buffer[];
  /** What ZeroMQ matches subscriptions against: the topic frame, or a legacy message's whole frame. */
  topic: Buffer;
  records: number;
}

/**
 * A host broker's connection to a central broker's publish endpoint: an XPUB
 * socket that connects like an app's (so the central broker treats the host
 * broker as one more publisher), a bounded FIFO of messages, and the
 * subscriptions the central broker passes down.
 *
 * Subscriptions heard from the central broker are passed to the host broker's
 * publishers, and held while the central broker is away: the apps keep
 * producing what was wanted, and this link buffers it until the central broker
 * is back and says who wants what. A message is sent when the central broker
 * has a subscriber for its level, discarded (counted as unwanted) when it has
 * said it has none, and held otherwise.
 */
export class UpstreamLink {
  readonly stats: UpstreamStats = { forwardedRecords: 0, droppedRecords: 0, unwantedRecords: 0, bufferedRecords: 0 };
  private readonly socket: zmq.XPublisher;
  private state: State = 'connecting';
  /** Subscription topics (hex) the current central connection holds, as its XPUB side reports them. */
  private readonly heard = new Set<string>();
  /** Topics (hex) passed to the host broker's publishers on the central broker's behalf. */
  private readonly passed = new Set<string>();
  /** {@link heard} as prefixes, for matching topics: a level (`info|`), a shard (`info|1/2|`) or everything (empty). */
  private heardPrefixes: Buffer[] = [];
  /** An unsubscription is waiting out {@link UNSUBSCRIBE_DELAY_MS}; meanwhile messages it leaves without a subscriber are held. */
  private removalPending = false;
  private learnedOnce = false;
  /** FIFO with a moving head, so taking from the front is O(1). */
  private queue: Held[] = [];
  private head = 0;
  private draining = false;
  /** The drain in progress; the {@link PUBLISHER_DONE} answer waits for it. */
  private drainRun: Promise<void> = Promise.resolve();
  /** This connection's central broker said it is stopping and was answered; reset by the next handshake. */
  private answeredStopping = false;
  private learnTimer: NodeJS.Timeout | undefined;
  private unsubscribeTimer: NodeJS.Timeout | undefined;
  private readonly loops: Promise<void>[];
  private readonly problems: RateLimitedLog;

  constructor(
    readonly endpoint: string,
    private readonly host: UpstreamHost,
    private readonly maxBufferedRecords = DEFAULT_UPSTREAM_BUFFER_RECORDS,
    curve?: CurveClientKeys,
  ) {
    this.problems = new RateLimitedLog((l) => host.log(l));
    this.socket = new zmq.XPublisher(curve ? clientSocketOptions(curve) : {});
    Object.assign(this.socket, SOCKET_OPTIONS.brokerUpstream);
    // Watch events before connecting so the first handshake is not missed.
    this.loops = [this.watchEvents(), this.watchSubscriptions()];
    this.socket.connect(endpoint);
  }

  /** True once the central broker has said it replayed every subscription, at least once. */
  get hasLearned(): boolean {
    return this.learnedOnce;
  }

  /** True while connected to the central broker. */
  get connected(): boolean {
    return this.state === 'learning' || this.state === 'live';
  }

  /**
   * Queues a message from a local publisher for the central broker. Never
   * waits: past the bound the message is dropped and counted.
   */
  push(frames: Buffer[], records: number): void {
    if (this.state === 'closed') return;
    const topic = topicOfMessage(frames);
    if (!topic) return; // not a level topic: nobody upstream can subscribe to it
    if (this.stats.bufferedRecords + records > this.maxBufferedRecords) {
      this.stats.droppedRecords += records;
      this.problems.report(
        'ZIB_BROKER_UPSTREAM_DROPPED',
        `buffer for ${this.endpoint} full (${this.stats.bufferedRecords} of ${this.maxBufferedRecords} records, central broker ${this.connected ? 'slow' : 'away'}): dropped a batch of ${records} records (dropped ${this.stats.droppedRecords} so far)`,
      );
      return;
    }
    this.queue.push({ frames, topic, records });
    this.stats.bufferedRecords += records;
    void this.drain();
  }

  private async watchEvents(): Promise<void> {
    try {
      for await (const event of this.socket.events) {
        if (event.type === 'handshake') this.onConnect();
        else if (event.type === 'disconnect') this.onDisconnect();
        else if (event.type.startsWith('handshake:error')) {
          const detail = 'error' in event && event.error ? `: ${event.error.message}` : '';
          this.problems.report('ZIB_BROKER_UPSTREAM_HANDSHAKE', `central broker at ${this.endpoint}: ${event.type}${detail}`);
        }
      }
    } catch (err) {
      if (this.state !== 'closed') this.host.log(`watching the central broker at ${this.endpoint} stopped: ${(err as Error).message}`);
    }
  }

  private onConnect(): void {
    if (this.state === 'closed') return;
    this.state = 'learning';
    this.answeredStopping = false;
    this.host.log(`connected to the central broker at ${this.endpoint}; learning its subscriptions`);
    clearTimeout(this.learnTimer);
    this.learnTimer = setTimeout(() => {
      if (this.state !== 'learning') return;
      this.host.log(`ZIB_SUBSCRIPTIONS_ASSUMED: the central broker at ${this.endpoint} did not say it had replayed its subscriptions within ${LEARN_TIMEOUT_MS} ms (not a Zibrato broker?); trusting the ones heard so far`);
      this.goLive();
    }, LEARN_TIMEOUT_MS);
    void this.drain();
  }

  private onDisconnect(): void {
    if (this.state === 'closed') return;
    this.state = 'connecting';
    clearTimeout(this.learnTimer);
    // Unsubscriptions ZeroMQ reported for the lost connection are not passed on: the apps keep
    // producing, and this link holds the records until the central broker is back.
    clearTimeout(this.unsubscribeTimer);
    this.removalPending = false;
    this.host.log(`lost the central broker at ${this.endpoint}; holding up to ${this.maxBufferedRecords} records until it returns`);
  }

  /** The central broker has replayed every subscription: what it no longer holds can be passed on as gone. */
  private goLive(): void {
    if (this.state !== 'learning') return;
    clearTimeout(this.learnTimer);
    clearTimeout(this.unsubscribeTimer);
    this.removalPending = false;
    this.state = 'live';
    this.reconcile();
    if (!this.learnedOnce) {
      this.learnedOnce = true;
      this.host.learned();
    }
    void this.drain();
  }

  /**
   * The central broker is stopping (docs/delivery.md, "Stopping without losing
   * what is in flight"): like an app's client, the link holds from now on as if
   * the central broker were away, and once its send in flight is out it
   * answers {@link PUBLISHER_DONE}, so the central broker forwards the last
   * batches before it closes.
   */
  private onCentralStopping(): void {
    if (this.state === 'closed' || this.answeredStopping) return;
    this.answeredStopping = true;
    clearTimeout(this.learnTimer);
    clearTimeout(this.unsubscribeTimer);
    this.removalPending = false;
    this.state = 'connecting';
    void this.answerStopping();
  }

  private async answerStopping(): Promise<void> {
    // After the send in flight (zeromq.js allows one at a time): the answer must follow the last batch.
    await this.drainRun;
    try {
      await this.socket.send(PUBLISHER_DONE);
    } catch (err) {
      // The central broker gives up waiting after its drain timeout; nothing is lost here, the records are held.
      if ((this.state as State) !== 'closed') this.problems.report('ZIB_BROKER_UPSTREAM_RETRY', `could not answer the stopping central broker at ${this.endpoint}: ${(err as Error).message}`);
    }
  }

  /** Passes on, as unsubscribed, every topic passed before that the central connection no longer holds. */
  private reconcile(): void {
    for (const hex of this.passed) {
      if (this.heard.has(hex)) continue;
      this.passed.delete(hex);
      this.host.subscribe(Buffer.concat([Buffer.of(0), Buffer.from(hex, 'hex')]));
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
          this.onCentralStopping();
          continue;
        }
        if (msg[0] !== 0 && msg[0] !== 1) continue;
        // Only level and shard topics (or everything) concern the apps; a stopping central broker's
        // subscription to PUBLISHER_DONE is for this link's own socket, which ZeroMQ filters itself.
        if (msg.length > 1 && parseTopic(msg.subarray(1)) === undefined) continue;
        const hex = msg.subarray(1).toString('hex');
        if (msg[0] === 1) {
          this.heard.add(hex);
          if (!this.passed.has(hex)) {
            this.passed.add(hex);
            this.host.subscribe(Buffer.from(msg));
          }
        } else {
          this.heard.delete(hex);
          if (this.state === 'live') {
            clearTimeout(this.unsubscribeTimer);
            this.removalPending = true;
            this.unsubscribeTimer = setTimeout(() => {
              this.removalPending = false;
              if (this.state === 'live') this.reconcile();
              void this.drain();
            }, UNSUBSCRIBE_DELAY_MS);
          }
        }
        this.heardPrefixes = [...this.heard].map((hex) => Buffer.from(hex, 'hex'));
        void this.drain();
      }
    } catch (err) {
      if (this.state !== 'closed') this.host.log(`receiving subscriptions from the central broker at ${this.endpoint} stopped: ${(err as Error).message}`);
    }
  }

  private take(): void {
    const m = this.queue[this.head]!;
    this.stats.bufferedRecords -= m.records;
    this.queue[this.head] = undefined as unknown as Held; // release the frames
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** True when a subscription the central connection holds is a prefix of `topic` (ZeroMQ's own rule). */
  private wanted(topic: Buffer): boolean {
    for (const p of this.heardPrefixes) if (p.length <= topic.length && p.equals(topic.subarray(0, p.length))) return true;
    return false;
  }

  /**
   * Sends held messages in order: one whose topic the central broker
   * subscribes to is sent; one it has said nobody wants is discarded; anything
   * else (away, still learning, or an unsubscription not yet settled) stops
   * the drain and stays held.
   */
  private drain(): Promise<void> {
    if (this.draining) return this.drainRun;
    this.draining = true;
    this.drainRun = this.drainLoop();
    return this.drainRun;
  }

  private async drainLoop(): Promise<void> {
    try {
      while (this.head < this.queue.length && (this.state === 'live' || this.state === 'learning')) {
        const m = this.queue[this.head]!;
        if (!this.wanted(m.topic)) {
          // Sent now, the central broker would drop it without a trace.
          if (this.state === 'live' && !this.removalPending) {
            this.stats.unwantedRecords += m.records;
            this.take();
            continue;
          }
          break;
        }
        try {
          await this.socket.send(m.frames);
        } catch (err) {
          if ((this.state as State) === 'closed') break;
          // With noDrop a full pipe fails the send; keep the message and retry shortly.
          this.problems.report('ZIB_BROKER_UPSTREAM_RETRY', `send to the central broker at ${this.endpoint} failed (${(err as Error).message}); retrying`);
          await new Promise((r) => setTimeout(r, SEND_RETRY_MS));
          continue;
        }
        this.stats.forwardedRecords += m.records;
        this.take();
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Sends what is held, waiting at most `timeoutMs`, then closes the socket.
   * What is still held after the wait is counted as dropped and logged.
   */
  async close(timeoutMs: number): Promise<void> {
    if (this.state === 'closed') return;
    const deadline = Date.now() + timeoutMs;
    while (this.head < this.queue.length && Date.now() < deadline) {
      await this.drain();
      if (this.head < this.queue.length) await new Promise((r) => setTimeout(r, 10));
    }
    const left = this.stats.bufferedRecords;
    if (left > 0) {
      this.stats.droppedRecords += left;
      this.host.log(`ZIB_BROKER_UPSTREAM_DROPPED: stopping with ${left} records still held for the central broker at ${this.endpoint}; dropped (dropped ${this.stats.droppedRecords} in all)`);
    }
    this.queue = [];
    this.head = 0;
    this.stats.bufferedRecords = 0;
    this.state = 'closed';
    clearTimeout(this.learnTimer);
    clearTimeout(this.unsubscribeTimer);
    this.socket.linger = Math.max(0, deadline - Date.now()) + 100;
    this.socket.close();
    await Promise.allSettled(this.loops);
  }
}

/**
 * The topic ZeroMQ matches a message by: a native message's topic frame (a
 * level or shard topic), or a legacy text message's frame (it starts with
 * `level|`); undefined for anything else.
 */
function topicOfMessage(frames: Buffer[]): Buffer | undefined {
  const first = frames[0];
  if (!first) return undefined;
  if (frames.length > 1) return parseTopic(first) ? first : undefined;
  for (const t of LEVEL_TOPICS) if (first.length >= t.length && t.equals(first.subarray(0, t.length))) return first;
  return undefined;
}
