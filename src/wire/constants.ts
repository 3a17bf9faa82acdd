/** Wire format constants. The byte layout is specified in docs/wire-format.md. */

/** Version byte of the native batch format writers produce (2: publisher id and sequence in the header). */
export const WIRE_VERSION = 2;
/**
 * Version written only for a batch that declares a described series (series
 * flag bit 1: description and unit follow the tags). The header is version 2's;
 * a batch without one stays version 2, so receivers that speak only 1 and 2
 * keep working with apps that describe nothing.
 */
export const WIRE_VERSION_DESCRIBED = 3;
/** The first version, still accepted by receivers (no publisher id, no sequence). */
export const WIRE_VERSION_1 = 1;
/** Size of the version 1 batch header in bytes. */
export const HEADER_BYTES_V1 = 16;
/** Size of the version 2 batch header in bytes: the version 1 fields, then publisher id (8 bytes) and sequence (u64). */
export const HEADER_BYTES = 32;
/** Offset of the 8-byte publisher id in a version 2 header. */
export const PUBLISHER_ID_OFFSET = 16;
/** Bytes of the publisher id. */
export const PUBLISHER_ID_BYTES = 8;
/** Offset of the u64 sequence in a version 2 header: records the publisher sent on this topic before this batch. */
export const SEQUENCE_OFFSET = 24;
/** Sequences are JavaScript numbers on both sides: above 2^53 they would not be exact, so receivers reject them. */
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;
/**
 * Largest ZeroMQ frame the broker (upstream) and backends accept
 * (`maxMessageSize`): libzmq disconnects a peer that sends a bigger one
 * before buffering it, so one huge message cannot grow a process.
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Size of one record (u16 series index + f64 value). */
export const RECORD_BYTES = 10;
/** Longest name, source, tag key or tag value, in UTF-8 bytes (each is length-prefixed by one byte). */
export const MAX_STRING_BYTES = 255;
/** Most tags one series may carry. */
export const MAX_TAGS = 64;
/** Most series one batch may declare (the record's series index is a u16). */
export const MAX_SERIES_PER_BATCH = 65_535;
/**
 * Default largest frame a receiver decodes; a larger one is counted as invalid and skipped. With
 * the sockets' `maxMessageSize` at the same size, libzmq cuts off a peer that sends a bigger frame
 * before any receiver sees it (the broker does so for a publisher: that batch's records then show as
 * a sequence gap, counted lost, at the publisher's next batch: test/broker/oversize.test.ts). So this check guards a receiver
 * given a smaller limit, and frames that reach it some other way.
 */
export const DEFAULT_MAX_FRAME_BYTES = MAX_MESSAGE_BYTES;

/** Record types as they appear on the wire. */
export const MetricKind = {
  counter: 1,
  gauge: 2,
  timer: 3,
  set: 4,
  /** A gauge change (StatsD `+N`/`-N`): added to the gauge's last value. */
  gaugeDelta: 5,
} as const;
export type MetricKind = (typeof MetricKind)[keyof typeof MetricKind];

/** Series flag: an f64 sample rate (0 < rate ≤ 1) follows the flags byte. */
export const SERIES_FLAG_SAMPLED = 1;
/** Series flag (version 3 batches): a description and a unit (u8 length + UTF-8 each, 0–255 bytes) follow the tags. */
export const SERIES_FLAG_DESCRIBED = 2;

/** Name of each kind, indexed by wire code. */
export const KIND_NAMES: readonly string[] = ['', 'counter', 'gauge', 'timer', 'set', 'gaugeDelta'];
