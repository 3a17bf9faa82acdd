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
    const at = index - this.offset;
    while (this.counts.length <= at) this.counts.push(0);
    this.counts[at]! += weight;
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

/** The lower boundary of bucket `index` at `scale`: base^index. Exact when index/2^scale is an integer. */
export function lowerBoundary(index: number, scale: number): number {
  return 2 ** (index / 2 ** scale);
}

/**
 * The bucket of a positive finite value. The logarithm gives it up to a
 * rounding error; the boundaries then decide, so a value equal to a boundary
 * (exactly a power of 2, or the double {@link lowerBoundary} returns) always
 * lands in the bucket whose upper bound it is.
 */
export function bucketIndex(value: number, scale: number): number {
  let i = Math.ceil(Math.log2(value) * 2 ** scale) - 1;
  if (value <= lowerBoundary(i, scale)) i--;
  else if (value > lowerBoundary(i + 1, scale)) i++;
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
    const by = this.downscaleNeeded(buckets, index, index);
    if (by > 0) {
      this.downscale(by);
      index = bucketIndex(magnitude, this.scale);
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
