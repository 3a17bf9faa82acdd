import type { SetPoint } from '../../sinks/sink.js';
import type { Aggregator, SeriesIdentity } from './aggregator.js';

/** Members counted exactly before switching to HyperLogLog. */
export const SET_EXACT_CAP = 10_000;
/** HyperLogLog precision: 2^14 registers, ~0.8 % standard error, 16 KiB. */
export const HLL_P = 14;
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
 * Adds a member hash to HyperLogLog registers of precision `p` (2^p registers).
 * Member hashes are cheap FNV lanes; re-mix them (murmur3's finaliser) so
 * register index and rank see uniformly distributed bits. The rank comes from
 * a word independent of the index, so registers fold to a lower precision by
 * dropping index bits (register-wise max): the store relies on that.
 */
export function hllAdd(registers: Uint8Array, p: number, hash: number): void {
  const lo = hash >>> 0;
  const hi = Math.floor(hash / 0x1_0000_0000);
  const a = fmix32(lo ^ Math.imul(hi, 0x9e3779b1));
  const b = fmix32(hi ^ Math.imul(a, 0x85ebca6b) ^ 0x5bd1e995);
  const idx = a >>> (32 - p);
  const rank = Math.clz32(b) + 1;
  if (rank > registers[idx]!) registers[idx] = rank;
}

/** The HyperLogLog estimate of registers (any power-of-two count), with the small-range correction. */
export function hllEstimate(registers: Uint8Array): number {
  const m = registers.length;
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < m; i++) {
    const r = registers[i]!;
    sum += 2 ** -r;
    if (r === 0) zeros++;
  }
  const alpha = 0.7213 / (1 + 1.079 / m);
  const estimate = (alpha * m * m) / sum;
  if (estimate <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
  return Math.round(estimate);
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
    hllAdd(this.registers!, HLL_P, hash);
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
    return this.members ? this.members.size : hllEstimate(this.registers!);
  }

  toPoint(id: SeriesIdentity): SetPoint {
    // Handed over like a timer's sketch (reset() starts new ones), so the store can keep a mergeable summary.
    return { type: 'set', ...id, value: this.size, summary: this.members ? { members: this.members } : { registers: this.registers! } };
  }

  reset(): void {
    this.members = new Set();
    this.registers = undefined;
    this.touched = false;
  }
}
