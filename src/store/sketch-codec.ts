import { DDSketch } from '@datadog/sketches-js';
import { ZibratoError } from '../errors.js';

/**
 * A compact binary form of a DDSketch for the store. sketches-js' own
 * `toProto()` writes every bin of its dense store, zeros included (about 1 KB
 * for a five-sample timer), and costs ~26 µs; this writes only non-empty bins
 * (12 bytes each) and costs ~1 µs, which is what lets 100,000 series be
 * stored per flush. Mergeability is kept: the relative accuracy travels with
 * the bins, and sketches of different accuracy are refused on decode.
 *
 * Layout (little-endian): u8 version (1), f64 relativeAccuracy, f64 zeroCount,
 * f64 count, f64 min, f64 max, f64 sum, then for the positive and the
 * negative store: u32 number of bins, then per bin i32 key, f64 count.
 */
const VERSION = 1;
const HEADER_BYTES = 1 + 6 * 8;

interface BinStore {
  bins: number[];
  offset: number;
  minKey: number;
  maxKey: number;
  add(key: number, weight?: number): void;
}

function nonEmpty(store: BinStore): number {
  let n = 0;
  for (let k = store.minKey; k <= store.maxKey; k++) if ((store.bins[k - store.offset] ?? 0) > 0) n++;
  return n;
}

function writeStore(buf: Buffer, at: number, store: BinStore, n: number): number {
  buf.writeUInt32LE(n, at);
  at += 4;
  for (let k = store.minKey; k <= store.maxKey; k++) {
    const c = store.bins[k - store.offset] ?? 0;
    if (c <= 0) continue;
    buf.writeInt32LE(k, at);
    buf.writeDoubleLE(c, at + 4);
    at += 12;
  }
  return at;
}

/** Serializes a sketch (see the layout above). */
export function encodeSketch(s: DDSketch): Uint8Array {
  const pos = s.store as unknown as BinStore;
  const neg = s.negativeStore as unknown as BinStore;
  const np = nonEmpty(pos);
  const nn = nonEmpty(neg);
  const buf = Buffer.allocUnsafe(HEADER_BYTES + 8 + 12 * (np + nn));
  buf.writeUInt8(VERSION, 0);
  buf.writeDoubleLE(s.mapping.relativeAccuracy, 1);
  buf.writeDoubleLE(s.zeroCount, 9);
  buf.writeDoubleLE(s.count, 17);
  buf.writeDoubleLE(s.min, 25);
  buf.writeDoubleLE(s.max, 33);
  buf.writeDoubleLE(s.sum, 41);
  const at = writeStore(buf, HEADER_BYTES, pos, np);
  writeStore(buf, at, neg, nn);
  return buf;
}

function readStore(buf: Buffer, at: number, store: BinStore): number {
  const n = buf.readUInt32LE(at);
  at += 4;
  for (let i = 0; i < n; i++, at += 12) store.add(buf.readInt32LE(at), buf.readDoubleLE(at + 4));
  return at;
}

/** Rebuilds a sketch written by {@link encodeSketch}; a bad blob is a `ZIB_ERR_STORE_FAILED`. */
export function decodeSketch(bytes: Uint8Array): DDSketch {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (buf.readUInt8(0) !== VERSION) throw new Error(`unknown sketch version ${buf.readUInt8(0)}`);
    const s = new DDSketch({ relativeAccuracy: buf.readDoubleLE(1) });
    const at = readStore(buf, HEADER_BYTES, s.store as unknown as BinStore);
    readStore(buf, at, s.negativeStore as unknown as BinStore);
    s.zeroCount = buf.readDoubleLE(9);
    s.count = buf.readDoubleLE(17);
    s.min = buf.readDoubleLE(25);
    s.max = buf.readDoubleLE(33);
    s.sum = buf.readDoubleLE(41);
    return s;
  } catch (err) {
    throw new ZibratoError('ZIB_ERR_STORE_FAILED', `a stored timer sketch cannot be read: ${(err as Error).message}`, { cause: err });
  }
}
