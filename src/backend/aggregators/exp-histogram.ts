/**
 * A base-2 exponential histogram: the bucket layout of OTLP exponential
 * histograms and Prometheus native histograms, so what a backend aggregates
 * can be exported as it is and merged by the destination (across hosts,
 * shards and time) without losing accuracy.
 *
 * At scale `s` the base is `2^(2^-s)` and bucket `i` covers
 * `(base^i, base^(i+1)]` (the OTLP convention; Prometheus numbers the same
 * bucket `i + 1`). Values whose magnitude is at most {@link zeroThreshold} go
 * to the zero bucket; negative values to a mirrored set of buckets.
 *
 * Accuracy: a quantile is answered with the bucket's representative
 * `2·base^(i+1)/(1+base)`, within `(base-1)/(base+1)` of every value in the
 * bucket: 0.27 % at scale 7, 0.54 % at scale 6. A destination that
 * interpolates inside the bucket (Prometheus `histogram_quantile`) is within
 * `base-1`: 0.54 % at scale 7.
 */

/**
 * The scale timers start at: base 2^(1/128). 7, not 6: Prometheus'
 * `histogram_quantile` interpolates inside a bucket, so its error is the
 * bucket's whole width (0.54 % at scale 7, 1.09 % at scale 6 would break the
 * 1 % promise). Prometheus accepts schemas up to 8.
 */
export const EXP_HISTOGRAM_MAX_SCALE = 7;

/**
 * The most buckets one sign may span before the histogram halves its
 * resolution (OTel's `MaxSize`). OTel's default is 160, which at scale 7
 * spans a ratio of only 2.4 between the smallest and largest value: a timer
 * from 1 ms to 1 s would fall to scale 3 (4.3 % error). 4096 keeps scale 7 for
 * a ratio of 2^32 (1 µs to an hour) and scale 6 for 2^64; memory is 8 bytes a
 * bucket between the smallest and largest value seen, like the DDSketch it
 * replaces, never proportional to the sample count.
 */
export const EXP_HISTOGRAM_MAX_BUCKETS = 4096;

/** One sign's buckets: dense counts from index `offset`. */
export class ExpBuckets {
  /** Counts of buckets `offset`, `offset + 1`, … (may hold zeros between non-empty buckets). */
  counts: number[] = [];
  offset = 0;

  get empty(): boolean {
    return this.counts.length === 0;
  }

  /** Index of the last bucket held (meaningless when empty). */
  get last(): number {
    return this.offset + this.counts.length - 1;
  }

  /** The span these buckets would need to also hold `index`. */
  spanWith(index: number): number {
    if (this.empty) return 1;
    return Math.max(this.last, index) - Math.min(this.offset, index) + 1;
  }

  add(index: number, weight: number): void {
    const at = index - this.offset;
    if (at >= 0 && at < this.counts.length) {
      this.counts[at]! += weight;
      return;
    }
    if (this.empty) {
      this.offset = index;
      this.counts.push(weight);
      return;
    }
    if (index < this.offset) {
      const grow = this.offset - index;
      const next = new Array<number>(grow + this.counts.length).fill(0);
      for (let i = 0; i < this.counts.length; i++) next[grow + i] = this.counts[i]!;
      this.counts = next;
      this.offset = index;
    }
    const last = index - this.offset;
    while (this.counts.length <= last) this.counts.push(0);
    this.counts[last]! += weight;
  }

  /** Halves the resolution `by` times: bucket i becomes i >> by (floor, negatives included). */
  downscale(by: number): void {
    if (by <= 0 || this.empty) return;
    const offset = this.offset >> by;
    const next = new Array<number>((this.last >> by) - offset + 1).fill(0);
    for (let i = 0; i < this.counts.length; i++) next[((this.offset + i) >> by) - offset]! += this.counts[i]!;
    this.counts = next;
    this.offset = offset;
  }

  /** Non-empty buckets as [index, count], ascending. */
  *entries(): Generator<[number, number]> {
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]! > 0) yield [this.offset + i, this.counts[i]!];
  }
}

/**
 * Per positive scale s: the 2^s + 1 boundaries inside one octave,
 * `2^(j/2^s)` for j = 0…2^s, and for 2^(s+1) equal slots of [1, 2) the bucket
 * at each slot's start. A slot is narrower than the narrowest bucket
 * (2^(1/2^s) − 1 > 2^-(s+1)), so the bucket of a mantissa is its slot's
 * bucket or the next one: no logarithm and no pow per value, which made
 * `record` six times slower than DDSketch.
 */
interface OctaveTable {
  bounds: Float64Array;
  slotBucket: Int32Array;
}
const octaveTables = new Map<number, OctaveTable>();

function octaveTable(scale: number): OctaveTable {
  let t = octaveTables.get(scale);
  if (t === undefined) {
    const n = 2 ** scale;
    const bounds = new Float64Array(n + 1);
    for (let j = 0; j <= n; j++) bounds[j] = 2 ** (j / n);
    const slots = 2 * n;
    const slotBucket = new Int32Array(slots);
    let j = 0;
    for (let k = 0; k < slots; k++) {
      const start = 1 + k / slots;
      while (j + 1 < n && bounds[j + 1]! <= start) j++;
      slotBucket[k] = j;
    }
    octaveTables.set(scale, (t = { bounds, slotBucket }));
  }
  return t;
}

/** Scratch view of one double's bits, to split a value into exponent and mantissa without a logarithm. */
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
/** Index of the high 32 bits of the double in `u32` (little- or big-endian machine). */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * The lower boundary of bucket `index` at `scale`: base^index, computed as
 * 2^e · 2^(j/2^scale) (index = e·2^scale + j), so it is exactly a power of 2
 * when j = 0 and the same double at every scale that has this boundary (what
 * keeps downscaling consistent with {@link bucketIndex}).
 */
export function lowerBoundary(index: number, scale: number): number {
  if (scale <= 0) return 2 ** (index * 2 ** -scale);
  const n = 2 ** scale;
  const e = Math.floor(index / n);
  return octaveTable(scale).bounds[index - e * n]! * 2 ** e;
}

/**
 * The bucket of a positive finite value: the bucket whose upper bound
 * ({@link lowerBoundary} of the next) is the first at or above it, so a value
 * equal to a boundary (exactly a power of 2, or any double
 * {@link lowerBoundary} returns) lands in the bucket it closes.
 */
export function bucketIndex(value: number, scale: number): number {
  f64[0] = value;
  const hi = u32[HI]!;
  const biased = (hi >>> 20) & 0x7ff;
  // Subnormals (below 2^-1022) have no implicit leading bit: rare enough for the slow path.
  if (biased === 0) return bucketIndexByLog(value, scale);
  const e = biased - 1023;
  const exactPowerOf2 = (hi & 0xfffff) === 0 && u32[1 - HI] === 0;
  if (scale <= 0) return (exactPowerOf2 ? e - 1 : e) >> -scale;
  const n = 2 ** scale;
  if (exactPowerOf2) return e * n - 1;
  // The mantissa in [1, 2): the same bits with the exponent of 1.
  u32[HI] = (hi & 0x800fffff) | 0x3ff00000;
  const m = f64[0]!;
  const { bounds, slotBucket } = octaveTable(scale);
  let j = slotBucket[Math.floor((m - 1) * 2 * n)]!;
  while (m > bounds[j + 1]!) j++;
  while (m <= bounds[j]!) j--;
  return e * n + j;
}

/** {@link bucketIndex} for subnormal values: the logarithm, corrected against the boundaries. */
function bucketIndexByLog(value: number, scale: number): number {
  let i = Math.ceil(Math.log2(value) * 2 ** scale) - 1;
  while (value <= lowerBoundary(i, scale)) i--;
  while (value > lowerBoundary(i + 1, scale)) i++;
  return i;
}

/** A mergeable base-2 exponential histogram (see the module comment). Merge rule: buckets add at the coarser scale. */
export class ExpHistogram {
  scale: number;
  zeroCount = 0;
  /** Total weight recorded (zero bucket included). */
  count = 0;
  readonly positive = new ExpBuckets();
  readonly negative = new ExpBuckets();

  constructor(
    /** Magnitudes at or below this go to the zero bucket. */
    readonly zeroThreshold: number,
    readonly maxBuckets = EXP_HISTOGRAM_MAX_BUCKETS,
    maxScale = EXP_HISTOGRAM_MAX_SCALE,
  ) {
    this.scale = maxScale;
  }

  /** Adds `weight` samples of `value`; non-finite values are ignored (callers count them). */
  record(value: number, weight = 1): void {
    if (!Number.isFinite(value) || !(weight > 0)) return;
    this.count += weight;
    const magnitude = Math.abs(value);
    if (magnitude <= this.zeroThreshold) {
      this.zeroCount += weight;
      return;
    }
    const buckets = value > 0 ? this.positive : this.negative;
    let index = bucketIndex(magnitude, this.scale);
    // Only a bucket outside the held range can need a coarser scale.
    if (buckets.empty || index < buckets.offset || index > buckets.last) {
      const by = this.downscaleNeeded(buckets, index, index);
      if (by > 0) {
        this.downscale(by);
        index = bucketIndex(magnitude, this.scale);
      }
    }
    buckets.add(index, weight);
  }

  /** How many halvings `buckets` needs to also hold indices lo..hi at the current scale. */
  private downscaleNeeded(buckets: ExpBuckets, lo: number, hi: number): number {
    let by = 0;
    const low = buckets.empty ? lo : Math.min(buckets.offset, lo);
    const high = buckets.empty ? hi : Math.max(buckets.last, hi);
    while ((high >> by) - (low >> by) + 1 > this.maxBuckets) by++;
    return by;
  }

  /** Halves the resolution `by` times (both signs share one scale). */
  downscale(by: number): void {
    if (by <= 0) return;
    this.positive.downscale(by);
    this.negative.downscale(by);
    this.scale -= by;
  }

  /** Folds `other` in: both go to the coarser of the two scales, then further if the union spans too many buckets. */
  merge(other: ExpHistogram): void {
    if (other.count === 0) return;
    if (other.scale < this.scale) this.downscale(this.scale - other.scale);
    const shift = other.scale - this.scale;
    let by = 0;
    for (const [mine, theirs] of [[this.positive, other.positive], [this.negative, other.negative]] as const) {
      if (theirs.empty) continue;
      by = Math.max(by, this.downscaleNeeded(mine, theirs.offset >> shift, theirs.last >> shift));
    }
    this.downscale(by);
    const total = shift + by;
    for (const [mine, theirs] of [[this.positive, other.positive], [this.negative, other.negative]] as const) {
      for (const [i, c] of theirs.entries()) mine.add(i >> total, c);
    }
    this.zeroCount += other.zeroCount;
    this.count += other.count;
  }

  /** The representative value of bucket `index`: within (base-1)/(base+1) of every value in it. */
  private representative(index: number): number {
    const base = 2 ** 2 ** -this.scale;
    return (2 * lowerBoundary(index + 1, this.scale)) / (1 + base);
  }

  /**
   * The value at quantile `q` (0…1), ranking like DDSketch (rank `q·(count-1)`,
   * the first bucket whose cumulative count exceeds it); NaN when empty or
   * `q` is out of range.
   */
  quantile(q: number): number {
    if (this.count <= 0 || !(q >= 0 && q <= 1)) return NaN;
    const rank = q * (this.count - 1);
    let seen = 0;
    const neg = this.negative;
    for (let i = neg.counts.length - 1; i >= 0; i--) {
      seen += neg.counts[i]!;
      if (seen > rank) return -this.representative(neg.offset + i);
    }
    seen += this.zeroCount;
    if (seen > rank) return 0;
    const pos = this.positive;
    for (let i = 0; i < pos.counts.length; i++) {
      seen += pos.counts[i]!;
      if (seen > rank) return this.representative(pos.offset + i);
    }
    // Rounding of fractional weights: the top bucket.
    return pos.empty ? (neg.empty ? 0 : -this.representative(neg.offset)) : this.representative(pos.last);
  }

  /** A deep copy. */
  clone(): ExpHistogram {
    const c = new ExpHistogram(this.zeroThreshold, this.maxBuckets, this.scale);
    c.merge(this);
    return c;
  }
}
