import { DDSketch } from '@datadog/sketches-js';
import { ZibratoError } from '../errors.js';
import { EXP_HISTOGRAM_MAX_SCALE, type ExpBuckets } from '../backend/aggregators/exp-histogram.js';
import { TimerSketch } from '../backend/aggregators/timer-aggregator.js';

/**
 * A compact binary form of a timer's sketch for the store: only non-empty
 * buckets (12 bytes each), so 100,000 series can be stored per flush.
 *
 * Version 2 (the base-2 exponential histogram, {@link TimerSketch}),
 * little-endian: u8 version (2), i8 scale, f64 zeroThreshold, f64 zeroCount,
 * f64 count, then for the positive and the negative buckets: u32 number of
 * buckets, then per bucket i32 index, f64 count (indices ascending).
 *
 * Version 1 (written before timers used exponential histograms: a DDSketch of
 * relative accuracy 0.005): u8 version (1), f64 relativeAccuracy, f64
 * zeroCount, f64 count, f64 min, f64 max, f64 sum, then per store u32 bins,
 * then per bin i32 key, f64 count. It is still read: each bin's value (within
 * 0.5 %) is re-bucketed into a {@link TimerSketch} (another 0.27 %), so rows
 * on disk keep answering within 1 % and merge with new ones. Rollups write
 * version 2.
 */
const VERSION = 2;
const LEGACY_VERSION = 1;
const HEADER_BYTES = 1 + 1 + 3 * 8;
const LEGACY_HEADER_BYTES = 1 + 6 * 8;

function writeBuckets(buf: Buffer, at: number, buckets: ExpBuckets, n: number): number {
  buf.writeUInt32LE(n, at);
  at += 4;
  for (const [index, count] of buckets.entries()) {
    buf.writeInt32LE(index, at);
    buf.writeDoubleLE(count, at + 4);
    at += 12;
  }
  return at;
}

function nonEmpty(buckets: ExpBuckets): number {
  let n = 0;
  for (const c of buckets.counts) if (c > 0) n++;
  return n;
}

/** Serializes a sketch (version 2, see the layout above). */
export function encodeSketch(s: TimerSketch): Uint8Array {
  const np = nonEmpty(s.positive);
  const nn = nonEmpty(s.negative);
  const buf = Buffer.allocUnsafe(HEADER_BYTES + 8 + 12 * (np + nn));
  buf.writeUInt8(VERSION, 0);
  buf.writeInt8(s.scale, 1);
  buf.writeDoubleLE(s.zeroThreshold, 2);
  buf.writeDoubleLE(s.zeroCount, 10);
  buf.writeDoubleLE(s.count, 18);
  const at = writeBuckets(buf, HEADER_BYTES, s.positive, np);
  writeBuckets(buf, at, s.negative, nn);
  return buf;
}

function readBuckets(buf: Buffer, at: number, buckets: ExpBuckets): number {
  const n = buf.readUInt32LE(at);
  at += 4;
  if (at + 12 * n > buf.length) throw new Error('truncated');
  let previous = -Infinity;
  for (let i = 0; i < n; i++, at += 12) {
    const index = buf.readInt32LE(at);
    const count = buf.readDoubleLE(at + 4);
    if (index <= previous || !(count > 0) || !Number.isFinite(count)) throw new Error('bad bucket');
    buckets.add(index, count);
    previous = index;
  }
  return at;
}

function decodeV2(buf: Buffer): TimerSketch {
  const scale = buf.readInt8(1);
  // Below -10 one bucket spans a factor of 2^1024: no histogram this code writes gets there.
  if (scale > EXP_HISTOGRAM_MAX_SCALE || scale < -10) throw new Error(`unexpected scale ${scale}`);
  const s = new TimerSketch(scale);
  if (buf.readDoubleLE(2) !== s.zeroThreshold) throw new Error(`unexpected zero threshold ${buf.readDoubleLE(2)}`);
  const at = readBuckets(buf, HEADER_BYTES, s.positive);
  if (readBuckets(buf, at, s.negative) !== buf.length) throw new Error('trailing bytes');
  s.zeroCount = buf.readDoubleLE(10);
  s.count = buf.readDoubleLE(18);
  if (!(s.zeroCount >= 0 && s.count >= 0 && Number.isFinite(s.count))) throw new Error('bad counts');
  return s;
}

interface LegacyBins {
  bins: number[];
  offset: number;
  minKey: number;
  maxKey: number;
  add(key: number, weight?: number): void;
}

/** Re-buckets a version-1 DDSketch: each bin's representative value (ms) with its count. */
function decodeV1(buf: Buffer): TimerSketch {
  const d = new DDSketch({ relativeAccuracy: buf.readDoubleLE(1) });
  const readStore = (at: number, store: LegacyBins): number => {
    const n = buf.readUInt32LE(at);
    at += 4;
    for (let i = 0; i < n; i++, at += 12) store.add(buf.readInt32LE(at), buf.readDoubleLE(at + 4));
    return at;
  };
  const pos = d.store as unknown as LegacyBins;
  const neg = d.negativeStore as unknown as LegacyBins;
  readStore(readStore(LEGACY_HEADER_BYTES, pos), neg);
  const s = new TimerSketch();
  for (const [store, sign] of [[pos, 1], [neg, -1]] as const) {
    for (let k = store.minKey; k <= store.maxKey; k++) {
      const c = store.bins[k - store.offset] ?? 0;
      if (c > 0) s.accept(sign * d.mapping.value(k), c);
    }
  }
  const zeroCount = buf.readDoubleLE(9);
  if (zeroCount > 0) s.accept(0, zeroCount);
  return s;
}

/** Rebuilds a sketch written by {@link encodeSketch} (or a version-1 one); a bad blob is a `ZIB_ERR_STORE_FAILED`. */
export function decodeSketch(bytes: Uint8Array): TimerSketch {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    const version = buf.readUInt8(0);
    if (version === VERSION) return decodeV2(buf);
    if (version === LEGACY_VERSION) return decodeV1(buf);
    throw new Error(`unknown sketch version ${version}`);
  } catch (err) {
    throw new ZibratoError('ZIB_ERR_STORE_FAILED', `a stored timer sketch cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

/** Writes a version-1 (DDSketch) blob, as stores written before version 2 hold: for tests of the legacy read path. */
export function encodeLegacySketch(s: DDSketch): Uint8Array {
  const stores = [s.store as unknown as LegacyBins, s.negativeStore as unknown as LegacyBins];
  const bins = stores.map((st) => {
    const out: [number, number][] = [];
    for (let k = st.minKey; k <= st.maxKey; k++) {
      const c = st.bins[k - st.offset] ?? 0;
      if (c > 0) out.push([k, c]);
    }
    return out;
  });
  const buf = Buffer.allocUnsafe(LEGACY_HEADER_BYTES + 8 + 12 * (bins[0]!.length + bins[1]!.length));
  buf.writeUInt8(LEGACY_VERSION, 0);
  buf.writeDoubleLE(s.mapping.relativeAccuracy, 1);
  buf.writeDoubleLE(s.zeroCount, 9);
  buf.writeDoubleLE(s.count, 17);
  buf.writeDoubleLE(s.min, 25);
  buf.writeDoubleLE(s.max, 33);
  buf.writeDoubleLE(s.sum, 41);
  let at = LEGACY_HEADER_BYTES;
  for (const list of bins) {
    buf.writeUInt32LE(list.length, at);
    at += 4;
    for (const [k, c] of list) {
      buf.writeInt32LE(k, at);
      buf.writeDoubleLE(c, at + 4);
      at += 12;
    }
  }
  return buf;
}
