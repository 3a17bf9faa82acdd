import { InvalidOptionError } from '../errors.js';
import { MAX_STRING_BYTES, MAX_TAGS, SERIES_FLAG_DESCRIBED, SERIES_FLAG_SAMPLED, type MetricKind } from './constants.js';

/** Tags of a series: string keys to string values. */
export type Tags = Readonly<Record<string, string>>;

/** What a series says about itself, sent once per series per batch (wire version 3). */
export interface SeriesMetadata {
  /** Free text, at most 255 bytes: Prometheus `# HELP`, OTLP `description`. */
  description?: string;
  /** The unit of the values, e.g. `seconds`, `bytes`, `ratio` (at most 255 bytes): Prometheus name suffix, OTLP `unit`. */
  unit?: string;
}

/** Why a series could not be encoded; `null` when it is fine. */
export function validateSeriesName(name: unknown): string | null {
  if (typeof name !== 'string') return 'name must be a string';
  if (name.length === 0) return 'name is empty';
  if (Buffer.byteLength(name) > MAX_STRING_BYTES) return `name "${name.slice(0, 40)}…" is longer than ${MAX_STRING_BYTES} bytes`;
  return null;
}

function writeShortString(out: number[], s: string, what: string): void {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length > MAX_STRING_BYTES) throw new InvalidOptionError(`${what} is longer than ${MAX_STRING_BYTES} bytes`, 'ZIB_ERR_INVALID_NAME');
  out.push(bytes.length);
  for (const b of bytes) out.push(b);
}

/**
 * Encodes one series table entry (type, flags, name, source, tags) once, so the
 * hot path only copies these bytes into a batch the first time a series is used
 * in it. Tags are written sorted by key, so equal tag sets encode equally.
 * Throws a coded error when a string is empty or too long.
 */
export function encodeSeries(kind: MetricKind, name: string, source: string, tags: Tags | undefined, sampleRate = 1, metadata?: SeriesMetadata): Uint8Array {
  return Uint8Array.from(encodeEntry(kind, name, source, tags, sampleRate, metadata, undefined).out);
}

/**
 * A series entry with one tag's value left out: the bytes before the value's
 * length byte and those after the value. `prefix`, the length byte, the
 * value's UTF-8 bytes and `suffix`, in that order, are {@link encodeSeries}'s
 * bytes for `tags` with that value, whatever it is: the client writes a
 * series of a tag with thousands of values (a user id) into a batch from these
 * and the value, without a handle per value (client/wide-tag-handle.ts).
 * `tags` must hold `key`; its value there is ignored.
 */
export function encodeSeriesTemplate(kind: MetricKind, name: string, source: string, tags: Tags, key: string, sampleRate = 1, metadata?: SeriesMetadata): { prefix: Uint8Array; suffix: Uint8Array } {
  const { out, at } = encodeEntry(kind, name, source, { ...tags, [key]: '' }, sampleRate, metadata, key);
  // The empty value is its length byte alone.
  return { prefix: Uint8Array.from(out.slice(0, at)), suffix: Uint8Array.from(out.slice(at + 1)) };
}

/** The entry's bytes, and where the value of tag `spliced` starts in them (its length byte; -1 without one). */
function encodeEntry(kind: MetricKind, name: string, source: string, tags: Tags | undefined, sampleRate: number, metadata: SeriesMetadata | undefined, spliced: string | undefined): { out: number[]; at: number } {
  const problem = validateSeriesName(name);
  if (problem) throw new InvalidOptionError(problem, 'ZIB_ERR_INVALID_NAME');
  const description = metadata?.description ?? '';
  const unit = metadata?.unit ?? '';
  if (typeof description !== 'string') throw new InvalidOptionError('description must be a string', 'ZIB_ERR_INVALID_NAME');
  if (typeof unit !== 'string') throw new InvalidOptionError('unit must be a string', 'ZIB_ERR_INVALID_NAME');
  const described = description !== '' || unit !== '';
  const out: number[] = [kind, (sampleRate < 1 ? SERIES_FLAG_SAMPLED : 0) | (described ? SERIES_FLAG_DESCRIBED : 0)];
  if (sampleRate < 1) {
    if (!(sampleRate > 0)) throw new InvalidOptionError(`sample rate ${sampleRate} must be in (0, 1]`, 'ZIB_ERR_INVALID_VALUE');
    const f = Buffer.alloc(8);
    f.writeDoubleLE(sampleRate, 0);
    for (const b of f) out.push(b);
  }
  writeShortString(out, name, 'name');
  writeShortString(out, source, 'source');
  const keys = tags ? Object.keys(tags).sort() : [];
  if (keys.length > MAX_TAGS) throw new InvalidOptionError(`a series may carry at most ${MAX_TAGS} tags, got ${keys.length}`, 'ZIB_ERR_INVALID_NAME');
  out.push(keys.length);
  let at = -1;
  for (const k of keys) {
    if (k.length === 0) throw new InvalidOptionError('a tag key is empty', 'ZIB_ERR_INVALID_NAME');
    writeShortString(out, k, `tag key "${k.slice(0, 40)}"`);
    if (k === spliced) at = out.length;
    writeShortString(out, String(tags![k]), `tag "${k.slice(0, 40)}" value`);
  }
  if (described) {
    writeShortString(out, description, 'description');
    writeShortString(out, unit, 'unit');
  }
  return { out, at };
}
