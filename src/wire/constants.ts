/** Wire format constants. The byte layout is specified in docs/wire-format.md. */

/** Version byte of the native batch format. */
export const WIRE_VERSION = 1;
/** Size of the fixed batch header in bytes. */
export const HEADER_BYTES = 16;
/** Size of one record (u16 series index + f64 value). */
export const RECORD_BYTES = 10;
/** Longest name, source, tag key or tag value, in UTF-8 bytes (each is length-prefixed by one byte). */
export const MAX_STRING_BYTES = 255;
/** Most tags one series may carry. */
export const MAX_TAGS = 64;
/** Most series one batch may declare (the record's series index is a u16). */
export const MAX_SERIES_PER_BATCH = 65_535;
/** Default largest frame a receiver accepts; larger frames are counted as invalid and skipped. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

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

/** Name of each kind, indexed by wire code. */
export const KIND_NAMES: readonly string[] = ['', 'counter', 'gauge', 'timer', 'set', 'gaugeDelta'];
