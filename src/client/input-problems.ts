import { RateLimitedLog } from '../diagnostics.js';
import type { RecordBuffer } from './record-buffer.js';

/**
 * Counts and reports bad input on the hot path: never an exception, one
 * rate-limited diagnostic per kind of problem naming it.
 */
export class InputProblems {
  private readonly log: RateLimitedLog;

  constructor(
    private readonly buffer: RecordBuffer,
    write: (line: string) => void,
  ) {
    this.log = new RateLimitedLog(write);
  }

  /** A value that is not a finite number. */
  badValue(name: string, value: unknown): void {
    this.buffer.invalid++;
    this.log.report('ZIB_ERR_INVALID_VALUE', `metric "${name}": value ${String(value)} is not a finite number; record rejected`);
  }

  /** A call whose options could not make a series (bad name, level, tags …). */
  badCall(reason: string): void {
    this.buffer.invalid++;
    this.log.report('ZIB_ERR_INVALID_NAME', `${reason}; record rejected`);
  }

  /** The buffer is full. */
  overflow(): void {
    this.log.report('ZIB_DROPPED', `buffer full (${this.buffer.maxBufferedRecords} records): the broker is slow or away; records are dropped and counted (dropped=${this.buffer.dropped})`);
  }

  /** A free-form warning (rate-limited by code). */
  warn(code: string, message: string): void {
    this.log.report(code, message);
  }
}
