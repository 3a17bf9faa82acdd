import type { FlushBatch, Sink, SinkStatus, Temporality } from '../sink.js';
import { backoffDelayMs } from './backoff.js';
import { asDeliveryError, type DeliveryError } from './delivery-error.js';
import type { DeliveryOptions } from './delivery-options.js';
import type { Redactor } from './redact.js';
import { DiskSpool } from './spool.js';
import type { DeliveryPayload, Transport } from './transport.js';

/**
 * Wraps a {@link Transport} into a {@link Sink} with the delivery rules every
 * network sink shares (docs/sinks.md, "Delivery"):
 *
 * - a payload is tried, then retried a few times with backoff inside `export()`;
 * - if it still fails (network error, 5xx, 429) it and the rest of the flush go
 *   to the disk spool, and `export()` resolves;
 * - while the spool holds anything, new flushes are appended behind it so the
 *   destination sees data in order; a background loop replays it oldest first
 *   with exponential backoff and jitter, honouring `Retry-After`;
 * - a permanent rejection (other 4xx) is logged and counted as dropped, never retried.
 */
export class DeliveringSink implements Sink {
  readonly name: string;
  readonly temporality: Temporality | undefined;
  readonly cumulativeHistograms: boolean | undefined;
  private readonly spool: DiskSpool;
  private sent = 0;
  private failed = 0;
  private dropped = 0;
  private lastError: string | undefined;
  /** Serialises exports so payloads leave in flush order. */
  private exportChain: Promise<void> = Promise.resolve();
  private replaying: Promise<void> | undefined;
  private replayAttempt = 0;
  /** Backoff: the replay loop waits until then, but a new flush may cut the wait short. */
  private softWaitUntilMs = 0;
  /** Retry-After: nothing is sent to the destination before then. */
  private hardWaitUntilMs = 0;
  private wake: (() => void) | undefined;
  private stopping = false;
  private inFlightSeq: number | undefined;
  /** Epoch ms of the first failure of the current outage; undefined while the destination answers. */
  private downSinceMs: number | undefined;
  private lastDownLogMs = 0;
  private readonly now: () => number;

  constructor(
    private readonly transport: Transport,
    private readonly options: DeliveryOptions,
    private readonly log: (message: string) => void,
    private readonly redactor: Redactor,
    now: () => number = Date.now,
  ) {
    this.now = now;
    this.name = transport.name;
    this.temporality = transport.temporality;
    this.cumulativeHistograms = transport.cumulativeHistograms;
    this.spool = new DiskSpool(options.spoolDir, options.spoolMaxBytes);
  }

  /** Indexes the spool and, if a previous process left data, starts replaying it. */
  async start(): Promise<void> {
    try {
      await this.spool.open();
    } catch (e) {
      this.note(`spool ${this.options.spoolDir} unusable, flushes that fail will be dropped: ${(e as Error).message}`);
      return;
    }
    if (this.spool.unreadableFiles > 0) this.note(`${this.spool.unreadableFiles} spool file(s) in ${this.options.spoolDir} cannot be read and are left there; their points are not replayed`);
    if (this.spool.size > 0) {
      this.log(`${this.name}: ${this.spool.points} points in spool ${this.options.spoolDir}, replaying`);
      this.kickReplay(true);
    }
  }

  export(batch: FlushBatch): Promise<void> {
    const run = this.exportChain.then(() => this.exportNow(batch));
    this.exportChain = run.catch(() => undefined);
    return run;
  }

  private async exportNow(batch: FlushBatch): Promise<void> {
    // An unusable spool directory must not stop live delivery; spooling then drops and counts.
    await this.spool.open().catch((e: Error) => this.note(`spool ${this.options.spoolDir} unusable: ${e.message}`));
    const encoded = this.transport.encode(batch);
    if (encoded.rejected.length > 0) {
      // One line per flush, not per point: a bad producer must not flood the log.
      const first = encoded.rejected[0]!;
      this.dropped += encoded.rejected.length;
      this.note(`dropped ${encoded.rejected.length} point(s) the destination cannot take, e.g. ${first.name}: ${first.reason}`);
    }
    const started = Date.now();
    const backlog = this.spool.size > 0;
    let spoolRest = backlog || Date.now() < this.hardWaitUntilMs;
    let failedNow = false;
    for (const payload of encoded.payloads) {
      // A slow destination must not hold the flush past its budget, even when every request succeeds.
      if (Date.now() - started > this.options.exportBudgetMs) spoolRest = true;
      if (!spoolRest && !this.stopping) {
        const outcome = await this.deliverWithQuickRetries(payload, started);
        if (outcome !== 'retry-later') continue;
        spoolRest = true;
        failedNow = true;
      }
      await this.toSpool(payload);
    }
    if (this.spool.size === 0) return;
    if (failedNow) {
      // The destination just failed several times: back off before replaying.
      this.softWaitUntilMs = Date.now() + backoffDelayMs(this.policy(), this.replayAttempt);
      this.kickReplay(false);
    } else this.kickReplay(true);
  }

  /** Sends one payload, retrying a little; 'retry-later' means it belongs in the spool. */
  private async deliverWithQuickRetries(payload: DeliveryPayload, startedMs: number): Promise<'done' | 'retry-later'> {
    for (let attempt = 0; ; attempt++) {
      const err = await this.tryOnce(payload);
      if (!err) return 'done';
      if (!err.retryable) {
        this.dropped += payload.points;
        return 'done';
      }
      this.honourRetryAfter(err);
      if (attempt >= this.options.quickRetries) return 'retry-later';
      const delay = Math.max(backoffDelayMs(this.policy(), attempt), err.retryAfterMs ?? 0);
      if (Date.now() - startedMs + delay > this.options.exportBudgetMs) return 'retry-later';
      await sleep(delay);
    }
  }

  /** One attempt; counts the outcome. Returns the error, or undefined on success. */
  private async tryOnce(payload: DeliveryPayload): Promise<DeliveryError | undefined> {
    try {
      await this.transport.send(payload);
      this.sent += payload.points;
      this.markUp();
      return undefined;
    } catch (e) {
      const err = asDeliveryError(e);
      this.failed++;
      if (!err.retryable) {
        // It answered, so it is up; the payload itself is refused.
        this.markUp();
        this.note(`rejected ${payload.points} points: ${err.message}`);
      } else {
        this.lastError = this.redactor.redact(err.message);
        this.markDown(err);
      }
      return err;
    }
  }

  /**
   * An outage is logged when it starts, then at most every
   * {@link DOWN_REMINDER_MS} while it lasts, and when the destination answers
   * again, not only when something is finally dropped.
   */
  private markDown(err: DeliveryError): void {
    const now = this.now();
    if (this.downSinceMs === undefined) {
      this.downSinceMs = now;
      this.lastDownLogMs = now;
      this.note(`destination down: ${err.message}; spooling and retrying with backoff`);
    } else if (now - this.lastDownLogMs >= DOWN_REMINDER_MS) {
      this.lastDownLogMs = now;
      this.note(`destination still down after ${Math.round((now - this.downSinceMs) / 1000)} s: ${err.message}; ${this.spool.points} points spooled`);
    }
  }

  private markUp(): void {
    if (this.downSinceMs === undefined) return;
    const downMs = this.now() - this.downSinceMs;
    this.downSinceMs = undefined;
    this.log(`${this.name}: destination is back after ${Math.round(downMs / 1000)} s; ${this.spool.points} points spooled, replaying`);
  }

  /** Counts (as dropped) the points of spool files that could not be read back. */
  private countLostSpool(): void {
    const lost = this.spool.takeLost();
    if (lost === 0) return;
    this.dropped += lost;
    this.note(`dropped ${lost} spooled points whose spool file could not be read back`);
  }

  private async toSpool(payload: DeliveryPayload): Promise<void> {
    try {
      const { droppedPoints } = await this.spool.append(payload, this.inFlightSeq);
      if (droppedPoints > 0) {
        this.dropped += droppedPoints;
        this.note(`spool over its cap of ${this.options.spoolMaxBytes} bytes: dropped ${droppedPoints} oldest points`);
      }
    } catch (e) {
      this.dropped += payload.points;
      this.note(`could not spool ${payload.points} points: ${(e as Error).message}`);
    }
  }

  /** A destination's Retry-After (capped at retryMaxDelayMs) holds back every send until it passes. */
  private honourRetryAfter(err: DeliveryError): void {
    if (err.retryAfterMs === undefined) return;
    this.hardWaitUntilMs = Math.max(this.hardWaitUntilMs, Date.now() + Math.min(err.retryAfterMs, this.options.retryMaxDelayMs));
  }

  /**
   * Starts the replay loop if idle. With `now`, a backoff wait is cut short, so
   * each flush is also a retry of the backlog; a Retry-After is never cut short.
   */
  private kickReplay(now: boolean): void {
    if (now) {
      this.softWaitUntilMs = 0;
      this.wake?.();
    }
    if (this.replaying) return;
    this.replaying = this.replayLoop()
      .catch((e: Error) => this.note(`replay stopped: ${e.message}`))
      .finally(() => {
        this.replaying = undefined;
      });
  }

  private async replayLoop(): Promise<void> {
    while (!this.stopping) {
      const waitMs = Math.max(this.softWaitUntilMs, this.hardWaitUntilMs) - Date.now();
      if (waitMs > 0) {
        await this.interruptibleSleep(waitMs);
        continue;
      }
      const head = await this.spool.peek();
      this.countLostSpool();
      if (!head) {
        this.replayAttempt = 0;
        return;
      }
      this.inFlightSeq = head.seq;
      const err = await this.tryOnce(head.payload);
      this.inFlightSeq = undefined;
      if (!err || !err.retryable) {
        if (err) this.dropped += head.payload.points;
        await this.spool.remove(head.seq);
        this.replayAttempt = 0;
        continue;
      }
      this.honourRetryAfter(err);
      this.softWaitUntilMs = Date.now() + backoffDelayMs(this.policy(), this.replayAttempt++);
    }
  }

  /** Sleeps unless woken; returns at once when stopping (stop() takes over the spool). */
  private async interruptibleSleep(ms: number): Promise<void> {
    if (this.stopping) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      // The replay loop must not keep a process alive on its own.
      timer.unref();
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  /**
   * Waits for pending exports, then makes one bounded pass over the spool;
   * whatever is still undelivered stays on disk for the next process.
   */
  async stop(): Promise<void> {
    await this.exportChain;
    this.stopping = true;
    this.wake?.();
    await this.replaying;
    const deadline = Date.now() + this.options.stopBudgetMs;
    try {
      while (Date.now() < deadline && Date.now() >= this.hardWaitUntilMs) {
        const head = await this.spool.peek();
        this.countLostSpool();
        if (!head) break;
        const err = await this.tryOnce(head.payload);
        if (err && err.retryable) break;
        if (err) this.dropped += head.payload.points;
        await this.spool.remove(head.seq);
      }
    } catch (e) {
      this.note(`final replay stopped: ${(e as Error).message}`);
    }
    if (this.spool.size > 0) this.log(`${this.name}: ${this.spool.points} points left in spool ${this.options.spoolDir}`);
    await this.transport.close?.();
  }

  status(): SinkStatus {
    return { sent: this.sent, failed: this.failed, spooled: this.spool.points, dropped: this.dropped, lastError: this.lastError };
  }

  private policy(): { initialDelayMs: number; maxDelayMs: number } {
    return { initialDelayMs: this.options.retryInitialDelayMs, maxDelayMs: this.options.retryMaxDelayMs };
  }

  private note(message: string): void {
    const clean = this.redactor.redact(message);
    this.lastError = clean;
    this.log(`${this.name}: ${clean}`);
  }
}

/** How often a continuing outage is logged again. */
const DOWN_REMINDER_MS = 60_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
