import { MalformedFrameError } from '../errors.js';
import { HEADER_BYTES, HEADER_BYTES_V1, MAX_SEQUENCE, MAX_TAGS, MetricKind, PUBLISHER_ID_BYTES, PUBLISHER_ID_OFFSET, RECORD_BYTES, SEQUENCE_OFFSET, SERIES_FLAG_DESCRIBED, SERIES_FLAG_SAMPLED, WIRE_VERSION, WIRE_VERSION_1, WIRE_VERSION_DESCRIBED } from './constants.js';
import type { Tags } from './series-encoding.js';

/** One series declared in a batch's table. */
export interface WireSeries {
  kind: MetricKind;
  name: string;
  source: string;
  tags: Tags;
  /** 1 unless the sender sampled (StatsD `@rate`); receivers scale by `1 / sampleRate`. */
  sampleRate: number;
  /** Version 3, series flag bit 1: what the series says about itself; absent otherwise. */
  description?: string;
  /** Version 3, series flag bit 1: the unit of its values (`seconds`, `bytes` …); absent otherwise. */
  unit?: string;
}

/** A decoded native batch. Records stay in the frame and are read with {@link recordSeries}/{@link recordValue}. */
export interface DecodedBatch {
  /** 1, 2 or 3 (2 with described series). */
  version: number;
  sentAtMs: number;
  /** The publisher id in hex (16 characters); `''` for version 1, which has none. */
  publisherId: string;
  /** Records the publisher sent on this topic before this batch; -1 for version 1. */
  sequence: number;
  series: WireSeries[];
  recordCount: number;
  /** @internal */ view: DataView;
  /** @internal */ recordsOffset: number;
}

/** Series index of record `i`. */
export function recordSeries(batch: DecodedBatch, i: number): number {
  return batch.view.getUint16(batch.recordsOffset + i * RECORD_BYTES, true);
}

/** Value of record `i`. */
export function recordValue(batch: DecodedBatch, i: number): number {
  return batch.view.getFloat64(batch.recordsOffset + i * RECORD_BYTES + 2, true);
}

// ignoreBOM: a string that starts with U+FEFF keeps it (by default the decoder strips it, so a tag key "\uFEFF" became "").
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Reader {
  offset: number;
  constructor(readonly view: DataView, readonly bytes: Uint8Array, offset: number) {
    this.offset = offset;
  }
  need(n: number, what: string): void {
    if (this.offset + n > this.bytes.length) throw new MalformedFrameError(`truncated batch: ${what} runs past the end of the frame (offset ${this.offset}, frame ${this.bytes.length} bytes)`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.offset++]!;
  }
  f64(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return v;
  }
  str(what: string): string {
    const len = this.u8(`${what} length`);
    this.need(len, what);
    let s: string;
    try {
      s = utf8.decode(this.bytes.subarray(this.offset, this.offset + len));
    } catch {
      throw new MalformedFrameError(`${what} is not valid UTF-8`);
    }
    this.offset += len;
    return s;
  }
}

/**
 * Decodes a native batch frame, validating every field. Throws
 * {@link MalformedFrameError} naming the first problem found.
 */
export function decodeBatch(frame: Uint8Array): DecodedBatch {
  if (frame.length < HEADER_BYTES_V1) throw new MalformedFrameError(`frame of ${frame.length} bytes is shorter than the ${HEADER_BYTES_V1}-byte batch header`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const version = frame[0]!;
  if (version !== WIRE_VERSION && version !== WIRE_VERSION_1 && version !== WIRE_VERSION_DESCRIBED) {
    throw new MalformedFrameError(`unsupported wire version ${version} (this receiver speaks versions ${WIRE_VERSION_1} to ${WIRE_VERSION_DESCRIBED})`);
  }
  const seriesCount = view.getUint16(2, true);
  const recordCount = view.getUint32(4, true);
  const sentAtMs = view.getFloat64(8, true);
  if (!Number.isFinite(sentAtMs)) throw new MalformedFrameError('batch timestamp is not a finite number');
  let publisherId = '';
  let sequence = -1;
  let headerBytes = HEADER_BYTES_V1;
  if (version !== WIRE_VERSION_1) {
    if (frame.length < HEADER_BYTES) throw new MalformedFrameError(`version ${version} frame of ${frame.length} bytes is shorter than the ${HEADER_BYTES}-byte version 2 header`);
    headerBytes = HEADER_BYTES;
    publisherId = Buffer.from(frame.buffer, frame.byteOffset + PUBLISHER_ID_OFFSET, PUBLISHER_ID_BYTES).toString('hex');
    sequence = view.getUint32(SEQUENCE_OFFSET, true) + view.getUint32(SEQUENCE_OFFSET + 4, true) * 0x1_0000_0000;
    if (sequence > MAX_SEQUENCE) throw new MalformedFrameError(`batch sequence ${sequence} is above 2^53 - 1`);
  }
  const r = new Reader(view, frame, headerBytes);
  const series: WireSeries[] = new Array(seriesCount);
  for (let s = 0; s < seriesCount; s++) {
    const kind = r.u8(`series ${s} type`);
    if (kind < MetricKind.counter || kind > MetricKind.gaugeDelta) throw new MalformedFrameError(`series ${s} has unknown type ${kind}`);
    const flags = r.u8(`series ${s} flags`);
    let sampleRate = 1;
    if (flags & SERIES_FLAG_SAMPLED) {
      sampleRate = r.f64(`series ${s} sample rate`);
      if (!(sampleRate > 0 && sampleRate <= 1)) throw new MalformedFrameError(`series ${s} has sample rate ${sampleRate}, outside (0, 1]`);
    }
    const name = r.str(`series ${s} name`);
    if (name.length === 0) throw new MalformedFrameError(`series ${s} has an empty name`);
    const source = r.str(`series ${s} source`);
    const tagCount = r.u8(`series ${s} tag count`);
    if (tagCount > MAX_TAGS) throw new MalformedFrameError(`series ${s} has ${tagCount} tags; at most ${MAX_TAGS} are allowed`);
    const tags: Record<string, string> = {};
    for (let t = 0; t < tagCount; t++) {
      const k = r.str(`series ${s} tag ${t} key`);
      if (k.length === 0) throw new MalformedFrameError(`series ${s} tag ${t} has an empty key`);
      const v = r.str(`series ${s} tag ${t} value`);
      // `tags.__proto__ = v` would set the prototype (a no-op for a string) and lose the tag (found by npm run fuzz).
      if (k === '__proto__') Object.defineProperty(tags, k, { value: v, enumerable: true, writable: true, configurable: true });
      else tags[k] = v;
    }
    const ws: WireSeries = { kind: kind as MetricKind, name, source, tags, sampleRate };
    // Bit 1 means something only in version 3: earlier versions ignored it, and a version 2 frame with it set has no metadata.
    if (version === WIRE_VERSION_DESCRIBED && (flags & SERIES_FLAG_DESCRIBED) !== 0) {
      const description = r.str(`series ${s} description`);
      const unit = r.str(`series ${s} unit`);
      if (description !== '') ws.description = description;
      if (unit !== '') ws.unit = unit;
    }
    series[s] = ws;
  }
  const recordsOffset = r.offset;
  const expected = recordsOffset + recordCount * RECORD_BYTES;
  if (expected !== frame.length) {
    throw new MalformedFrameError(`batch declares ${recordCount} records (${recordCount * RECORD_BYTES} bytes) but ${frame.length - recordsOffset} bytes follow the series table`);
  }
  for (let i = 0; i < recordCount; i++) {
    const idx = view.getUint16(recordsOffset + i * RECORD_BYTES, true);
    if (idx >= seriesCount) throw new MalformedFrameError(`record ${i} refers to series ${idx}, but the batch declares ${seriesCount}`);
    const v = view.getFloat64(recordsOffset + i * RECORD_BYTES + 2, true);
    if (!Number.isFinite(v)) throw new MalformedFrameError(`record ${i} (${series[idx]!.name}) has a non-finite value`);
  }
  return { version, sentAtMs, publisherId, sequence, series, recordCount, view, recordsOffset };
}
