/**
 * A minimal protocol-buffers encoder: just the wire types the Prometheus
 * remote-write and OTLP messages need (varint, 64-bit, length-delimited).
 * Hand-written so the runtime needs no protobuf library; the tests decode the
 * output with protobufjs and the official schemas.
 */
function zigzag(v: number): bigint {
  const x = BigInt(Math.trunc(v));
  return x >= 0n ? x << 1n : ((-x) << 1n) - 1n;
}

export class ProtoWriter {
  private chunks: Buffer[] = [];
  private length = 0;

  private push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }

  private varint(v: bigint): void {
    const bytes: number[] = [];
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      bytes.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    bytes.push(Number(x));
    this.push(Buffer.from(bytes));
  }

  private tag(field: number, wireType: 0 | 1 | 2 | 5): void {
    this.varint(BigInt((field << 3) | wireType));
  }

  /** int64/uint64/int32/bool/enum field (varint); negative int64 is two's complement as protobuf specifies. */
  uint(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.varint(typeof v === 'bigint' ? v : BigInt(Math.trunc(v)));
    return this;
  }

  /** sint32/sint64 field (zigzag varint, so small negatives stay short). */
  sint(field: number, v: number): this {
    this.tag(field, 0);
    this.varint(zigzag(v));
    return this;
  }

  /** A packed repeated sint64 field (proto3's default encoding for repeated scalars); nothing when empty. */
  packedSint(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(zigzag(v));
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated uint64 field; nothing when empty. */
  packedUint(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(BigInt(Math.trunc(v)));
    return this.bytes(field, inner.finish());
  }

  bool(field: number, v: boolean): this {
    return this.uint(field, v ? 1 : 0);
  }

  double(field: number, v: number): this {
    this.tag(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    this.push(b);
    return this;
  }

  /** fixed64 field, e.g. OTLP's `time_unix_nano`. */
  fixed64(field: number, v: bigint): this {
    this.tag(field, 1);
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, v));
    this.push(b);
    return this;
  }

  string(field: number, v: string): this {
    return this.bytes(field, Buffer.from(v, 'utf8'));
  }

  bytes(field: number, v: Buffer): this {
    this.tag(field, 2);
    this.varint(BigInt(v.length));
    this.push(v);
    return this;
  }

  /** An embedded message field. */
  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}
