import type { FlushBatch, Temporality } from '../sink.js';

/** One unit of delivery: what one request (or one TCP connection) carries. */
export interface DeliveryPayload {
  /** How many points it carries, for `status()` counts. */
  points: number;
  /** The bytes exactly as they go on the wire, so a spooled payload replays unchanged. */
  body: Buffer;
}

/** The result of encoding one flush. */
export interface EncodedBatch {
  payloads: DeliveryPayload[];
  /** Points the destination cannot take, each with the reason (logged, then counted as dropped). */
  rejected: { name: string; reason: string }[];
}

/**
 * The destination-specific half of a network sink: how to encode a flush and
 * how to send one payload. Retries, spooling, counting and redaction are the
 * same for every destination and live in {@link DeliveringSink}.
 */
export interface Transport {
  /** Sink kind, e.g. `graphite`. */
  readonly name: string;
  /** What its encoder wants (see `Sink.temporality`); default `delta`. */
  readonly temporality?: Temporality;
  /** See `Sink.cumulativeHistograms`. */
  readonly cumulativeHistograms?: boolean;
  /**
   * Encodes a flush. Must not throw for a bad point: fix it by the sink's
   * documented rule or list it in `rejected`.
   */
  encode(batch: FlushBatch): EncodedBatch;
  /** Sends one payload; throws a DeliveryError (or any error, taken as retryable). */
  send(payload: DeliveryPayload): Promise<void>;
  /** Releases sockets; called once by `stop()`. */
  close?(): Promise<void>;
}
