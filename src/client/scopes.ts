import { elapsedMs } from './clock.js';
import type { SeriesHandle } from './series-handle.js';

/** A running timer (started at a reading of clock.ts `now()`): records the elapsed milliseconds when disposed (`using`) or stopped. */
export class TimerScope implements Disposable {
  private done = false;
  constructor(
    private readonly handle: SeriesHandle,
    private readonly startNs: bigint,
  ) {}

  /** Records the elapsed time once and returns it in ms. Later calls return the time since the start without recording again. */
  stop(): number {
    const elapsed = elapsedMs(this.startNs);
    if (!this.done) {
      this.done = true;
      this.handle.write(elapsed);
    }
    return elapsed;
  }

  [Symbol.dispose](): void {
    this.stop();
  }
}

/** Counts once when disposed (`using`), on normal exit or exception alike. */
export class CounterScope implements Disposable {
  private done = false;
  constructor(
    private readonly handle: SeriesHandle,
    private readonly value: number,
  ) {}

  [Symbol.dispose](): void {
    if (this.done) return;
    this.done = true;
    this.handle.write(this.value);
  }
}
