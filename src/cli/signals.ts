import { STOP_MESSAGE, SUPERVISED_ENV } from '../supervisor/supervisor.js';

/** Options of {@link onShutdown}. */
export interface ShutdownOptions {
  /** Called on a second signal while stopping, just before the process exits (e.g. `up` kills its children). */
  onInsist?: () => void;
}

/**
 * Runs `stop` once on the first SIGINT or SIGTERM, then exits. A second
 * signal while stopping exits at once (the user insisted).
 *
 * Under `zibrato up` (see {@link SUPERVISED_ENV}) signals are ignored and the
 * process stops when `up` says so over its IPC channel, or when that channel
 * closes (`up` went away). A terminal's Ctrl-C reaches the whole process
 * group and systemd's SIGTERM every process of the service: if the children
 * acted on those, backends could stop while the broker still forwards, and
 * `up`'s own stop would arrive as a "second signal" that skips the final
 * flush. `up` stops them in order instead: gateways, the broker (which drains
 * its publishers), then backends.
 */
export function onShutdown(stop: (reason: string) => Promise<void>, log: (line: string) => void, options: ShutdownOptions = {}): void {
  let stopping = false;
  const supervised = process.env[SUPERVISED_ENV] === '1' && typeof process.send === 'function';
  const handler = (reason: string) => {
    if (stopping && supervised) return;
    if (stopping) {
      log(`${reason} again: exiting now`);
      options.onInsist?.();
      process.exit(130);
    }
    stopping = true;
    log(`${reason}: shutting down`);
    stop(reason).then(
      () => process.exit(0),
      (err: unknown) => {
        log(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  if (supervised) {
    const ignore = (signal: NodeJS.Signals) => {
      if (!stopping) log(`${signal}: ignored; zibrato up stops this process in order`);
    };
    process.on('SIGINT', ignore);
    process.on('SIGTERM', ignore);
    process.on('message', (m: unknown) => {
      if (m === STOP_MESSAGE) handler('stop from zibrato up');
    });
    process.on('disconnect', () => handler('zibrato up went away'));
    // Once up is gone, so is the other end of our stdout/stderr: a log line
    // would fail with EPIPE and, unhandled, crash the process before its final flush.
    process.stdout.on('error', () => undefined);
    process.stderr.on('error', () => undefined);
    // The channel must not keep a process alive that has nothing else to do.
    process.channel?.unref();
    return;
  }
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
