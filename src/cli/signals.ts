/**
 * Set by `zibrato up` in each child's environment. A terminal's Ctrl-C sends
 * SIGINT to the whole foreground process group, children included, and
 * systemd sends SIGTERM to every process of a service; `up` then sends each
 * child SIGTERM in stop order. If that SIGTERM counted as a "second signal",
 * the backend would exit without its final flush. So a supervised child
 * ignores SIGINT, stops on the first SIGTERM, and ignores any further one:
 * insisting is `up`'s business (it kills its children on a second Ctrl-C).
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
 * (see {@link SUPERVISED_ENV}) SIGINT and repeated signals are ignored: the
 * first SIGTERM, whoever sends it, starts the one orderly stop.
 */
export function onShutdown(stop: (signal: string) => Promise<void>, log: (line: string) => void, options: ShutdownOptions = {}): void {
  let stopping = false;
  const supervised = process.env[SUPERVISED_ENV] === '1';
  const handler = (signal: NodeJS.Signals) => {
    if (stopping && supervised) {
      log(`${signal} again: already stopping`);
      return;
    }
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
  if (supervised) process.on('SIGINT', () => {});
  else process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
