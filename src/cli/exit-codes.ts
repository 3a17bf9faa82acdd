import { CommanderError } from 'commander';
import { ZibratoError } from '../errors.js';

/**
 * Exit codes, the same for every subcommand (docs/errors.md lists them).
 * `zibrato up` reads them back from its children: 2 and 3 mean a restart
 * cannot help, so it stops instead of restarting forever.
 */
export const EXIT = {
  /** Done, or help/version shown. */
  ok: 0,
  /** A runtime failure: a record not delivered, a shutdown that failed, an unexpected error. */
  failed: 1,
  /** A usage or configuration error: a bad option, value, config file or sink name. */
  usage: 2,
  /** An endpoint or port cannot be used: in use, bad address, unsupported transport. */
  endpoint: 3,
  /** Stopped by a second SIGINT/SIGTERM before the orderly shutdown finished (128 + SIGINT). */
  interrupted: 130,
} as const;

/** Exit codes after which `zibrato up` does not restart a child. */
export const PERMANENT_EXIT_CODES: readonly number[] = [EXIT.usage, EXIT.endpoint];

/** The exit code for an error that ended a command. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (err instanceof ZibratoError) return err.code === 'ZIB_ERR_ENDPOINT' ? EXIT.endpoint : err.code === 'ZIB_ERR_SINK_FAILED' ? EXIT.failed : EXIT.usage;
  return EXIT.failed;
}
