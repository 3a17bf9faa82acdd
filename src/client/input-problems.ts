import { RateLimitedLog } from '../diagnostics.js';
import type { RecordBuffer } from './record-buffer.js';
import { describeValue } from './call-checks.js';

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
    // The app's own log function must not turn a diagnostic into an exception in the app.
    this.log = new RateLimitedLog((line) => {
      try {
        write(line);
      } catch {
        // Nowhere left to report it; the problem is still counted.
      }
    });
  }

  /** A value that is not a finite number. */
  badValue(name: string, value: unknown): void {
    this.buffer.invalid++;
    this.log.report('ZIB_ERR_INVALID_VALUE', `metric "${name}": value ${describeValue(value)} is not a finite number; record rejected`);
  }

  /** A record written to a handle made from invalid options (the options were reported when it was made). */
  rejectedHandle(): void {
    this.buffer.invalid++;
    this.log.report('ZIB_ERR_INVALID_ARGUMENT', 'a handle, scope or wrapper made from invalid options was used; record rejected');
  }

  /** A call whose options could not make a series (bad name, level, tags …). */
  badCall(reason: string): void {
    this.buffer.invalid++;
    this.log.report('ZIB_ERR_INVALID_NAME', `${reason}; record rejected`);
  }

  /** A call with a bad argument that is not a series' (a sample rate, a non-function to time, `ready(null)` …). */
  badArgument(reason: string): void {
    this.buffer.invalid++;
    this.log.report('ZIB_ERR_INVALID_ARGUMENT', `${reason}; call ignored`);
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
