import type { SetPoint } from '../../sinks/sink.js';
import type { Aggregator, SeriesIdentity } from './aggregator.js';

/** Members counted exactly before switching to HyperLogLog. */
export const SET_EXACT_CAP = 10_000;
/** HyperLogLog precision: 2^14 registers, ~0.8 % standard error, 16 KiB. */
const HLL_P = 14;
const HLL_M = 1 << HLL_P;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Distinct members (StatsD sets). Exact up to {@link SET_EXACT_CAP}, then a
 * HyperLogLog over the same 52-bit member hashes, so memory stays bounded.
 * Merge rule: set union (register-wise max for HLL).
 */
export class SetAggregator implements Aggregator<SetAggregator> {
  members: Set<number> | undefined = new Set();
  registers: Uint8Array | undefined;
  touched = false;

  add(hash: number): void {
    this.touched = true;
    if (this.members) {
      this.members.add(hash);
      if (this.members.size > SET_EXACT_CAP) this.toSketch();
    } else this.addToSketch(hash);
  }

  private toSketch(): void {
    this.registers = new Uint8Array(HLL_M);
    for (const h of this.members!) this.addToSketch(h);
    this.members = undefined;
  }

  private addToSketch(hash: number): void {
    // Member hashes are cheap FNV lanes; re-mix them (murmur3's finaliser) so
    // register index and rank see uniformly distributed bits.
    const lo = hash >>> 0;
    const hi = Math.floor(hash / 0x1_0000_0000);
    const a = fmix32(lo ^ Math.imul(hi, 0x9e3779b1));
    const b = fmix32(hi ^ Math.imul(a, 0x85ebca6b) ^ 0x5bd1e995);
    const idx = a >>> (32 - HLL_P);
    const rank = Math.clz32(b) + 1;
    if (rank > this.registers![idx]!) this.registers![idx] = rank;
  }

  merge(other: SetAggregator): void {
    if (!other.touched) return;
    this.touched = true;
    if (other.members) {
      for (const h of other.members) this.add(h);
      return;
    }
    if (!this.registers) this.toSketch();
    for (let i = 0; i < HLL_M; i++) if (other.registers![i]! > this.registers![i]!) this.registers![i] = other.registers![i]!;
  }

  /** Distinct count: exact, or the HyperLogLog estimate with the small-range correction. */
  get size(): number {
    if (this.members) return this.members.size;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < HLL_M; i++) {
      const r = this.registers![i]!;
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / HLL_M);
    const estimate = (alpha * HLL_M * HLL_M) / sum;
    if (estimate <= 2.5 * HLL_M && zeros > 0) return Math.round(HLL_M * Math.log(HLL_M / zeros));
    return Math.round(estimate);
  }

  toPoint(id: SeriesIdentity): SetPoint {
    return { type: 'set', ...id, value: this.size };
  }

  reset(): void {
    this.members = new Set();
    this.registers = undefined;
    this.touched = false;
  }
}
