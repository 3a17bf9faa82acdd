import * as zlib from 'node:zlib';

/** CRC-32 (IEEE 802.3, the zlib/gzip polynomial) table for the fallback below. */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32Js(data: Uint8Array, start: number, end: number, prev = 0): number {
  let c = (prev ^ 0xffffffff) >>> 0;
  for (let i = start; i < end; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// zlib.crc32 is native (Node ≥ 20.15, 22.2); the table version serves older Node 20 releases.
const native = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `data[start, end)`, continuing from `prev` (0 to start). */
export function crc32(data: Uint8Array, start = 0, end = data.length, prev = 0): number {
  if (native !== undefined) return native(start === 0 && end === data.length ? data : data.subarray(start, end), prev) >>> 0;
  return crc32Js(data, start, end, prev);
}

/** The portable implementation, exported so a test can check both agree. */
export const crc32Portable = crc32Js;
