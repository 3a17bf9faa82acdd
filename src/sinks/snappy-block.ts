import { createRequire } from 'node:module';

/** The part of `snappyjs` we use (the package ships no type declarations). */
interface SnappyJs {
  compress(input: Uint8Array): Uint8Array;
  uncompress(input: Uint8Array): Uint8Array;
}

const snappy = createRequire(import.meta.url)('snappyjs') as SnappyJs;

/** Snappy block format (not the framed/stream format), as Prometheus remote write requires. */
export function snappyCompress(input: Buffer): Buffer {
  const out = snappy.compress(input);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** Inverse of {@link snappyCompress}. */
export function snappyUncompress(input: Buffer): Buffer {
  const out = snappy.uncompress(input);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
