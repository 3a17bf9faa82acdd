/** The value columns of a points table, in the order of its schema. */
export const VALUE_COLUMNS = ['sum', 'count', 'min', 'max', 'last'] as const;
export type ValueColumn = (typeof VALUE_COLUMNS)[number];

/** Rows of one series, column by column, sorted by time; NaN stands for NULL (stored values are finite). A column is absent while all its values are NULL. */
export type SeriesRows = { t: number[] } & { [K in ValueColumn]?: number[] };

/**
 * Default budget of {@link RecentRows}, in MiB of numbers (8 bytes each): a
 * time and one value per row for a gauge, counter or set, so a day of
 * one-minute rows for ~1,450 series; a timer row holds four values. Arrays
 * grow ahead of their rows, so the heap holds up to ~1.5 times as much.
 */
export const RECENT_MAX_MIB = 32;

/** {@link RECENT_MAX_MIB} in numbers. */
export const RECENT_MAX_NUMBERS = numbersOfMiB(RECENT_MAX_MIB);

/** A budget in MiB as the numbers it holds. */
export function numbersOfMiB(mib: number): number {
  return Math.floor((mib * 1024 * 1024) / 8);
}

/**
 * Rows are dropped a minute at a time; past the budget, down to this
 * fraction of it, so that a full store trims every few minutes rather than
 * on every flush (each trim moves every series' arrays).
 */
const TRIM_TO_FRACTION = 0.95;

const MINUTE_MS = 60_000;

/** The first index whose time is at least `t` (times sorted). */
export function lowerBound(times: number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Every series' newest points_1m rows, kept in memory as they are written
 * (a one-minute flush, a rollup of raw rows), so that the first query of a
 * series reads its recent hours without scanning DuckDB's row groups: those
 * of the day being written hold every series interleaved (appended flush by
 * flush) or clustered in chunks that share row groups, so finding one
 * series' rows there meant reading ~100,000 rows per row group.
 *
 * The rule a reader relies on: for a series, every points_1m row with
 * `t >= fromFor([id])` is here, and nothing else. Rows older than
 * {@link from} are not kept (written before the store opened, or dropped
 * to fit the budget, oldest minutes first). A series whose rows here may
 * differ from the table's (a minute re-rolled from late raw rows) is marked
 * stale up to the end of that minute: its older rows are read from DuckDB
 * until {@link from} passes that time.
 */
export class RecentRows {
  private readonly rows = new Map<number, KeptRows>();
  /** Rows kept per minute (minutes since the epoch, a small integer: a cheaper key than the time), to find the oldest minutes when trimming. */
  private readonly rowsPerMinute = new Map<number, number>();
  /** Per series, the time before which its rows here may be wrong (see markStale). */
  private readonly staleUntil = new Map<number, number>();
  private numbersKept = 0;
  private keptFrom: number;
  /** While rows are read back (see beginRead), the ranges of time changed below {@link from} since: [lo, hi). */
  private changesDuringRead: [number, number][] | undefined;
  /** Changes being committed (see changing): a read that begins meanwhile may see the table before or after them. */
  private readonly pendingChanges = new Set<[number, number]>();

  /**
   * @param maxNumbers Budget: times and values kept, all series together (0: keep nothing).
   * @param from Rows with `t` below are not kept: when a store opens, past the newest row it already has.
   */
  constructor(
    private readonly maxNumbers: number,
    from: number,
  ) {
    this.keptFrom = maxNumbers <= 0 ? Infinity : from;
  }

  /** Rows with `t` from here on are kept (Infinity: none). */
  get from(): number {
    return this.keptFrom;
  }

  /** Times and values kept, all series together. */
  get numbers(): number {
    return this.numbersKept;
  }

  /** The budget: times and values this may keep. */
  get maxKept(): number {
    return this.maxNumbers;
  }

  /** True when a row at `t` would be kept. */
  accepts(t: number): boolean {
    return t >= this.keptFrom;
  }

  /**
   * The time from which every points_1m row of all of `ids` is here
   * (Infinity: none of it). At least {@link from}; later when one of them
   * is stale.
   */
  fromFor(ids: readonly number[]): number {
    let from = this.keptFrom;
    if (this.staleUntil.size > 0) for (const id of ids) from = Math.max(from, this.staleUntil.get(id) ?? from);
    return from;
  }

  /** The kept rows of a series, sorted by time; undefined when it has none. Read synchronously: the arrays change with the next write. */
  of(id: number): SeriesRows | undefined {
    return this.rows.get(id);
  }

  /**
   * Keeps one row (`values` from `at`: sum, count, min, max, last, NaN for
   * NULL) of series `id` at `t`, once it is in the table. Call
   * {@link fit} after a batch.
   */
  add(id: number, t: number, values: ArrayLike<number>, at: number): void {
    if (t < this.keptFrom) {
      this.changedBelow(t, t + 1);
      return;
    }
    this.addRow(id, t, values, at);
    const minute = Math.floor(t / MINUTE_MS);
    this.rowsPerMinute.set(minute, (this.rowsPerMinute.get(minute) ?? 0) + 1);
  }

  /** Keeps one flush's rows, all at `t` (`values` of row `i` from `i * 5`), and fits the budget. */
  addFlush(ids: readonly number[], t: number, values: ArrayLike<number>): void {
    if (t < this.keptFrom) {
      this.changedBelow(t, t + 1);
      return;
    }
    for (let i = 0; i < ids.length; i++) this.addRow(ids[i]!, t, values, i * VALUE_COLUMNS.length);
    const minute = Math.floor(t / MINUTE_MS);
    this.rowsPerMinute.set(minute, (this.rowsPerMinute.get(minute) ?? 0) + ids.length);
    this.fit();
  }

  private addRow(id: number, t: number, values: ArrayLike<number>, at: number): void {
    let e = this.rows.get(id);
    if (!e) this.rows.set(id, (e = new KeptRows()));
    const n = e.t.length;
    // A late row (out of time order) goes to its place, after rows of equal time; rows mostly come in order and are pushed.
    const i = n === 0 || e.t[n - 1]! <= t ? n : upperBound(e.t, t);
    // Each column by its name, not through a loop over names: a keyed access per value cost ~4× as much on every one-minute flush.
    e.sum = this.put(e.sum, values[at]!, n, i);
    e.count = this.put(e.count, values[at + 1]!, n, i);
    e.min = this.put(e.min, values[at + 2]!, n, i);
    e.max = this.put(e.max, values[at + 3]!, n, i);
    e.last = this.put(e.last, values[at + 4]!, n, i);
    if (i === n) e.t.push(t);
    else e.t.splice(i, 0, t);
    this.numbersKept++;
  }

  /** A column with `v` inserted at `i` of `n` rows; undefined while the column has only NULLs. */
  private put(col: number[] | undefined, v: number, n: number, i: number): number[] | undefined {
    if (col === undefined) {
      if (Number.isNaN(v)) return undefined;
      col = new Array<number>(n).fill(NaN);
      this.numbersKept += n;
    }
    if (i === n) col.push(v);
    else col.splice(i, 0, v);
    this.numbersKept++;
    return col;
  }

  /**
   * Notes that the table's rows in [lo, hi) changed below {@link from} (a
   * late row written there, a minute re-rolled, rows deleted): rows being
   * read back from there may be out of date (see {@link prepend}).
   */
  changedBelow(lo: number, hi: number): void {
    this.changesDuringRead?.push([lo, hi]);
  }

  /**
   * Notes, before its commit, a change of the table's rows in [lo, hi) that
   * moves or adds rows (a day compacted, minutes rolled up); call the
   * function returned once the commit has returned, whether it succeeded or
   * not. A read back that overlaps it, in flight or begun until then, is not
   * kept: its snapshot may be from either side of the commit, and DuckDB
   * makes a commit visible to other connections before the promise of the
   * committing one resolves (measured: an hour read back after a
   * compaction's commit found part of its rows gone, yet was kept, as the
   * change was noted only after).
   */
  changing(lo: number, hi: number): () => void {
    const range: [number, number] = [lo, hi];
    this.pendingChanges.add(range);
    this.changedBelow(lo, hi);
    return () => {
      this.pendingChanges.delete(range);
      this.changedBelow(lo, hi);
    };
  }

  /** Starts reading rows before {@link from} back from the table; returns the stamp {@link prepend} checks. One read at a time. */
  beginRead(): number {
    this.changesDuringRead = [...this.pendingChanges];
    return this.keptFrom;
  }

  /**
   * Puts rows read back from the table before the kept ones, and moves
   * {@link from} down to `newFrom`: every row of [newFrom, from) as they
   * were when the read began (`stamp`, from {@link beginRead}), per row
   * series_id, t, then sum, count, min, max, last (NaN for NULL), in any
   * order. False, and nothing kept, when the table changed there
   * meanwhile, {@link from} moved, or the rows would not fit the budget.
   */
  prepend(stamp: number, newFrom: number, ids: readonly number[], times: readonly number[], columns: readonly (readonly number[])[]): boolean {
    const changes = this.changesDuringRead;
    this.changesDuringRead = undefined;
    if (stamp !== this.keptFrom || newFrom >= this.keptFrom || changes === undefined || changes.some(([lo, hi]) => lo < stamp && hi > newFrom)) return false;
    const older = new RecentRows(Infinity, newFrom);
    older.addColumns(ids, times, columns);
    if (this.numbersKept + older.numbersKept > this.maxNumbers) return false;
    for (const [id, o] of older.rows) {
      const e = this.rows.get(id);
      if (!e) {
        this.rows.set(id, o);
        continue;
      }
      for (const name of VALUE_COLUMNS) {
        const before = o[name];
        const after = e[name];
        if (before === undefined && after === undefined) continue;
        e[name] = (before ?? new Array<number>(o.t.length).fill(NaN)).concat(after ?? new Array<number>(e.t.length).fill(NaN));
        if (before === undefined) this.numbersKept += o.t.length;
        if (after === undefined) this.numbersKept += e.t.length;
      }
      e.t = o.t.concat(e.t);
    }
    this.numbersKept += older.numbersKept;
    for (const [m, n] of older.rowsPerMinute) this.rowsPerMinute.set(m, (this.rowsPerMinute.get(m) ?? 0) + n);
    this.keptFrom = newFrom;
    return true;
  }

  /** Keeps rows read back from the table (columns as {@link add} takes them, per row). */
  addColumns(ids: readonly number[], times: readonly number[], columns: readonly (readonly number[])[]): void {
    const values = new Float64Array(VALUE_COLUMNS.length);
    for (let r = 0; r < ids.length; r++) {
      for (let k = 0; k < values.length; k++) values[k] = columns[k]![r]!;
      this.add(ids[r]!, times[r]!, values, 0);
    }
  }

  /** The rows of `ids` before `until` may differ from the table's: they are read from DuckDB instead until {@link from} passes it. */
  markStale(ids: Iterable<number>, until: number): void {
    if (until <= this.keptFrom) {
      this.changedBelow(-Infinity, until);
      return;
    }
    for (const id of ids) this.staleUntil.set(id, Math.max(until, this.staleUntil.get(id) ?? 0));
  }

  /** Drops the oldest minutes until the budget holds (down to a fraction of it, see TRIM_TO_FRACTION). */
  fit(): void {
    if (this.numbersKept <= this.maxNumbers) return;
    const target = this.maxNumbers * TRIM_TO_FRACTION;
    const minutes = [...this.rowsPerMinute.keys()].sort((a, b) => a - b);
    // Estimated from the share of rows: trim() then removes exactly the rows below the cut.
    const perRow = this.numbersKept / Math.max(1, [...this.rowsPerMinute.values()].reduce((a, b) => a + b, 0));
    let left = this.numbersKept;
    let cut = this.keptFrom;
    for (const m of minutes) {
      if (left <= target) break;
      left -= this.rowsPerMinute.get(m)! * perRow;
      cut = (m + 1) * MINUTE_MS;
    }
    this.trim(cut);
    // The estimate fell short (this series' rows are wider than the average): a minute more at a time.
    while (this.numbersKept > this.maxNumbers && this.rowsPerMinute.size > 0) this.trim((Math.min(...this.rowsPerMinute.keys()) + 1) * MINUTE_MS);
  }

  /** Forgets every row before `before` (retention, the budget); rows from then on are all still here. */
  trim(before: number): void {
    if (before <= this.keptFrom) {
      // Rows deleted from the table below what is kept.
      this.changedBelow(-Infinity, before);
      return;
    }
    this.keptFrom = before;
    for (const [id, e] of this.rows) {
      const k = lowerBound(e.t, before);
      if (k === 0) continue;
      if (k === e.t.length) {
        this.rows.delete(id);
        this.numbersKept -= k * numbersPerRow(e);
        continue;
      }
      this.numbersKept -= k * numbersPerRow(e);
      e.t.splice(0, k);
      for (const name of VALUE_COLUMNS) e[name]?.splice(0, k);
    }
    for (const m of this.rowsPerMinute.keys()) if ((m + 1) * MINUTE_MS <= before) this.rowsPerMinute.delete(m);
    for (const [id, until] of this.staleUntil) if (until <= before) this.staleUntil.delete(id);
  }
}

/** One series' rows; every column declared up front, so that all entries share one shape. */
class KeptRows implements SeriesRows {
  t: number[] = [];
  sum: number[] | undefined = undefined;
  count: number[] | undefined = undefined;
  min: number[] | undefined = undefined;
  max: number[] | undefined = undefined;
  last: number[] | undefined = undefined;
}

function numbersPerRow(e: SeriesRows): number {
  let n = 1;
  for (const name of VALUE_COLUMNS) if (e[name]) n++;
  return n;
}

/** The first index whose time is above `t` (times sorted). */
function upperBound(times: number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
