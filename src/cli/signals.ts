/**
 * Set by `zibrato up` in each child's environment. A terminal's Ctrl-C sends
 * SIGINT to the whole foreground process group, children included; `up` then
 * sends each child SIGTERM in stop order. If the children also acted on the
 * terminal's SIGINT, `up`'s SIGTERM would arrive as a "second signal" and the
 * backend would exit without its final flush. So a supervised child ignores
 * SIGINT and stops on SIGTERM only, when its supervisor says so.
 */
export const SUPERVISED_ENV = 'ZIBRATO_SUPERVISED';

/** Options of {@link onShutdown}. */
export interface ShutdownOptions {
  /** Called on a second signal while stopping, just before the process exits (e.g. `up` stops its children at once). */
  onInsist?: () => void;
}

/**
 * Runs `stop` once on the first SIGINT or SIGTERM, then exits. A second
 * signal while stopping exits at once (the user insisted). Under `zibrato up`
 * (see {@link SUPERVISED_ENV}) SIGINT is ignored: the supervisor's SIGTERM is
 * the one that counts.
 */
export function onShutdown(stop: (signal: string) => Promise<void>, log: (line: string) => void, options: ShutdownOptions = {}): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      options.onInsist?.();
      process.exit(130);
    }
    stopping = true;
    log(`${signal}: shutting down`);
    stop(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        log(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  if (process.env[SUPERVISED_ENV] === '1') process.on('SIGINT', () => {});
  else process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
