import { InvalidOptionError } from '../errors.js';
import { DEFAULT_LEVEL, isLevel, type Level } from '../levels.js';
import { DEFAULT_CLIENT_FLUSH_INTERVAL_MS, DEFAULT_PUBLISH_ENDPOINT } from '../defaults.js';
import type { Tags } from '../wire/series-encoding.js';
import { checkTags, describeValue } from './call-checks.js';
import { checkClientKeys, resolveClientKeys, type CurveClientKeys } from '../security/keys.js';

/**
 * Largest `batchBytes`: receivers skip frames over 4 MiB (`DEFAULT_MAX_FRAME_BYTES`),
 * and a batch carries its series table beside the records, so records get at most 1 MiB.
 */
export const MAX_BATCH_BYTES = 1024 * 1024;
/** Longest flush interval: Node timers fire at once past 2^31 − 1 ms; an hour is already far past any use. */
const MAX_FLUSH_INTERVAL_MS = 3_600_000;

/** Options of the {@link Zibrato} client. */
export interface ZibratoOptions {
  /** The broker's publisher endpoint. Default `tcp://127.0.0.1:5550`. */
  broker?: string;
  /** Source attached to every record unless a call names its own. Default none. */
  source?: string;
  /** Default level of calls that name none. Default `info`. */
  level?: Level;
  /**
   * Tags on every record; a call's tags are merged over them. At most 64 keys,
   * keys and values at most 255 bytes; values are strings (finite numbers and
   * booleans are sent as their string form).
   */
  tags?: Tags;
  /**
   * How long records may wait before their batch is sent. Default 250 ms
   * ({@link DEFAULT_CLIENT_FLUSH_INTERVAL_MS}); a batch that fills up (`batchBytes`)
   * is sent at once. `flush()` sends now.
   */
  flushIntervalMs?: number;
  /** Most records held in memory while the broker is slow or away; past it records are dropped and counted. Default 1,000,000. */
  maxBufferedRecords?: number;
  /** Bytes of records per batch (one ZeroMQ message), 256 to 1 MiB. Default 64 KiB (≈ 6,500 records). */
  batchBytes?: number;
  /** Where diagnostics go (rate-limited). Default: stderr. */
  log?: (line: string) => void;
  /**
   * How often the client reads its observable gauges and default metrics, and
   * reports its own counts (`zibrato.client.*`). 100 ms to 1 hour. Default 1 s:
   * well under a backend's flush interval (10 s by default), so each flush holds a fresh reading.
   */
  collectIntervalMs?: number;
  /**
   * CURVE keys (Z85) for a broker that requires them (docs/security.md):
   * the broker's public key and this app's key pair. Default: from the
   * environment (`ZIBRATO_CURVE_*`), else none (plain ZeroMQ).
   */
  curve?: CurveClientKeys;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  broker: string;
  source: string;
  level: Level;
  tags: Tags;
  flushIntervalMs: number;
  maxBufferedRecords: number;
  batchBytes: number;
  log: (line: string) => void;
  collectIntervalMs: number;
  curve: CurveClientKeys | undefined;
}

function boundedInt(name: string, v: unknown, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new InvalidOptionError(`option ${name} must be an integer from ${min} to ${max}, got ${describeValue(v)}`);
  return v;
}

/** Validates constructor options; a bad one throws {@link InvalidOptionError} at once. */
export function resolveOptions(o: ZibratoOptions = {}): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw new InvalidOptionError('options must be an object');
  const broker = o.broker ?? DEFAULT_PUBLISH_ENDPOINT;
  if (typeof broker !== 'string' || !/^(tcp|ipc|inproc|pgm|epgm|ws|wss):\/\/.+/.test(broker)) {
    throw new InvalidOptionError(`option broker must be a ZeroMQ endpoint such as tcp://127.0.0.1:5550 or ipc:///tmp/zibrato.pub, got ${describeValue(broker)}`);
  }
  if (o.source !== undefined && (typeof o.source !== 'string' || Buffer.byteLength(o.source) > 255)) throw new InvalidOptionError('option source must be a string of at most 255 bytes');
  if (o.level !== undefined && !isLevel(o.level)) throw new InvalidOptionError(`option level must be one of debug, info, warn, error, crit, got ${describeValue(o.level)}`, 'ZIB_ERR_INVALID_LEVEL');
  // Checked here, not at the first record: a bad global tag would otherwise fail every series, the client's own included.
  const tags = checkTags(o.tags, 'option tags');
  if (tags.problem !== undefined) throw new InvalidOptionError(tags.problem);
  if (o.log !== undefined && typeof o.log !== 'function') throw new InvalidOptionError('option log must be a function');
  return {
    broker,
    source: o.source ?? '',
    level: o.level ?? DEFAULT_LEVEL,
    tags: tags.tags ?? {},
    flushIntervalMs: boundedInt('flushIntervalMs', o.flushIntervalMs, DEFAULT_CLIENT_FLUSH_INTERVAL_MS, 0, MAX_FLUSH_INTERVAL_MS),
    maxBufferedRecords: boundedInt('maxBufferedRecords', o.maxBufferedRecords, 1_000_000, 1, Number.MAX_SAFE_INTEGER),
    batchBytes: boundedInt('batchBytes', o.batchBytes, 64 * 1024, 256, MAX_BATCH_BYTES),
    log: o.log ?? ((line: string) => process.stderr.write(`[zibrato] ${line}\n`)),
    collectIntervalMs: boundedInt('collectIntervalMs', o.collectIntervalMs, 1000, 100, MAX_FLUSH_INTERVAL_MS),
    curve: o.curve !== undefined ? checkClientKeys(o.curve, 'option curve') : resolveClientKeys(),
  };
}
