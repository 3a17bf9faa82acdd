import { ZibratoError } from '../../errors.js';

/**
 * Why one delivery attempt failed, and whether trying again can help.
 * Transports throw it; {@link DeliveringSink} decides between retry, spool and drop.
 */
export class DeliveryError extends ZibratoError {
  /** True for network errors, 5xx and 429: the same payload may succeed later. */
  readonly retryable: boolean;
  /** From a `Retry-After` header: do not try again before this many ms. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, opts: { retryable: boolean; retryAfterMs?: number; cause?: unknown }) {
    super(opts.retryable ? 'ZIB_ERR_SINK_FAILED' : 'ZIB_ERR_SINK_REJECTED', message, { cause: opts.cause });
    this.name = 'DeliveryError';
    this.retryable = opts.retryable;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Any thrown value as a DeliveryError; unknown errors (sockets, DNS) count as retryable. */
export function asDeliveryError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DeliveryError(message, { retryable: true, cause: err });
}
