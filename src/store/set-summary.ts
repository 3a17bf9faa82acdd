import { ZibratoError } from '../errors.js';
import { hllAdd, hllEstimate } from '../backend/aggregators/set-aggregator.js';
import type { SetPoint } from '../sinks/sink.js';

/**
 * A mergeable summary of a set's members for the store, so that the
 * cardinality of a step or rollup spanning several intervals is the size of
 * their union, not the largest interval's count.
 *
 * Exact member hashes while they take no more room than the registers
 * (512 × 8 bytes = 4 KiB); past that, HyperLogLog registers folded from the
 * aggregator's 2^14 to 2^12 (4 KiB a row instead of 16; ~1.6 % standard error).
 * Folding is exact because the aggregator draws the rank from a word
 * independent of the register index (see `hllAdd`).
 *
 * Layout: u8 kind; kind 1: f64 member hashes (little-endian); kind 2: 2^12 u8 registers.
 */
export const STORE_HLL_P = 12;
const STORE_HLL_M = 1 << STORE_HLL_P;
/** Members kept exactly: as many as fit in the size of the registers. */
export const STORE_SET_EXACT_CAP = STORE_HLL_M / 8;
const KIND_MEMBERS = 1;
const KIND_REGISTERS = 2;

/** Registers of the store's precision from the aggregator's (higher-precision) ones: register-wise max over dropped index bits. */
function fold(registers: Uint8Array): Uint8Array {
  if (registers.length === STORE_HLL_M) return registers;
  const shift = Math.log2(registers.length) - STORE_HLL_P;
  const out = new Uint8Array(STORE_HLL_M);
  for (let i = 0; i < registers.length; i++) {
    const j = i >>> shift;
    if (registers[i]! > out[j]!) out[j] = registers[i]!;
  }
  return out;
}

/** The union of set summaries over a step, a group or a rollup bucket. */
export class SetUnion {
  private members: Set<number> | undefined = new Set();
  private registers: Uint8Array | undefined;

  /** Adds a stored summary (see {@link encodeSetSummary}). */
  addEncoded(bytes: Uint8Array): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const kind = bytes[0];
    if (kind === KIND_MEMBERS && (bytes.length - 1) % 8 === 0) {
      for (let o = 1; o < bytes.length; o += 8) this.addMember(view.getFloat64(o, true));
    } else if (kind === KIND_REGISTERS && bytes.length === 1 + STORE_HLL_M) {
      this.addRegisters(bytes.subarray(1));
    } else {
      throw new ZibratoError('ZIB_ERR_STORE_FAILED', `a stored set summary is corrupt (kind ${kind}, ${bytes.length} bytes)`);
    }
  }

  /** Adds an interval's members or registers, as a set point hands them over. */
  addSummary(summary: NonNullable<SetPoint['summary']>): void {
    if (summary.registers) this.addRegisters(fold(summary.registers));
    else if (summary.members) for (const h of summary.members) this.addMember(h);
  }

  merge(other: SetUnion): void {
    if (other.registers) this.addRegisters(other.registers);
    else for (const h of other.members!) this.addMember(h);
  }

  private addMember(hash: number): void {
    if (this.members) {
      this.members.add(hash);
      if (this.members.size > STORE_SET_EXACT_CAP) this.toRegisters();
    } else hllAdd(this.registers!, STORE_HLL_P, hash);
  }

  private addRegisters(r: Uint8Array): void {
    if (!this.registers) this.toRegisters();
    const own = this.registers!;
    for (let i = 0; i < STORE_HLL_M; i++) if (r[i]! > own[i]!) own[i] = r[i]!;
  }

  private toRegisters(): void {
    this.registers = new Uint8Array(STORE_HLL_M);
    for (const h of this.members!) hllAdd(this.registers, STORE_HLL_P, h);
    this.members = undefined;
  }

  /** Distinct members of the union: exact, or the HyperLogLog estimate. */
  get size(): number {
    return this.members ? this.members.size : hllEstimate(this.registers!);
  }

  encode(): Uint8Array {
    if (this.registers) {
      const out = new Uint8Array(1 + STORE_HLL_M);
      out[0] = KIND_REGISTERS;
      out.set(this.registers, 1);
      return out;
    }
    const out = new Uint8Array(1 + 8 * this.members!.size);
    out[0] = KIND_MEMBERS;
    const view = new DataView(out.buffer);
    let o = 1;
    for (const h of this.members!) {
      view.setFloat64(o, h, true);
      o += 8;
    }
    return out;
  }
}

/** The stored form of a set point's summary. */
export function encodeSetSummary(summary: NonNullable<SetPoint['summary']>): Uint8Array {
  const u = new SetUnion();
  u.addSummary(summary);
  return u.encode();
}
