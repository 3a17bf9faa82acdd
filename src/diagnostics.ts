/**
 * Rate-limited diagnostics: the first occurrence of a problem is logged at
 * once, repeats of the same code within `intervalMs` are only counted and
 * summarised in the next line. Keeps a flood of bad input from flooding logs.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly intervalMs = 10_000,
  ) {}

  /** Logs `message` under `code` unless one was logged within the interval. */
  report(code: string, message: string): void {
    const now = Date.now();
    const seen = this.last.get(code);
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    const more = seen && seen.suppressed > 0 ? ` (${seen.suppressed} more like this since the last report)` : '';
    this.last.set(code, { at: now, suppressed: 0 });
    this.write(`${code}: ${message}${more}`);
  }
}

/** A logger writing timestamped lines to stderr, prefixed with the component name. */
export function stderrLogger(component: string): (line: string) => void {
  return (line) => process.stderr.write(`${new Date().toISOString()} [${component}] ${line}\n`);
}
