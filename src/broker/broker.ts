import * as zmq from 'zeromq';
import { SOCKET_OPTIONS } from '../wire/socket-options.js';
import { DEFAULT_PUBLISH_ENDPOINT, DEFAULT_SUBSCRIBE_ENDPOINT } from '../defaults.js';
import { HEADER_BYTES, HEADER_BYTES_V1, RECORD_BYTES, WIRE_VERSION, WIRE_VERSION_1 } from '../wire/constants.js';
import { BROKER_STOPPING, levelOfTopic, PUBLISHER_DONE, SUBSCRIBE_PUBLISHER_DONE, SUBSCRIPTIONS_COMPLETE } from '../wire/topic.js';
import { RateLimitedLog } from '../diagnostics.js';
import { SelfMetrics } from '../self-metrics.js';
import { InvalidOptionError } from '../errors.js';
import type { CurveClientKeys, CurveServerKeys } from '../security/keys.js';
import { isCurveKey } from '../security/keys.js';
import { PUBLISHER_DOMAIN, SUBSCRIBER_DOMAIN, ZapHandler, type Refusal } from '../security/zap.js';
import { DEFAULT_UPSTREAM_BUFFER_RECORDS, UpstreamLink } from './upstream.js';

/**
 * How long a freshly started broker waits before it tells publishers that it
 * holds every subscription ({@link SUBSCRIPTIONS_COMPLETE}): subscribers that
 * were connected to the previous broker reconnect within their
 * `reconnectMaxInterval` (2 s, src/wire/socket-options.ts), plus a margin.
 * Until then publishers hold records of levels nobody has subscribed to yet
 * instead of discarding them.
 */
export const DEFAULT_SUBSCRIPTION_SETTLE_MS = 3000;
/**
 * After settling, the broker repeats the marker this often. The marker sent on
 * a publisher's handshake can miss it (ZeroMQ attaches the new connection to
 * the socket lazily); any later one reaches it after its subscriptions,
 * because ZeroMQ writes those into the connection when it attaches it.
 */
const MARKER_REPEAT_MS = 500;
/**
 * How long a stopping host broker keeps sending what it holds for its central
 * broker before it counts the rest as dropped (the same bound as a client's
 * default close timeout).
 */
const UPSTREAM_CLOSE_MS = 2000;
/**
 * How long a stopping broker waits for every connected publisher to answer
 * {@link BROKER_STOPPING} with {@link PUBLISHER_DONE} (docs/delivery.md). A
 * Zibrato client answers within a few milliseconds of its event loop; only a
 * publisher that does not speak the protocol (a raw ZeroMQ PUB) makes the
 * broker wait this long, and what it sends after the broker closes is its own.
 */
export const DEFAULT_DRAIN_TIMEOUT_MS = 2000;
/** A stopping broker repeats {@link BROKER_STOPPING} this often, for publishers that connect while it drains. */
const STOPPING_REPEAT_MS = 100;
/**
 * libzmq LINGER of the subscriber side once the broker has forwarded its last
 * batch (the socket runs with 0 otherwise): the queued batches still reach
 * the subscribers, which stop after the broker (`zibrato up`'s stop order).
 * {@link Broker.stop} waits until they are out (or this has run out), so a
 * process may exit as soon as it resolves. Only a subscriber that reads
 * nothing (paused, hung) makes it run out; with the 2 s drain it stays under
 * `zibrato up`'s 10 s stop timeout.
 */
const FINAL_LINGER_MS = 5000;

/** Options of {@link Broker}. */
export interface BrokerOptions {
  /** Where publishers connect (XSUB binds here). Default `tcp://127.0.0.1:5550`. Several endpoints may be given. */
  publishEndpoints?: string[];
  /** Where subscribers connect (XPUB binds here). Default `tcp://127.0.0.1:5551`. */
  subscribeEndpoints?: string[];
  /** How often the broker publishes its own `zibrato.broker.*` metrics (at level `info`). 0 turns them off. Default 10 s. */
  selfMetricsIntervalMs?: number;
  /** See {@link DEFAULT_SUBSCRIPTION_SETTLE_MS}. */
  subscriptionSettleMs?: number;
  /** See {@link DEFAULT_DRAIN_TIMEOUT_MS}. */
  drainTimeoutMs?: number;
  log?: (line: string) => void;
  /**
   * The broker's CURVE key pair. With it, both sides accept only CURVE peers
   * whose public key is on that side's allow-list ({@link allowPublishers},
   * {@link allowSubscribers}; both required). Without it, plain ZeroMQ: anyone
   * who can reach an endpoint may publish or subscribe (docs/security.md).
   */
  curve?: CurveServerKeys;
  /** Public keys (Z85) admitted on the publisher side. Required with {@link curve}. */
  allowPublishers?: readonly string[];
  /** Public keys (Z85) admitted on the subscriber side. Required with {@link curve}. */
  allowSubscribers?: readonly string[];
  /**
   * A central broker's publish endpoint. With it this is a *host broker*: it
   * forwards everything its publishers send to the central broker as well as
   * to its own subscribers, passes the central broker's subscriptions down to
   * its publishers, and holds records in a bounded buffer while the central
   * broker is away (docs/delivery.md).
   */
  upstream?: string;
  /** CURVE keys for the connection to {@link upstream}: the central broker's public key and this broker's pair on its publisher allow-list. */
  upstreamCurve?: CurveClientKeys;
  /** Records held for {@link upstream} at most; past it new batches are dropped and counted. Default {@link DEFAULT_UPSTREAM_BUFFER_RECORDS}. */
  upstreamBufferRecords?: number;
  /**
   * The `source` of this broker's `zibrato.broker.*` self-metrics. Default:
   * none. Host brokers should name their host, so the central backends can
   * tell whose buffer dropped (`zibrato broker --upstream` defaults it to the
   * host name).
   */
  selfMetricsSource?: string;
}

/** Counters a broker reports. */
export interface BrokerStats {
  /** Messages forwarded from publishers to subscribers. */
  forwardedMessages: number;
  /** Records inside forwarded native batches plus forwarded legacy messages. */
  forwardedRecords: number;
  /** Records the broker could not forward (send failed). */
  droppedRecords: number;
  /** Subscription changes passed upstream to publishers. */
  subscriptions: number;
  /** Publisher connections that completed the ZeroMQ handshake. */
  publisherConnections: number;
  /** Connections refused by the allow-lists (CURVE only). */
  refused: number;
  /** Records handed to the central broker (host broker only). */
  upstreamForwardedRecords: number;
  /** Records a host broker dropped because its buffer for the central broker was full, or still held when it stopped. */
  upstreamDroppedRecords: number;
}

const NO_STATS: BrokerStats = { forwardedMessages: 0, forwardedRecords: 0, droppedRecords: 0, subscriptions: 0, publisherConnections: 0, refused: 0, upstreamForwardedRecords: 0, upstreamDroppedRecords: 0 };

/**
 * How many records a message carries, read from the batch header without
 * decoding the batch. The header is not trusted: a count whose records could
 * not fit in the frame, or a message that is not a level topic plus a batch of
 * a known version, counts 0 (receivers reject it and count it as invalid).
 */
export function recordsIn(frames: Buffer[]): number {
  if (frames.length === 1) return 1;
  const topic = frames[0];
  const batch = frames[1];
  if (frames.length !== 2 || !topic || !batch || levelOfTopic(topic) < 0) return 0;
  const header = batch[0] === WIRE_VERSION ? HEADER_BYTES : batch[0] === WIRE_VERSION_1 ? HEADER_BYTES_V1 : 0;
  if (header === 0 || batch.length < header) return 0;
  const records = batch.readUInt32LE(4);
  return header + records * RECORD_BYTES <= batch.length ? records : 0;
}

/**
 * The XSUB/XPUB forwarder that joins any number of publishers to any number of
 * subscribers. Subscriptions flow upstream, so publishers learn which levels
 * anyone wants. Written as two loops instead of `zmq.Proxy` so the broker can
 * count what it forwards and drops.
 */
export class Broker {
  readonly stats: BrokerStats = { ...NO_STATS };
  readonly publishEndpoints: string[];
  readonly subscribeEndpoints: string[];
  private readonly frontend: zmq.XSubscriber;
  private readonly backend: zmq.XPublisher;
  /** Set with CURVE: the handler lives in the broker's own context, so two brokers in one process do not share it. */
  private readonly zap: ZapHandler | undefined;
  private readonly context: zmq.Context | undefined;
  private readonly log: (line: string) => void;
  private readonly problems: RateLimitedLog;
  /** One per side, so refusals of subscribers do not hide those of publishers within the rate limit. */
  private readonly refusals: Record<Refusal['side'], RateLimitedLog>;
  private readonly settleMs: number;
  private settleElapsed = false;
  private settled = false;
  /** Set on a host broker: the connection to the central broker. */
  private upstream: UpstreamLink | undefined;
  private readonly upstreamEndpoint: string | undefined;
  private readonly upstreamCurve: CurveClientKeys | undefined;
  private readonly upstreamBufferRecords: number;
  private settleTimer: NodeJS.Timeout | undefined;
  private markerTimer: NodeJS.Timeout | undefined;
  private readonly self: SelfMetrics;
  private selfTimer: NodeJS.Timeout | undefined;
  private loops: Promise<void>[] = [];
  private closed = false;
  private readonly drainTimeoutMs: number;
  /** Set by {@link stop}: the broker asks its publishers to stop, forwards what they sent, then closes. */
  private stopped: Promise<void> | undefined;
  /** Publisher connections now: handshakes minus disconnects. */
  private connectedPublishers = 0;
  /** Connected publishers that answered {@link BROKER_STOPPING}: they send nothing more. */
  private donePublishers = 0;

  constructor(options: BrokerOptions = {}) {
    this.publishEndpoints = options.publishEndpoints?.length ? options.publishEndpoints : [DEFAULT_PUBLISH_ENDPOINT];
    this.subscribeEndpoints = options.subscribeEndpoints?.length ? options.subscribeEndpoints : [DEFAULT_SUBSCRIBE_ENDPOINT];
    this.log = options.log ?? (() => undefined);
    this.problems = new RateLimitedLog(this.log);
    this.refusals = { publisher: new RateLimitedLog(this.log), subscriber: new RateLimitedLog(this.log) };
    this.settleMs = options.subscriptionSettleMs ?? DEFAULT_SUBSCRIPTION_SETTLE_MS;
    this.upstreamEndpoint = options.upstream;
    this.upstreamCurve = options.upstreamCurve;
    this.upstreamBufferRecords = options.upstreamBufferRecords ?? DEFAULT_UPSTREAM_BUFFER_RECORDS;
    if (!Number.isInteger(this.upstreamBufferRecords) || this.upstreamBufferRecords < 1) throw new InvalidOptionError(`broker upstreamBufferRecords must be a positive integer, got ${this.upstreamBufferRecords}`);
    this.drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    if (options.curve) {
      const { publicKey, secretKey } = options.curve;
      if (!isCurveKey(publicKey) || !isCurveKey(secretKey)) throw new InvalidOptionError('broker curve keys must be 40-character Z85 CURVE keys (zibrato keygen makes them)');
      if (!options.allowPublishers || !options.allowSubscribers) {
        // A CURVE server without a ZAP handler admits everyone who knows its public key.
        throw new InvalidOptionError('a broker with CURVE keys needs both allow-lists (allowPublishers and allowSubscribers; --allow-publishers-file, --allow-subscribers-file)');
      }
      for (const k of [...options.allowPublishers, ...options.allowSubscribers]) {
        if (!isCurveKey(k)) throw new InvalidOptionError(`broker allow-list entry "${k.slice(0, 40)}" is not a 40-character Z85 CURVE public key`);
      }
      this.context = new zmq.Context();
      this.zap = new ZapHandler(this.context, { publishers: options.allowPublishers, subscribers: options.allowSubscribers }, (r) => this.refused(r));
      // zapEnforceDomain (libzmq default false): without it, a CURVE server whose ZAP handler is
      // gone admits everyone; with it, the handshake fails instead (checked against libzmq 4.3).
      const curve = { context: this.context, curveServer: true, curvePublicKey: publicKey, curveSecretKey: secretKey, zapEnforceDomain: true };
      this.frontend = new zmq.XSubscriber({ ...curve, zapDomain: PUBLISHER_DOMAIN });
      this.backend = new zmq.XPublisher({ ...curve, zapDomain: SUBSCRIBER_DOMAIN });
    } else {
      this.frontend = new zmq.XSubscriber();
      this.backend = new zmq.XPublisher();
    }
    Object.assign(this.frontend, SOCKET_OPTIONS.brokerFrontend);
    Object.assign(this.backend, SOCKET_OPTIONS.brokerBackend);
    this.self = new SelfMetrics('zibrato.broker', options.selfMetricsSource ?? '');
    const interval = options.selfMetricsIntervalMs ?? 10_000;
    if (interval > 0) {
      this.selfTimer = setInterval(() => this.publishSelfMetrics(), interval);
      this.selfTimer.unref();
    }
  }

  /** Binds both sides and starts forwarding. */
  async start(): Promise<void> {
    await this.zap?.start();
    for (const ep of this.publishEndpoints) await this.frontend.bind(ep);
    for (const ep of this.subscribeEndpoints) await this.backend.bind(ep);
    this.loops = [this.forwardRecords(), this.forwardSubscriptions(), this.watchPublishers()];
    // Run with or without CURVE: stop() waits for its end (see drainAndClose).
    this.loops.push(this.watchSubscribers());
    if (this.upstreamEndpoint !== undefined) {
      this.upstream = new UpstreamLink(
        this.upstreamEndpoint,
        {
          subscribe: (message) => {
            this.stats.subscriptions++;
            void this.sendToPublishers(message);
          },
          learned: () => this.maybeSettle(),
          log: this.log,
        },
        this.upstreamBufferRecords,
        this.upstreamCurve,
      );
    }
    this.settleTimer = setTimeout(() => {
      this.settleElapsed = true;
      this.maybeSettle();
    }, this.settleMs);
    this.log(`broker up: publishers → ${this.publishEndpoints.join(', ')}  subscribers → ${this.subscribeEndpoints.join(', ')}${this.upstream ? `  upstream → ${this.upstream.endpoint}` : ''}`);
  }

  /**
   * Tells publishers the subscriptions are complete once the local subscribers
   * have had time to reconnect and, on a host broker, once the central broker
   * has passed down its own: before that, an app would turn off a level that
   * only a backend behind the central broker wants.
   */
  private maybeSettle(): void {
    if (this.settled || this.closed || !this.settleElapsed) return;
    if (this.upstream && !this.upstream.hasLearned) return;
    this.settled = true;
    if (this.upstream) this.log(`learned the central broker's subscriptions; publishers may now turn off levels nobody wants`);
    void this.sendToPublishers(SUBSCRIPTIONS_COMPLETE);
    this.markerTimer = setInterval(() => void this.sendToPublishers(SUBSCRIPTIONS_COMPLETE), MARKER_REPEAT_MS);
    this.markerTimer.unref();
  }

  /** True when the broker authenticates peers with CURVE and allow-lists. */
  get secure(): boolean {
    return this.zap !== undefined;
  }

  /** Replaces the allow-lists (key rotation, docs/security.md); admitted connections stay. */
  setAllowLists(allow: { publishers: readonly string[]; subscribers: readonly string[] }): void {
    if (!this.zap) throw new InvalidOptionError('allow-lists need a broker with CURVE keys');
    this.zap.setAllowLists(allow);
  }

  private refused(r: Refusal): void {
    this.stats.refused++;
    const key = r.publicKey ? `public key ${r.publicKey}` : 'no CURVE key';
    this.refusals[r.side].report('ZIB_BROKER_REFUSED', `refused a ${r.side} from ${r.address || '(unknown address)'} with ${key}: not on the ${r.side} allow-list (refused ${this.stats.refused} so far)`);
  }

  private async forwardRecords(): Promise<void> {
    try {
      for await (const frames of this.frontend) {
        // One comparison, and only for one-frame messages (batches have two).
        if (frames.length === 1 && frames[0]!.equals(PUBLISHER_DONE)) {
          this.donePublishers++;
          continue;
        }
        // The link never waits: it queues (bounded) and sends at the central broker's pace.
        this.upstream?.push(frames, recordsIn(frames));
        await this.sendDownstream(frames);
      }
    } catch (err) {
      if (!this.closed) this.log(`publisher side stopped: ${(err as Error).message}`);
    }
  }

  /** Sends are chained so only one is ever in flight on the XPUB socket (a zeromq.js rule). */
  private sendChain: Promise<void> = Promise.resolve();

  private sendDownstream(frames: Buffer[]): Promise<void> {
    const records = recordsIn(frames);
    this.sendChain = this.sendChain.then(async () => {
      try {
        // Without noDrop (socket-options.ts) this never waits for a slow subscriber: a full pipe
        // loses *its* copy, which that subscriber counts as a gap; everyone else gets theirs.
        await this.backend.send(frames);
        this.stats.forwardedMessages++;
        this.stats.forwardedRecords += records;
      } catch (err) {
        if (this.closed) return;
        this.stats.droppedRecords += records;
        this.problems.report('ZIB_BROKER_DROPPED', `dropped a message of ${records} records: ${(err as Error).message} (dropped ${this.stats.droppedRecords} so far)`);
      }
    });
    return this.sendChain;
  }

  /** Sends to publishers (subscriptions, the settle marker) one at a time, as zeromq.js requires. */
  private upstreamChain: Promise<void> = Promise.resolve();

  private sendToPublishers(message: Buffer): Promise<void> {
    this.upstreamChain = this.upstreamChain.then(async () => {
      try {
        await this.frontend.send(message);
      } catch (err) {
        if (!this.closed) this.problems.report('ZIB_BROKER_UPSTREAM', `could not pass a message to publishers: ${(err as Error).message}`);
      }
    });
    return this.upstreamChain;
  }

  /**
   * A publisher that connects gets every current subscription from ZeroMQ at
   * once; once the broker has settled, the marker right after them tells it
   * the list is complete. (Before that, the marker goes to all when the broker settles.)
   */
  private async watchPublishers(): Promise<void> {
    try {
      for await (const event of this.frontend.events) {
        if (event.type === 'handshake') {
          this.stats.publisherConnections++;
          this.connectedPublishers++;
          if (this.settled) void this.sendToPublishers(SUBSCRIPTIONS_COMPLETE);
        } else if (event.type === 'disconnect') {
          this.connectedPublishers = Math.max(0, this.connectedPublishers - 1);
          // Events do not say which publisher left. Taking it for one that already answered keeps
          // "publishers still to answer" from shrinking too early; at worst the drain waits longer.
          if (this.donePublishers > 0) this.donePublishers--;
        }
        // Auth failures are the ZAP handler's refusals, already counted and logged with the peer's address.
        else if (event.type.startsWith('handshake:error') && event.type !== 'handshake:error:auth') {
          const detail = 'error' in event && event.error ? `: ${event.error.message}` : '';
          if (this.zap) this.refusedHandshake('publisher', `${event.type}${detail}`);
          else this.problems.report('ZIB_BROKER_PUBLISHER', `a publisher connection failed (${event.type}${detail})`);
        }
      }
    } catch (err) {
      if (!this.closed) this.log(`publisher events stopped: ${(err as Error).message}`);
    }
  }

  /**
   * Ends only when libzmq has destroyed the subscriber side after its close
   * (the monitor's `end`): its queues were written to the network, or its
   * LINGER ran out. With CURVE, a subscriber that fails the handshake before
   * ZAP (no CURVE key, a wrong server key) got nothing either; it is counted
   * and logged like a refusal.
   */
  private async watchSubscribers(): Promise<void> {
    try {
      for await (const event of this.backend.events) {
        if (this.zap && event.type.startsWith('handshake:error') && event.type !== 'handshake:error:auth') {
          const detail = 'error' in event && event.error ? `: ${event.error.message}` : '';
          this.refusedHandshake('subscriber', `${event.type}${detail}`);
        }
      }
    } catch (err) {
      if (!this.closed) this.log(`subscriber events stopped: ${(err as Error).message}`);
    }
  }

  /** A CURVE handshake that failed before ZAP: libzmq names no peer address here, only the endpoint. */
  private refusedHandshake(side: Refusal['side'], why: string): void {
    this.stats.refused++;
    this.refusals[side].report('ZIB_BROKER_REFUSED', `refused a ${side} whose CURVE handshake failed (${why}): no CURVE key, or not this broker's public key (refused ${this.stats.refused} so far)`);
  }

  private async forwardSubscriptions(): Promise<void> {
    try {
      for await (const [sub] of this.backend) {
        if (!sub) continue;
        this.stats.subscriptions++;
        await this.sendToPublishers(sub);
      }
    } catch (err) {
      if (!this.closed) this.log(`subscriber side stopped: ${(err as Error).message}`);
    }
  }

  private lastReported: BrokerStats = { ...NO_STATS };
  /** Records of the broker's own last self-metric batch: forwarded like any other, but not news for the status line. */
  private ownRecords = 0;
  private statusLogged = false;
  private lastUpBuffered = 0;
  private lastUpConnected = false;

  /** Publishes `zibrato.broker.forwarded`, `.dropped` and `.refused` (deltas since the last report) and logs a status line. */
  private publishSelfMetrics(): void {
    const s = this.stats;
    const forwarded = s.forwardedRecords - this.lastReported.forwardedRecords;
    const dropped = s.droppedRecords - this.lastReported.droppedRecords;
    const refused = s.refused - this.lastReported.refused;
    const up = this.upstream?.stats;
    if (up) {
      s.upstreamForwardedRecords = up.forwardedRecords;
      s.upstreamDroppedRecords = up.droppedRecords;
    }
    const upForwarded = s.upstreamForwardedRecords - this.lastReported.upstreamForwardedRecords;
    const upDropped = s.upstreamDroppedRecords - this.lastReported.upstreamDroppedRecords;
    const upBufferedBefore = this.lastUpBuffered;
    this.lastReported = { ...s };
    this.lastUpBuffered = up?.bufferedRecords ?? 0;
    // An idle broker stays quiet: the status line is logged once, then only when something moved
    // (its own self-metrics, forwarded since the last line, do not count).
    const upConnectedBefore = this.lastUpConnected;
    this.lastUpConnected = this.upstream?.connected ?? false;
    const moved =
      forwarded - this.ownRecords > 0 ||
      dropped > 0 ||
      refused > 0 ||
      (up !== undefined && (upForwarded - this.ownRecords > 0 || upDropped > 0 || up.bufferedRecords !== upBufferedBefore || this.lastUpConnected !== upConnectedBefore));
    const logStatus = moved || !this.statusLogged;
    this.statusLogged = true;
    if (logStatus) this.log(`status: forwarded ${s.forwardedRecords} records in ${s.forwardedMessages} messages, dropped ${s.droppedRecords}${this.zap ? `, refused ${s.refused} connections` : ''}`);
    this.self.counter('forwarded', forwarded);
    this.self.counter('dropped', dropped);
    if (this.zap) this.self.counter('refused', refused);
    if (up) {
      if (logStatus) this.log(`upstream: forwarded ${up.forwardedRecords} records, dropped ${up.droppedRecords}, holding ${up.bufferedRecords}, unwanted ${up.unwantedRecords} (central broker ${this.upstream!.connected ? 'connected' : 'away'})`);
      this.self.counter('upstream.forwarded', upForwarded);
      this.self.counter('upstream.dropped', upDropped);
      this.self.gauge('upstream.buffered', up.bufferedRecords);
    }
    const frames = this.self.seal('info');
    this.ownRecords = frames ? recordsIn(frames) : 0;
    if (!frames) return;
    this.upstream?.push(frames, recordsIn(frames));
    void this.sendDownstream(frames);
  }

  /**
   * Stops without losing what is in flight (docs/delivery.md): asks every
   * publisher to stop sending ({@link BROKER_STOPPING}), forwards what they sent
   * until each has answered {@link PUBLISHER_DONE} or left (at most
   * `drainTimeoutMs`), hands the last batches to the subscribers, then releases
   * both sockets. Resolves once libzmq has written those batches out (or its
   * 2 s linger ran out), so the process may exit then. Subscribers should stop
   * after the broker.
   */
  stop(): Promise<void> {
    this.stopped ??= this.drainAndClose();
    return this.stopped;
  }

  private async drainAndClose(): Promise<void> {
    if (this.selfTimer) clearInterval(this.selfTimer);
    clearTimeout(this.settleTimer);
    clearInterval(this.markerTimer);
    if (this.loops.length > 0) await this.drainPublishers();
    this.closed = true;
    await this.sendChain;
    this.log(`broker stopping: forwarded ${this.stats.forwardedRecords} records, dropped ${this.stats.droppedRecords}`);
    this.backend.linger = FINAL_LINGER_MS;
    this.frontend.close();
    if (this.upstream) {
      await this.upstream.close(UPSTREAM_CLOSE_MS);
      this.stats.upstreamForwardedRecords = this.upstream.stats.forwardedRecords;
      this.stats.upstreamDroppedRecords = this.upstream.stats.droppedRecords;
      this.log(`upstream stopped: forwarded ${this.stats.upstreamForwardedRecords} records, dropped ${this.stats.upstreamDroppedRecords}`);
    }
    this.backend.close();
    const closedAt = Date.now();
    // libzmq hands the closed socket to its reaper, which destroys it once every queued batch is
    // written out (or the linger ran out), and only then ends watchSubscribers(). Until then the
    // last batches may still be in ZeroMQ's memory: process.exit() stops its I/O thread mid-queue
    // and loses them uncounted (a backend behind under load had a backlog there).
    await Promise.allSettled(this.loops);
    // libzmq says nothing of what it discarded when the linger ran out, so this is a warning without a count.
    if (Date.now() - closedAt >= FINAL_LINGER_MS) this.problems.report('ZIB_BROKER_LINGER', `a subscriber took not all of the last batches within ${FINAL_LINGER_MS} ms (paused or hung?); what was still queued for it is lost, and libzmq does not say how much`);
    await this.zap?.stop();
  }

  /** Publishers that may still send: connected and not yet answered. */
  private get publishersToHear(): number {
    return this.connectedPublishers - this.donePublishers;
  }

  private async drainPublishers(): Promise<void> {
    // Subscribed first: the publishers' XPUB sockets send only what someone subscribes to.
    void this.sendToPublishers(SUBSCRIBE_PUBLISHER_DONE);
    const deadline = Date.now() + this.drainTimeoutMs;
    let nextMarkerAt = 0;
    // Done when every connected publisher answered (or left) and ZeroMQ holds nothing unread:
    // a publisher that left had its last messages read before its disconnect was reported.
    while (this.publishersToHear > 0 || this.frontend.readable) {
      const now = Date.now();
      if (now >= deadline) {
        this.log(`stopped waiting after ${this.drainTimeoutMs} ms for ${this.publishersToHear} publisher(s) to confirm their last send (not Zibrato clients?); what they send from now on is not forwarded`);
        return;
      }
      if (now >= nextMarkerAt) {
        void this.sendToPublishers(BROKER_STOPPING);
        nextMarkerAt = now + STOPPING_REPEAT_MS;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
