import * as zmq from 'zeromq';
import { announceBrokerAnswer } from '../wire/broker-answer.js';
import { RateLimitedLog } from '../diagnostics.js';
import { MalformedFrameError } from '../errors.js';
import { LEVELS, type Level } from '../levels.js';
import { decodeBatch, recordSeries, recordValue } from '../wire/batch-decoder.js';
import { DEFAULT_MAX_FRAME_BYTES, MetricKind } from '../wire/constants.js';
import { parseLegacyText } from '../wire/legacy-text.js';
import { SOCKET_OPTIONS } from '../wire/socket-options.js';
import { clientSocketOptions, type CurveClientKeys } from '../security/keys.js';
import { parseTopic, shardTopic } from '../wire/topic.js';
import type { ShardSpec } from '../wire/shard.js';
import { SeriesStore, type SeriesEntry } from './series-store.js';
import { decodeMessagePayload, WalRecordType, type WriteAheadLog } from './wal/wal.js';

/** Counts a receiver keeps. */
export interface ReceiverStats {
  /** Records aggregated. */
  received: number;
  /** Messages rejected as malformed or oversized. */
  invalid: number;
  /** Records refused because the series limit was reached. */
  dropped: number;
  /** Messages received. */
  messages: number;
  /**
   * Records publishers sent that never arrived here, from the gaps in their
   * sequence numbers (wire format version 2): a killed broker, a batch the
   * broker dropped because this subscriber was slow, …
   */
  lost: number;
  /**
   * Records aggregated but not written to the write-ahead log (the log at its
   * bound, or a write failed, e.g. disk full): a crash before the next flush
   * would lose them. 0 without a log.
   */
  walDropped: number;
}

/** Where each publisher is in the sequence of one of its streams (a level, or one shard of a level). */
interface PublisherState {
  /** The sequence the next batch should carry. */
  next: number;
  /** The source of the publisher's records (for the `lost` tag), or its id when it has none. */
  source: string;
  lastSeenMs: number;
}

/** Publishers not heard from for this long are forgotten (memory stays bounded under churn). */
const PUBLISHER_IDLE_MS = 60 * 60_000;
/** At most this many (publisher, stream) pairs are tracked; the least recently seen go first. */
const MAX_TRACKED_STREAMS = 100_000;

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Subscribes to levels on the broker and folds every record into a
 * {@link SeriesStore}. A malformed message is counted and logged
 * (rate-limited) with its reason and never stops the loop.
 */
export class Receiver {
  readonly stats: ReceiverStats = { received: 0, invalid: 0, dropped: 0, messages: 0, lost: 0, walDropped: 0 };
  /** Where each received message is logged before the flush that covers it; undefined when the log is off. */
  wal: WriteAheadLog | undefined;
  /** Records lost per publisher source since start (the backend reports deltas as `zibrato.backend.lost`). */
  readonly lostBySource = new Map<string, number>();
  /**
   * Per (publisher id, stream): the key is the id and the level name, plus
   * `|K/N` for a shard topic. A Map keeps insertion order, so the oldest is
   * first when trimming.
   */
  private readonly streams = new Map<string, PublisherState>();
  /**
   * XSUB, not SUB: a SUB filters what it receives by its own subscriptions, so
   * the unsubscription that starts a clean stop ({@link drainAndClose}) would
   * discard, uncounted, every batch already on its way. The broker filters
   * for us (its XPUB sends only subscribed topics), so XSUB needs none.
   */
  private readonly socket: zmq.XSubscriber;
  private readonly log: RateLimitedLog;
  private loop: Promise<void> | undefined;
  private lastMessageAt = 0;
  private closed = false;
  private readonly say: (line: string) => void;
  private stopBrokerNotice: () => void = () => {};
  private readonly levelAllowed: boolean[];
  /** The topics subscribed to: one per level, or one per level's shard with `shard`. */
  private readonly topics: Buffer[];

  constructor(
    private readonly store: SeriesStore,
    readonly endpoint: string,
    readonly levels: readonly Level[],
    write: (line: string) => void,
    private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
    curve?: CurveClientKeys,
    /** Receive only this shard of each level (`--shard K/N`); every shard when absent. */
    readonly shard?: ShardSpec,
  ) {
    this.socket = new zmq.XSubscriber(curve ? clientSocketOptions(curve) : {});
    this.log = new RateLimitedLog(write);
    this.say = write;
    Object.assign(this.socket, SOCKET_OPTIONS.subscriber);
    this.levelAllowed = LEVELS.map((l) => levels.includes(l));
    this.topics = LEVELS.flatMap((l, i) => (levels.includes(l) ? [shard ? shardTopic(i, shard.index, shard.count) : shardTopic(i, 1, 1)] : []));
  }

  /** Connects and subscribes; records start flowing once the broker has the subscription. */
  start(): void {
    this.stopBrokerNotice = announceBrokerAnswer(this.socket, this.endpoint, this.say);
    this.socket.connect(this.endpoint);
    void this.sendSubscriptions(1);
    this.loop = this.run();
  }

  /** Sends chained, one at a time (a zeromq.js rule). */
  private subscriptionsSent: Promise<void> = Promise.resolve();

  /**
   * Subscribes (1) or unsubscribes (0) every topic. An XSUB takes them as
   * messages, keeps them and sends them again on every reconnect, as a SUB
   * does; its sends never wait (libzmq's XSUB is always writable).
   */
  private sendSubscriptions(on: 0 | 1): Promise<void> {
    this.subscriptionsSent = this.subscriptionsSent.then(async () => {
      try {
        for (const t of this.topics) await this.socket.send(Buffer.concat([Buffer.of(on), t]));
      } catch (err) {
        if (!this.closed) this.log.report('ZIB_RECEIVER', `could not ${on ? 'subscribe' : 'unsubscribe'} at ${this.endpoint}: ${(err as Error).message}`);
      }
    });
    return this.subscriptionsSent;
  }

  private async run(): Promise<void> {
    try {
      for await (const frames of this.socket) {
        this.lastMessageAt = Date.now();
        this.stats.messages++;
        try {
          const records = this.handle(frames);
          // Logged after it was decoded, so a malformed message is not replayed; the records stay aggregated either way.
          if (this.wal !== undefined && !this.wal.appendMessage(frames)) this.walDropped(records);
        } catch (err) {
          this.stats.invalid++;
          const e = err as MalformedFrameError;
          this.log.report(e.code ?? 'ZIB_ERR_MALFORMED_FRAME', `${e.message}; message skipped`);
        }
      }
    } catch (err) {
      if (!this.closed) this.log.report('ZIB_RECEIVER', `receive loop ended: ${(err as Error).message}`);
    }
  }

  private walDropped(records: number): void {
    this.stats.walDropped += records;
    this.log.report('ZIB_WAL_DROPPED', `write-ahead log at its bound of ${this.wal?.maxBytes} bytes or failing to write (${this.wal?.stats.writeErrors} write errors): ${this.stats.walDropped} records aggregated but not logged; a crash before the next flush would lose them`);
  }

  /** Folds one message into the store; returns its record count. */
  private handle(frames: Buffer[]): number {
    for (const f of frames) {
      if (f.length > this.maxFrameBytes) throw new MalformedFrameError(`frame of ${f.length} bytes exceeds the ${this.maxFrameBytes}-byte maximum`, 'ZIB_ERR_FRAME_TOO_LARGE');
    }
    if (frames.length === 1) return this.handleLegacy(frames[0]!);
    if (frames.length !== 2) throw new MalformedFrameError(`message has ${frames.length} frames; expected 2 (topic, batch) or 1 (legacy text)`);
    const topic = parseTopic(frames[0]!);
    if (topic === undefined || !this.levelAllowed[topic.level]) throw new MalformedFrameError(`topic "${frames[0]!.toString('latin1').slice(0, 40)}" is not a subscribed level topic such as "info|" or "info|1/2|"`);
    const level = topic.level;
    const batch = decodeBatch(frames[1]!);
    if (batch.version >= 2) this.account(batch.publisherId, level, topic.count === 1 ? '' : `|${topic.index}/${topic.count}`, batch.sequence, batch.recordCount, batch.series[0]?.source ?? '');
    const entries: (SeriesEntry | undefined)[] = new Array(batch.series.length);
    const weights: number[] = new Array(batch.series.length);
    for (let s = 0; s < batch.series.length; s++) {
      const ws = batch.series[s]!;
      entries[s] = this.store.resolve(ws.kind, ws.name, ws.source, ws.tags, LEVELS[level], ws.description !== undefined || ws.unit !== undefined ? ws : undefined);
      weights[s] = 1 / ws.sampleRate;
    }
    for (let i = 0; i < batch.recordCount; i++) {
      const s = recordSeries(batch, i);
      const entry = entries[s];
      if (entry === undefined) {
        this.stats.dropped++;
        this.log.report('ZIB_SERIES_LIMIT', `series limit of ${this.store.maxSeries} reached; records of new series are dropped and counted`);
        continue;
      }
      SeriesStore.add(entry, batch.series[s]!.kind, recordValue(batch, i), weights[s]!);
      this.stats.received++;
    }
    return batch.recordCount;
  }

  /** Gap accounting for one version 2 batch (docs/wire-format.md, "Publisher id and sequence"). */
  private account(publisherId: string, level: number, shard: string, sequence: number, records: number, source: string): void {
    const key = publisherId + LEVELS[level]! + shard;
    const now = Date.now();
    const st = this.streams.get(key);
    if (st === undefined) {
      // A publisher we have not seen (new, or restarted with a new id): its first sequence is the baseline.
      if (this.streams.size >= MAX_TRACKED_STREAMS) this.forgetOldest();
      const st = { next: sequence + records, source: source || publisherId, lastSeenMs: now };
      this.streams.set(key, st);
      // Logged as a record of its own before the message: if the message is torn, the restart still knows the publisher and counts its records lost.
      this.wal?.appendCheckpoint(Buffer.from(JSON.stringify([[key, sequence, st.source, now]])));
      return;
    }
    if (source) st.source = source;
    st.lastSeenMs = now;
    // Keep recently seen streams at the end of the Map, so the oldest are trimmed first.
    this.streams.delete(key);
    this.streams.set(key, st);
    if (sequence > st.next) {
      const lost = sequence - st.next;
      this.stats.lost += lost;
      this.lostBySource.set(st.source, (this.lostBySource.get(st.source) ?? 0) + lost);
      this.log.report('ZIB_LOST', `lost ${lost} records from publisher ${st.source} (${publisherId}) at level ${LEVELS[level]}${shard && `, shard ${shard.slice(1)}`}: its sequence jumped from ${st.next} to ${sequence} (lost ${this.stats.lost} in all)`);
    } else if (sequence < st.next) {
      this.log.report('ZIB_SEQUENCE_BACK', `publisher ${st.source} (${publisherId}) at level ${LEVELS[level]}${shard && `, shard ${shard.slice(1)}`} sent sequence ${sequence}, expected ${st.next}: a duplicate or reordered batch; resynchronised`);
    }
    st.next = sequence + records;
  }

  /**
   * Where every tracked publisher stream is (publisher id + level [+ `|K/N`], next
   * sequence, source), so a restarted backend can carry on counting gaps
   * across its own restart (Backend `stateDir`).
   */
  exportStreams(): [key: string, next: number, source: string][] {
    return [...this.streams].map(([key, st]) => [key, st.next, st.source]);
  }

  /** Restores what {@link exportStreams} saved (before `start()`). */
  importStreams(entries: readonly [string, number, string][]): void {
    const now = Date.now();
    for (const [key, next, source] of entries) {
      if (typeof key === 'string' && Number.isSafeInteger(next) && next >= 0 && typeof source === 'string') this.streams.set(key, { next, source, lastSeenMs: now });
    }
  }

  private forgetOldest(): void {
    const cutoff = Date.now() - PUBLISHER_IDLE_MS;
    for (const [key, st] of this.streams) {
      if (st.lastSeenMs < cutoff || this.streams.size >= MAX_TRACKED_STREAMS) this.streams.delete(key);
      else break;
    }
  }

  private handleLegacy(frame: Buffer): number {
    let text: string;
    try {
      text = textDecoder.decode(frame);
    } catch {
      throw new MalformedFrameError('single-frame message is not UTF-8 legacy text');
    }
    const rec = parseLegacyText(text);
    if (!this.levelAllowed[rec.level]) throw new MalformedFrameError(`legacy message level ${LEVELS[rec.level]} is not subscribed`);
    const entry = this.store.resolve(rec.kind, rec.name, rec.source, {}, LEVELS[rec.level]);
    if (!entry) {
      this.stats.dropped++;
      this.log.report('ZIB_SERIES_LIMIT', `series limit of ${this.store.maxSeries} reached; records of new series are dropped and counted`);
      return 1;
    }
    SeriesStore.add(entry, rec.kind === MetricKind.gauge ? MetricKind.gauge : rec.kind, rec.value, 1);
    this.stats.received++;
    return 1;
  }

  /**
   * One record of the write-ahead log at start: a message goes through the
   * same path as a live one (so its sequence advances the publisher's state
   * and the first live batch after a crash shows the gap), a checkpoint sets
   * the sequence state the log had when it was rotated.
   */
  replay(type: number, payload: Buffer): void {
    if (type === WalRecordType.checkpoint) return this.restoreStreams(payload);
    if (type !== WalRecordType.message) return;
    const frames = decodeMessagePayload(payload);
    if (frames === undefined) return;
    try {
      this.handle(frames);
    } catch {
      // It was valid when logged; a message that no longer decodes (a subscription since narrowed) is skipped.
    }
  }

  /** The per-publisher sequence state, for the checkpoint that starts each log segment. */
  snapshotStreams(): Buffer {
    const rows: [string, number, string, number][] = [];
    for (const [key, st] of this.streams) rows.push([key, st.next, st.source, st.lastSeenMs]);
    return Buffer.from(JSON.stringify(rows));
  }

  private restoreStreams(payload: Buffer): void {
    let rows: unknown;
    try {
      rows = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    if (!Array.isArray(rows)) return;
    for (const r of rows as unknown[]) {
      if (!Array.isArray(r) || typeof r[0] !== 'string' || typeof r[1] !== 'number' || typeof r[2] !== 'string' || typeof r[3] !== 'number') continue;
      this.streams.delete(r[0]);
      this.streams.set(r[0], { next: r[1], source: r[2], lastSeenMs: r[3] });
    }
  }

  /**
   * A clean stop that loses nothing the broker already forwarded: unsubscribes
   * first, so the broker stops adding to this subscriber's queue, then keeps
   * receiving until nothing has arrived for `quietMs` (at most `maxWaitMs`),
   * then closes. Under continuous load the stream ends once the broker has
   * the unsubscription, so the wait is short; only if it does not end within
   * `maxWaitMs` is something left behind, and that is logged.
   */
  async drainAndClose(quietMs = 200, maxWaitMs = 10_000): Promise<void> {
    const start = Date.now();
    const until = start + maxWaitMs;
    await this.sendSubscriptions(0);
    while (Date.now() < until && Date.now() - Math.max(this.lastMessageAt, start) < quietMs) await new Promise((r) => setTimeout(r, 20));
    if (Date.now() >= until) this.log.report('ZIB_STOP_UNDRAINED', `records were still arriving ${maxWaitMs} ms after unsubscribing; what is left in flight is not counted here`);
    this.closed = true;
    this.stopBrokerNotice();
    this.socket.close();
    await this.loop;
  }
}
