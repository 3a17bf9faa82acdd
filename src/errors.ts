/**
 * Every error Zibrato raises is a {@link ZibratoError} with a stable `code`.
 * The list of codes is documented in docs/errors.md; a test keeps the two in step.
 */
export const ERROR_CODES = {
  ZIB_ERR_INVALID_OPTION: 'A constructor or CLI option has a bad value.',
  ZIB_ERR_INVALID_CONFIG: 'A config file has a bad key or value; the message names the key.',
  ZIB_ERR_INVALID_SHARD: 'A backend shard (`--shard K/N`, config `shard`, env ZIBRATO_BACKEND_SHARD) is not K/N with 2 ≤ N ≤ 256 and 1 ≤ K ≤ N.',
  ZIB_ERR_INVALID_LEVEL: 'A level name is not one of debug, info, warn, error, crit.',
  ZIB_ERR_INVALID_NAME: 'A metric name is empty, too long, or not valid UTF-8 within 255 bytes.',
  ZIB_ERR_INVALID_VALUE: 'A value is NaN, Infinity or otherwise not a finite number.',
  ZIB_ERR_INVALID_ARGUMENT: 'A client call got an argument it cannot use (bad tags, sample rate, a non-function to time, a handle made from bad options).',
  ZIB_ERR_CLIENT_SOCKET: 'The client could not open its ZeroMQ socket (most often: too many clients in one process).',
  ZIB_ERR_MALFORMED_FRAME: 'A received message could not be decoded; the message says why.',
  ZIB_ERR_FRAME_TOO_LARGE: 'A received frame is larger than the configured maximum.',
  ZIB_ERR_UNKNOWN_SINK: 'A backend names a sink that does not exist.',
  ZIB_ERR_SINK_FAILED: 'A sink could not deliver a batch.',
  ZIB_ERR_SINK_REJECTED: 'A destination answered with a permanent (4xx) error; the batch will not be retried.',
  ZIB_ERR_STORE_DEPENDENCY_MISSING: 'The store backend needs an optional dependency (@duckdb/node-api) that is not installed.',
  ZIB_ERR_STORE_FAILED: 'The store database cannot be opened or written (corrupt, unwritable, locked); flushes are dropped and counted.',
  ZIB_ERR_BAD_QUERY: 'An HTTP API or `zibrato query` parameter is invalid; the message names the parameter.',
  ZIB_ERR_UNAUTHORIZED: 'An HTTP API request lacks the configured bearer token.',
  ZIB_ERR_TOKEN_REQUIRED: 'The store HTTP server was asked to listen on a non-loopback address without a token.',
  ZIB_ERR_ENDPOINT: 'An endpoint cannot be bound or connected (in use, bad address, unsupported transport); the message names the endpoint and the option.',
  ZIB_ERR_INSECURE_BIND: 'The broker was asked to bind an address other machines can reach without CURVE keys (and without --insecure).',
  ZIB_ERR_UNSAFE_PATH: 'A file or directory Zibrato would write is a symbolic link; it refuses to write through it.',
  ZIB_ERR_CHILD_FAILED: 'A process started by zibrato up exited with a code a restart cannot fix (2 or 3); up stops everything.',
} as const;

/** A stable error code, e.g. `ZIB_ERR_INVALID_OPTION`. */
export type ZibratoErrorCode = keyof typeof ERROR_CODES;

/** Base class of every error Zibrato raises or reports. */
export class ZibratoError extends Error {
  /** Stable machine-readable code, listed in docs/errors.md. */
  readonly code: ZibratoErrorCode;
  constructor(code: ZibratoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ZibratoError';
    this.code = code;
  }
}

/** A bad option or configuration value, raised at construction time (never on the hot path). */
export class InvalidOptionError extends ZibratoError {
  constructor(message: string, code: ZibratoErrorCode = 'ZIB_ERR_INVALID_OPTION') {
    super(code, message);
    this.name = 'InvalidOptionError';
  }
}

/** A message on the bus that could not be decoded. */
export class MalformedFrameError extends ZibratoError {
  constructor(message: string, code: ZibratoErrorCode = 'ZIB_ERR_MALFORMED_FRAME') {
    super(code, message);
    this.name = 'MalformedFrameError';
  }
}
