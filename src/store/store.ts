import { lstat, rename, rm, stat } from 'node:fs/promises';
import { makePrivateDir } from '../security/files.js';
import { join, resolve } from 'node:path';
import type { DuckDBAppender, DuckDBConnection, DuckDBDataChunk, DuckDBInstance, DuckDBValueConverter, JS } from '@duckdb/node-api';
import { ZibratoError } from '../errors.js';
import { TimerSketch } from '../backend/aggregators/timer-aggregator.js';
import type { FlushBatch, MetricPoint } from '../sinks/sink.js';
import type { Tags } from '../wire/series-encoding.js';
import { loadDuckDb } from './duckdb.js';
import { decodeSketch, encodeSketch } from './sketch-codec.js';
import { encodeSetSummary, SetUnion } from './set-summary.js';
import { lowerBound, RECENT_MAX_NUMBERS, RecentRows, VALUE_COLUMNS, type SeriesRows, type ValueColumn } from './recent-rows.js';
import { BadQueryError, QUANTILE_OF_STAT, STATS_BY_TYPE, autoStepMs, nameMatcher, unitOf, type QuerySpec, type SeriesFilter, type SeriesType } from './query-params.js';

/** How long each resolution is kept. */
export interface RetentionMs {
  raw: number;
  m1: number;
  h1: number;
}

/** Defaults: raw flush resolution 2 days, 1-minute rollups 30 days, 1-hour rollups a year. */
export const DEFAULT_RETENTION = { raw: '2d', m1: '30d', h1: '1y' } as const;

export interface MetricStoreOptions {
  /** Directory of the database (created). */
  dir: string;
  retentionMs: RetentionMs;
  /** Retention as the user wrote it, for /api/status. */
  retentionText?: { raw: string; m1: string; h1: string };
  /** Injected clock (tests move it days ahead). */
  now?: () => number;
  /**
   * A bucket is rolled up only this long after it ended, so the flushes of
   * its last intervals have arrived. Default 30 s (three 10 s flushes).
   */
  rollupGraceMs?: number;
  /**
   * Up to this many rows, a query folds the rows into steps in JavaScript
   * instead of DuckDB's GROUP BY. Default {@link JS_AGGREGATE_MAX_ROWS};
   * tests set 0 to compare both ways.
   */
  jsAggregateMaxRows?: number;
  /** At most this many points_1m rows kept in memory for small queries (see cacheRows). Default {@link ROW_CACHE_MAX_ROWS}; 0: none. */
  rowCacheMaxRows?: number;
  /** Budget of every series' newest points_1m rows kept in memory as they are written, in numbers (see {@link RecentRows}). Default {@link RECENT_MAX_NUMBERS}; 0: none. */
  recentMaxNumbers?: number;
}

/** One stored series, as /api/series returns it. */
export interface SeriesInfo {
  key: string;
  name: string;
  type: SeriesType;
  level: string | null;
  source: string | null;
  tags: Tags;
  lastSeen: number;
}

interface SeriesRow extends SeriesInfo {
  id: number;
}

/** A query answer, as /api/query returns it. */
export interface QueryResult {
  from: number;
  to: number;
  step: number;
  stat: string;
  unit: string;
  total: number;
  series: (Omit<SeriesInfo, 'lastSeen'> & { points: [number, number | null][] })[];
}

export interface StoreStats {
  path: string;
  bytes: number;
  /** Of `bytes`, the free blocks in the file: DuckDB reuses them for new rows but never gives them back (see reclaimFreeBlocks). */
  freeBytes: number;
  series: number;
  rows: number;
  /** Rows that arrived after their minute was rolled up: rebuilt into the rollups, or too old to (past raw retention). */
  late: { rerolled: number; pastRetention: number };
  /** The newest rows kept in memory (see RecentRows), in bytes of numbers, against the budget (`recentRowsMiB`). */
  memory: { recentRowsBytes: number; recentRowsBudgetBytes: number };
}

/** The three resolutions, coarsest first. `table` holds rows whose `t` is the start of the interval or bucket. */
const RESOLUTIONS = [
  { name: 'h1', table: 'points_1h', sizeMs: 3_600_000 },
  { name: 'm1', table: 'points_1m', sizeMs: 60_000 },
  { name: 'raw', table: 'points_raw', sizeMs: 0 },
] as const;

const DAY_MS = 86_400_000;

/** Series per cluster of the day being written (see clusterSealedHours): 16 and 256 measured worse or no better. */
const COMPACT_SERIES_BLOCK = 64;

/** Minutes of a UTC day: the length of each array of {@link DAY_TABLE}. */
const MINUTES_PER_DAY = 1440;

/**
 * A series' sealed day becomes a day row only when it has at least this many
 * minutes (90 %); with fewer it stays as rows of points_1m. A minute without a
 * row costs a day row as much as a value (a NaN among ALP or ALPRD-compressed
 * doubles is stored like one, or as a 10-byte exception), and a row of
 * points_1m costs its value and ~1 byte of `series_id` and `t`: measured on
 * 200 series of unrounded doubles, 7.15 bytes a minute of a day row, NaN or
 * not, against ~8.1 a row, so a day row costs less from ~88 % of its minutes
 * on. The first day of a store (or of a series), and a series that reports
 * now and then, are the usual such days.
 */
const DAY_ROW_MIN_MINUTES = 1296;

/**
 * The sealed days of points_1m, one row per series per UTC day (see
 * compactSealedDays): `day` (its midnight), `direct` (TRUE when every
 * minute of the row was a one-minute flush, NULL when none was) and, per
 * value column, a fixed-size array of its 1,440 minutes, or NULL as a whole
 * when no minute has that column. A minute without a row is NaN in a DOUBLE
 * array (stored values are finite), not NULL: one NULL among the values of
 * a column makes DuckDB store its validity uncompressed, a bit per value,
 * 0.13 bytes a point, in every later segment. A row of points_1m costs
 * its `series_id` and `t` (~1 byte a row on 200 series of unrounded doubles,
 * with partly filled blocks ~2 bytes); here they are paid once a day. Fixed
 * size and not a LIST: a LIST's children are read for every row of a vector
 * that the filter on `series_id` keeps or not (a one-series 24 h read took
 * ~5 ms of 1,000 series' week), an ARRAY's child offsets are known, so only
 * the kept rows' minutes are read (~0.5 ms). Measured on 200 series × 7 days
 * of unrounded doubles: 6.97 bytes a point used vs 8.06 as clustered rows;
 * NULL arrays (a gauge's sum, count, min, max) cost next to nothing.
 */
const DAY_TABLE = 'points_1m_days';

const HOUR_MS = 3_600_000;

/** How far back before a store opened its points_1m rows are read back into memory (see loadRecent): a day's chart and an hour to spare. */
const RECENT_LOAD_MS = 25 * HOUR_MS;

/**
 * Rows read back per query: each read's rows are converted to JavaScript in one go, holding the event loop
 * (measured, 1,000 series: ~160 ms for an hour on a loaded machine), so a quarter of an hour at a time.
 */
const RECENT_LOAD_SLICE_MS = 15 * 60_000;

/**
 * A stopped store whose file is at least this much free blocks is rewritten
 * into a fresh file (see reclaimFreeBlocks). Each compaction frees the blocks
 * of the rows it rewrote, up to a day of points_1m; DuckDB reuses free blocks
 * but never shrinks the file, and partly filled blocks left by small
 * checkpoints add to it. Measured on 7 days of one-minute gauges: 1,000
 * series of two decimals, 17 of 177 blocks free and a fresh copy 22 %
 * smaller; 200 series of unrounded doubles, 15 of 100 free and 27 % smaller.
 * A store that keeps a month holds about a day of free blocks in 30 days of
 * rows, under this fraction, and is left as it is.
 */
const RECLAIM_FREE_FRACTION = 0.05;

/** Larger files are not rewritten when the store stops, so that stopping stays short: copying 44 MB took 2 s of CPU (5 s on a loaded machine). */
const RECLAIM_MAX_BYTES = 64 * 1024 * 1024;

/** The day being written is clustered again when its sealed hours reach this many times those clustered last (see clusterSealedHours). */
const RECLUSTER_GROWTH = 2;

/**
 * Up to this many rows, a query's partials are aggregated in JavaScript from
 * the rows rather than by DuckDB's GROUP BY, whose hash aggregate costs more
 * to set up than a few thousand rows cost to fold (measured on the 24 h
 * one-series query, 1,440 rows: ~0.5–1 ms of ~2 ms of SQL). Past it, moving
 * every row into JavaScript would cost more than aggregating in DuckDB.
 */
export const JS_AGGREGATE_MAX_ROWS = 20_000;

/**
 * Default budget of the row cache: 500,000 rows, 8 bytes per cached column
 * (time, `last`, and what else queries read: 8–25 MB), a week of one-minute
 * rows for ~50 series, or a day for ~350.
 */
export const ROW_CACHE_MAX_ROWS = 500_000;

/** The raw columns each partial column folds (every one falls back to `last`). */
const VALUE_COLUMNS_OF_PARTIAL: Record<PartialColumn, ValueColumn> = { s: 'sum', c: 'count', mn: 'min', mx: 'max', l: 'last' };

/** Cached points_1m rows of one series in [from, upto), sorted by time; NaN stands for NULL. Only the columns queries asked for are kept. */
export type CachedRows = { from: number; upto: number } & SeriesRows;

/** Rows read for the cache, column by column. */
type RowColumns = { id: number[]; t: number[] } & { [K in ValueColumn]?: number[] };

/**
 * Sorts an entry's rows by time when they are not already (an unordered
 * read). Rows come as they sit in the table: a few runs each in time order
 * (a compacted day, today's clustered hours, the rows appended since), so
 * the runs are merged pairwise (stable) rather than sorted through a
 * comparator called per pair, which costs more on a series' first query,
 * before the code is optimized.
 */
/** @internal Exported for its property test. */
export function sortByTime(e: CachedRows): void {
  const t = e.t;
  const n = t.length;
  let bounds: number[] = [0];
  for (let i = 1; i < n; i++) if (t[i]! < t[i - 1]!) bounds.push(i);
  if (bounds.length === 1) return;
  bounds.push(n);
  let order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let merged = new Int32Array(n);
  while (bounds.length > 2) {
    const next = [0];
    for (let r = 0; r + 1 < bounds.length; r += 2) {
      const lo = bounds[r]!;
      const mid = bounds[r + 1]!;
      const hi = r + 2 < bounds.length ? bounds[r + 2]! : mid;
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) merged[k++] = t[order[j]!]! < t[order[i]!]! ? order[j++]! : order[i++]!;
      while (i < mid) merged[k++] = order[i++]!;
      while (j < hi) merged[k++] = order[j++]!;
      next.push(hi);
    }
    [order, merged] = [merged, order];
    bounds = next;
  }
  const pick = (col: number[]): number[] => {
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = col[order[i]!]!;
    return out;
  };
  e.t = pick(t);
  for (const k of VALUE_COLUMNS) {
    const col = e[k];
    if (col) e[k] = pick(col);
  }
}

function orNull(v: number): number | null {
  return Number.isNaN(v) ? null : v;
}

/** The column of a mergeable summary: a timer's sketch or a set's members. */
type Summary = 'sketch' | 'members';

/** Up to this many series, a top-N of a percentile ranks on the exact percentiles; past it, on the per-step max. */
const EXACT_PERCENTILE_RANKING_MAX_SERIES = 500;

const POINT_COLUMNS = 'series_id INTEGER NOT NULL, t BIGINT NOT NULL, interval_ms INTEGER NOT NULL, sum DOUBLE, count DOUBLE, min DOUBLE, max DOUBLE, last DOUBLE, sketch BLOB, members BLOB, direct BOOLEAN';

/** The columns of a points_1m row that {@link DAY_TABLE} keeps per minute, with their types (`interval_ms` is always a minute there; `direct` is one per row). */
const DAY_ARRAY_TYPES = { sum: 'DOUBLE', count: 'DOUBLE', min: 'DOUBLE', max: 'DOUBLE', last: 'DOUBLE', sketch: 'BLOB', members: 'BLOB' } as const;
type DayArray = keyof typeof DAY_ARRAY_TYPES;
const DAY_ARRAYS = Object.keys(DAY_ARRAY_TYPES) as DayArray[];
/** The columns of a points_1m row after `series_id` and `t`, as {@link m1Rows} gives them. */
type DayColumn = DayArray | 'direct';
const DAY_COLUMNS: DayColumn[] = [...DAY_ARRAYS, 'direct'];

/**
 * What a minute of a day row holds in each number column: the row's value,
 * or the value every read falls back to when it is NULL (see PARTIAL_AGG;
 * a gauge's min is its last when they are the same), so that a minute with
 * a row is never NaN in an array that has any value, and a day with every
 * minute is dense (see dayRows).
 */
const FILLED_MINUTE: Record<ValueColumn, string> = {
  sum: 'coalesce(p.sum, p.last)',
  count: 'coalesce(p.count, CASE WHEN p.last IS NOT NULL THEN 1 END)',
  min: 'coalesce(p.min, p.last)',
  max: 'coalesce(p.max, p.last)',
  last: 'p.last',
};

/** Up to this many days, a read of day rows has one branch per day (see dayRows); past it, one for the whole range. */
const DAY_ROW_BRANCHES_MAX = 62;

/** A read of more than this many series splits each day into its dense and other rows (see dayRows); a smaller one scans each day once. */
const DENSE_BRANCH_MIN_SERIES = 8;

/** Later than any stored time: the upper bound of a read of everything. */
const END_OF_TIME = Number.MAX_SAFE_INTEGER;

/**
 * Aggregates of a group of rows. A gauge or set row stores only `last` when
 * its sum/count/min/max would repeat it (NULL compresses to nothing; four
 * copies of a double would not), so each column falls back to `last`.
 */
const PARTIAL_AGG = {
  s: 'sum(coalesce(sum, last))',
  c: 'sum(coalesce(count, CASE WHEN last IS NOT NULL THEN 1 END))',
  mn: 'min(coalesce(min, last))',
  mx: 'max(coalesce(max, last))',
  l: 'arg_max(last, t)',
} as const;
type PartialColumn = keyof typeof PARTIAL_AGG;
const PARTIAL_AGGS = partialAggs(Object.keys(PARTIAL_AGG) as PartialColumn[]);

/** The partial columns a statistic reads (see statValue); percentiles clamp to min and max. */
const PARTIAL_COLUMNS_OF_STAT: Record<string, PartialColumn[]> = {
  rate: ['s'],
  sum: ['s'],
  last: ['l'],
  avg: ['s', 'c'],
  mean: ['s', 'c'],
  min: ['mn'],
  max: ['mx'],
  count: ['c'],
  cardinality: ['mx'],
};

/** The aggregates of {@link PARTIAL_AGGS} a query needs, NULL for the others: a one-series query spends most of its time aggregating (measured: `last` alone ~25 % faster than all five). */
function partialAggs(needed: readonly PartialColumn[]): string {
  return (Object.keys(PARTIAL_AGG) as PartialColumn[]).map((k) => `${needed.includes(k) ? PARTIAL_AGG[k] : 'NULL'} AS ${k}`).join(', ');
}

/** A stable, readable identity: `type:name` then `@source` and sorted `;k=v` tags. */
export function storeSeriesKey(type: string, name: string, source: string, tags: Tags): string {
  let key = `${type}:${name}`;
  if (source) key += `@${source}`;
  const keys = Object.keys(tags);
  if (keys.length > 1) keys.sort();
  for (const k of keys) key += `;${k}=${tags[k]}`;
  return key;
}

function fail(path: string, what: string, err: unknown): ZibratoError {
  return new ZibratoError('ZIB_ERR_STORE_FAILED', `store ${path}: ${what}: ${(err as Error).message}`, { cause: err });
}

/** Per (series or group, bucket) partial aggregate a statistic is computed from. */
interface Partial {
  sum: number;
  count: number;
  min: number;
  max: number;
  last: number | null;
  sketch?: TimerSketch;
  /** Union of a set's members over the step. */
  set?: SetUnion;
}

/**
 * The embedded time-series store: one DuckDB file owned by this process.
 * Each flush is appended as raw rows (one per series); a background pass
 * rolls raw rows into 1-minute rows, and 1-minute rows into 1-hour rows as
 * they reach the end of their retention, merging timer sketches so
 * percentiles stay within the sketch's error at every resolution, then
 * deletes what is past retention.
 */
export class MetricStore {
  private readonly series = new Map<string, SeriesRow>();
  private readonly byId = new Map<number, SeriesRow>();
  /** Series by name: a query of one name (the API's usual `name=`) looks at that name's series alone, not at every series. */
  private readonly seriesOfName = new Map<string, SeriesRow[]>();
  private nextId = 1;
  /** Rollup watermarks: rows with `t` below are rolled into that resolution. */
  private readonly watermark = { h1: 0, m1: 0 };
  /** What is rolled up or being rolled up (a rollup's snapshot misses rows appended while it runs): a row below is late. */
  private readonly rollingTo = { h1: 0, m1: 0 };
  /** Series with rows that arrived after their minute was rolled up, per minute: re-rolled by the next maintenance pass. */
  private lateMinutes = new Map<number, Set<number>>();
  /** Series with 1-minute rows written directly after their hour was rolled up, per hour. */
  private lateHours = new Map<number, Set<number>>();
  /** Rows that arrived after their minute was rolled up: re-rolled, or past raw retention and so only counted. */
  readonly late = { rerolled: 0, pastRetention: 0 };
  /** The finest interval seen, the floor of an automatic step. */
  private rawIntervalMs = 10_000;
  private readonly now: () => number;
  private maintaining: Promise<void> | undefined;
  /** The days before this (a UTC midnight; 0: none yet) are moved from points_1m into {@link DAY_TABLE} (see compactSealedDays). */
  private compactedUpto = 0;
  /** 1-minute rows before this are past retention: the day rows that hold them in part are read from here on (see m1Rows). */
  private m1RetainedFrom = 0;
  /** points_1m rows of the day being written with `t` below are clustered too (see clusterSealedHours); kept in memory only. */
  private clusteredUpto = 0;
  /** The end of the newest flush written since the store opened (0: none yet, so nothing is sealed). */
  private newestFlushMs = 0;
  readonly path: string;
  /** Per series, its points_1m rows below the rollup watermark (see cacheRows), least recently used first. */
  private readonly rowCache = new Map<number, CachedRows>();
  private rowCacheRows = 0;
  /** Bumped by every change to cached rows' range of points_1m: a read that started before it is not kept. */
  private rowCacheGeneration = 0;
  /** Every series' newest points_1m rows, kept as they are written (see RecentRows); set up by init, past the rows already stored. */
  private recent = new RecentRows(0, Infinity);
  /**
   * The points_raw rows past the 1-minute rollup watermark, kept the same way: the part of a query not rolled up
   * yet (the last minute or two with ten-second flushes). Dropped as the watermark passes them; a quarter of the budget.
   */
  private recentRaw = new RecentRows(0, Infinity);
  /** Reading the rows stored before this opening back into {@link recent} (see loadRecent). */
  private loadingRecent: Promise<void> | undefined;
  private closing = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    /** Appends flushes. */
    private readonly writer: DuckDBConnection,
    /** Rollups and retention, so they never queue behind queries. */
    private readonly maintainer: DuckDBConnection,
    /** API reads. */
    private readonly reader: DuckDBConnection,
    /** A small query's recent rows, read while `reader` fills the row cache (see partialsInJs). */
    private readonly recentReader: DuckDBConnection,
    readonly options: MetricStoreOptions,
    path: string,
  ) {
    this.now = options.now ?? Date.now;
    this.path = path;
  }

  /** Opens (or creates) the database; a corrupt or unwritable file is a `ZIB_ERR_STORE_FAILED`. */
  static async open(options: MetricStoreOptions): Promise<MetricStore> {
    const duckdb = await loadDuckDb();
    toJs = duckdb.JSDuckDBValueConverter;
    const path = resolve(join(options.dir, 'store.duckdb'));
    let instance: DuckDBInstance;
    try {
      // The database holds every measurement: its directory is 0700, and neither it nor the file may be a link.
      await makePrivateDir(options.dir);
      if ((await lstat(path).catch(() => undefined))?.isSymbolicLink()) throw new ZibratoError('ZIB_ERR_UNSAFE_PATH', `${path} is a symbolic link; Zibrato does not write through links`);
      // Left by a stop that did not finish rewriting the file; the file itself is the old one, whole.
      await rm(`${path}${RECLAIM_SUFFIX}`, { force: true });
      await rm(`${path}${RECLAIM_SUFFIX}.wal`, { force: true });
      instance = await duckdb.DuckDBInstance.create(path);
    } catch (err) {
      throw fail(path, 'cannot open the database (corrupt, unwritable or used by another process?)', err);
    }
    try {
      const [writer, maintainer, reader, recentReader] = [await instance.connect(), await instance.connect(), await instance.connect(), await instance.connect()];
      const store = new MetricStore(instance, writer, maintainer, reader, recentReader, options, path);
      await store.init();
      return store;
    } catch (err) {
      instance.closeSync();
      throw err instanceof ZibratoError ? err : fail(path, 'cannot prepare the database', err);
    }
  }

  private async init(): Promise<void> {
    const c = this.writer;
    // No PRIMARY KEY: ids are handed out in memory, and the index would cost ~40 % of storing 100,000 new series.
    await c.run(`CREATE TABLE IF NOT EXISTS series (id INTEGER NOT NULL, key VARCHAR NOT NULL, name VARCHAR NOT NULL, type VARCHAR NOT NULL, level VARCHAR, source VARCHAR, tags VARCHAR NOT NULL, last_seen BIGINT NOT NULL)`);
    for (const r of RESOLUTIONS) {
      await c.run(`CREATE TABLE IF NOT EXISTS ${r.table} (${POINT_COLUMNS})`);
      // Databases written before sets kept their members: their set rows stay max-of-interval counts.
      await c.run(`ALTER TABLE ${r.table} ADD COLUMN IF NOT EXISTS members BLOB`);
      // TRUE on a points_1m row written directly from a one-minute flush (no raw row behind it).
      await c.run(`ALTER TABLE ${r.table} ADD COLUMN IF NOT EXISTS direct BOOLEAN`);
    }
    await c.run(`CREATE TABLE IF NOT EXISTS ${DAY_TABLE} (series_id INTEGER NOT NULL, day BIGINT NOT NULL, direct BOOLEAN, dense BOOLEAN, ${DAY_ARRAYS.map((k) => `${k} ${DAY_ARRAY_TYPES[k]}[${MINUTES_PER_DAY}]`).join(', ')})`);
    await c.run(`CREATE TABLE IF NOT EXISTS dashboards (name VARCHAR PRIMARY KEY, updated BIGINT NOT NULL, body VARCHAR NOT NULL)`);
    await this.initMarks();
    const rows = (await c.runAndReadAll(`SELECT id, key, name, type, level, source, tags, last_seen::DOUBLE AS last_seen FROM series WHERE type <> '${MARK_TYPE}'`)).getRowObjectsJS();
    for (const r of rows) {
      const row: SeriesRow = {
        id: Number(r.id),
        key: String(r.key),
        name: String(r.name),
        type: String(r.type) as SeriesType,
        level: r.level === null ? null : String(r.level),
        source: r.source === null || r.source === '' ? null : String(r.source),
        tags: JSON.parse(String(r.tags)) as Tags,
        lastSeen: Number(r.last_seen),
      };
      this.addSeries(row);
      if (row.id >= this.nextId) this.nextId = row.id + 1;
    }
    for (const m of (await c.runAndReadAll(`SELECT key, last_seen::DOUBLE AS value FROM series WHERE type = '${MARK_TYPE}'`)).getRowObjectsJS()) {
      if (m.key === 'watermark_m1') this.watermark.m1 = Number(m.value);
      if (m.key === 'watermark_h1') this.watermark.h1 = Number(m.value);
      if (m.key === 'raw_interval_ms' && Number(m.value) > 0) this.rawIntervalMs = Number(m.value);
      // Not 'compacted_1m', the key of databases whose sealed days are clustered rows of points_1m: their first maintenance pass moves those days into the day table.
      if (m.key === 'compacted_days_1m') this.compactedUpto = Number(m.value);
    }
    this.m1RetainedFrom = Math.min(this.now() - this.options.retentionMs.m1, this.watermark.h1);
    // Kept from the first row written since; rows stored before are read back in the background (see loadRecent).
    const [[oldest] = [], [newest] = []] = await columns(c, `SELECT min(t)::DOUBLE, max(t)::DOUBLE FROM points_1m`, 2);
    const budget = this.options.recentMaxNumbers ?? RECENT_MAX_NUMBERS;
    this.recent = new RecentRows(budget, Math.max(this.watermark.m1, newest === null || newest === undefined ? 0 : Number(newest) + 1));
    const [[newestRaw] = []] = await columns(c, `SELECT max(t)::DOUBLE FROM points_raw`, 1);
    this.recentRaw = new RecentRows(Math.floor(budget / 4), Math.max(this.watermark.m1, newestRaw === null || newestRaw === undefined ? 0 : Number(newestRaw) + 1));
    if (oldest !== null && oldest !== undefined) this.loadingRecent = this.loadRecent(Number(oldest)).catch(() => undefined);
  }

  /**
   * Makes sure every mark has its row in `series` (0 until set), moving
   * the marks of a database of an earlier version out of its `meta` table,
   * which is then dropped.
   */
  private async initMarks(): Promise<void> {
    const c = this.writer;
    const [[oldMeta] = []] = await columns(c, `SELECT count(*)::DOUBLE FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'meta'`, 1);
    const missing = (keys: string) => `SELECT 0, k, k, '${MARK_TYPE}', NULL, '', '{}', v FROM (${keys}) m(k, v) WHERE k NOT IN (SELECT key FROM series WHERE type = '${MARK_TYPE}')`;
    await c.run('BEGIN TRANSACTION');
    try {
      if (Number(oldMeta) > 0) {
        await c.run(`INSERT INTO series ${missing('SELECT key, value FROM meta')}`);
        await c.run(`DROP TABLE meta`);
      }
      await c.run(`INSERT INTO series ${missing(`VALUES ${MARKS.map((k) => `('${k}', 0::BIGINT)`).join(', ')}`)}`);
      await c.run('COMMIT');
    } catch (err) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /**
   * Reads the newest points_1m rows stored before this opening back into
   * memory (see RecentRows), an hour at a time, newest first, in the
   * background: until then a query reads them from DuckDB. Stops
   * {@link RECENT_LOAD_MS} back or at the sealed days, at the budget, when
   * the store closes, or when the table changed in the hour being read
   * meanwhile.
   */
  private async loadRecent(oldestRow: number): Promise<void> {
    // Not below the sealed days: their compaction may keep their rows elsewhere than points_1m.
    const start = Math.max(oldestRow, this.recent.from - RECENT_LOAD_MS);
    // Read again before each hour: a day compacted while loading has left points_1m.
    const floor = (): number => Math.max(start, this.compactedUpto);
    const sql = (from: number, upto: number) => `SELECT series_id, t::DOUBLE, ${VALUE_COLUMNS.map((k) => `coalesce(${k}, 'NaN'::DOUBLE)`).join(', ')} FROM points_1m WHERE t >= ${from} AND t < ${upto}`;
    while (!this.closing && this.recent.from > floor() && Number.isFinite(this.recent.from)) {
      // An hour is put in memory at once (each put copies every series' rows), read a slice at a time.
      const upto = this.recent.from;
      const hourFrom = Math.max(floor(), Math.floor((upto - 1) / HOUR_MS) * HOUR_MS);
      const stamp = this.recent.beginRead();
      const rows: unknown[][] = Array.from({ length: 2 + VALUE_COLUMNS.length }, () => []);
      for (let sliceUpto = upto; sliceUpto > hourFrom && !this.closing; ) {
        const sliceFrom = Math.max(hourFrom, Math.floor((sliceUpto - 1) / RECENT_LOAD_SLICE_MS) * RECENT_LOAD_SLICE_MS);
        const cols = await columns(this.recentReader, sql(sliceFrom, sliceUpto), rows.length);
        cols.forEach((col, i) => {
          for (const v of col) rows[i]!.push(v);
        });
        sliceUpto = sliceFrom;
      }
      const [sid, t, ...values] = rows as [number[], number[], ...number[][]];
      if (this.closing || !this.recent.prepend(stamp, hourFrom, sid, t, values)) return;
    }
  }

  /** points_1m rows before this time (a UTC midnight; 0: none yet) are compacted: moved into one row per series and day. */
  get compactedUptoMs(): number {
    return this.compactedUpto;
  }

  /** Today's points_1m rows before this time (an hour; 0: none) are clustered by series, before the day is sealed. */
  get clusteredUptoMs(): number {
    return this.clusteredUpto;
  }

  /** Number of series known. */
  get seriesCount(): number {
    return this.series.size;
  }

  /** Appends one flush. Returns the number of points stored; throws `ZIB_ERR_STORE_FAILED` when the database refuses. */
  async write(batch: FlushBatch): Promise<number> {
    if (batch.points.length === 0) return 0;
    const t = batch.timeMs - batch.intervalMs;
    const newSeries: SeriesRow[] = [];
    let appender: DuckDBAppender | undefined;
    try {
      // A one-minute flush already is a 1-minute row: stored once in points_1m, not raw and then copied (half the disk).
      const direct = batch.intervalMs === 60_000 && t % 60_000 === 0;
      appender = await this.writer.createAppender(direct ? 'points_1m' : 'points_raw');
      const lateIds = direct
        ? t < Math.max(this.watermark.h1, this.rollingTo.h1)
          ? lateSeriesOf(this.lateHours, Math.floor(t / 3_600_000) * 3_600_000)
          : undefined
        : t < Math.max(this.watermark.m1, this.rollingTo.m1)
          ? lateSeriesOf(this.lateMinutes, Math.floor(t / 60_000) * 60_000)
          : undefined;
      // The flush's rows are kept in memory too (see RecentRows), once DuckDB has them.
      const mirror = direct ? this.recent : this.recentRaw;
      if (!mirror.accepts(t)) mirror.changedBelow(t, t + 1);
      const kept = mirror.accepts(t) ? { ids: new Array<number>(batch.points.length), values: new Float64Array(batch.points.length * VALUE_COLUMNS.length) } : undefined;
      for (let i = 0; i < batch.points.length; i++) {
        const p = batch.points[i]!;
        const row = this.resolveSeries(p, batch.timeMs, newSeries);
        appendPoint(appender, row.id, t, batch.intervalMs, p, direct);
        lateIds?.add(row.id);
        if (kept) {
          kept.ids[i] = row.id;
          kept.values.set(POINT_VALUES, i * VALUE_COLUMNS.length);
        }
      }
      if (newSeries.length > 0) {
        const sa = await this.writer.createAppender('series');
        for (const s of newSeries) {
          sa.appendInteger(s.id);
          sa.appendVarchar(s.key);
          sa.appendVarchar(s.name);
          sa.appendVarchar(s.type);
          if (s.level === null) sa.appendNull();
          else sa.appendVarchar(s.level);
          sa.appendVarchar(s.source ?? '');
          sa.appendVarchar(JSON.stringify(s.tags));
          sa.appendBigInt(BigInt(s.lastSeen));
          sa.endRow();
        }
        sa.closeSync();
      }
      appender.closeSync();
      appender = undefined;
      if (kept) mirror.addFlush(kept.ids, t, kept.values);
      // A one-minute flush for a time already rolled up lands below the watermark, where cached rows are taken as complete.
      if (direct && t < this.watermark.m1 && this.rowCache.size > 0) this.forgetCachedRows();
    } catch (err) {
      try {
        appender?.clear();
        appender?.closeSync();
      } catch {
        // The appender is already unusable; the error below says why.
      }
      for (const s of newSeries) {
        this.series.delete(s.key);
        this.byId.delete(s.id);
        const named = this.seriesOfName.get(s.name)!;
        named.splice(named.indexOf(s), 1);
        if (named.length === 0) this.seriesOfName.delete(s.name);
      }
      throw fail(this.path, `cannot store a flush of ${batch.points.length} points`, err);
    }
    if (batch.timeMs > this.newestFlushMs) this.newestFlushMs = batch.timeMs;
    if (batch.intervalMs !== this.rawIntervalMs && batch.intervalMs >= 10) {
      this.rawIntervalMs = batch.intervalMs;
      await this.writer.run(setMark('raw_interval_ms', batch.intervalMs)).catch(() => undefined);
    }
    return batch.points.length;
  }

  private resolveSeries(p: MetricPoint, timeMs: number, created: SeriesRow[]): SeriesRow {
    const key = storeSeriesKey(p.type, p.name, p.source, p.tags);
    let row = this.series.get(key);
    if (row === undefined) {
      row = { id: this.nextId++, key, name: p.name, type: p.type, level: p.level ?? null, source: p.source === '' ? null : p.source, tags: { ...p.tags }, lastSeen: timeMs };
      this.addSeries(row);
      created.push(row);
    } else {
      row.lastSeen = timeMs;
      if (row.level === null && p.level !== undefined) row.level = p.level;
    }
    return row;
  }

  private addSeries(row: SeriesRow): void {
    this.series.set(row.key, row);
    this.byId.set(row.id, row);
    const named = this.seriesOfName.get(row.name);
    if (named) named.push(row);
    else this.seriesOfName.set(row.name, [row]);
  }

  /** Series matching a filter, sorted by name then key. */
  private match(filter: SeriesFilter, exactName?: string): SeriesRow[] {
    const byName = exactName !== undefined ? nameMatcher(exactName, true) : filter.q !== undefined ? nameMatcher(filter.q, false) : () => true;
    const out: SeriesRow[] = [];
    // An exact name without a glob has its own list; a glob or a substring search looks at every series.
    const candidates = exactName !== undefined && !exactName.includes('*') ? (this.seriesOfName.get(exactName) ?? []) : this.series.values();
    for (const s of candidates) {
      if (!byName(s.name)) continue;
      if (filter.type !== undefined && s.type !== filter.type) continue;
      if (filter.level !== undefined && s.level !== filter.level) continue;
      if (filter.source !== undefined && (s.source ?? '') !== filter.source) continue;
      if (!hasTags(s.tags, filter.tags)) continue;
      out.push(s);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** /api/series. */
  listSeries(filter: SeriesFilter & { limit: number }): { total: number; series: SeriesInfo[] } {
    const all = this.match(filter);
    return { total: all.length, series: all.slice(0, filter.limit).map(info) };
  }

  /** /api/query: a statistic per step for every matching series (or group), top-N by mean. */
  async query(q: QuerySpec): Promise<QueryResult> {
    const all = this.match(q, q.name);
    const stat = q.stat ?? (all[0] ? STATS_BY_TYPE[all[0].type][0]! : 'p99');
    const matched = all.filter((s) => STATS_BY_TYPE[s.type].includes(stat));
    if (q.stat !== undefined && matched.length === 0 && all.length > 0) {
      throw new BadQueryError('stat', `${stat} does not apply to the matching series (types: ${[...new Set(all.map((s) => s.type))].join(', ')})`);
    }
    const type: SeriesType = matched[0]?.type ?? (Object.keys(STATS_BY_TYPE) as SeriesType[]).find((t) => STATS_BY_TYPE[t].includes(stat))!;
    const now = this.now();
    // Beyond a resolution's retention only coarser rows exist, so the step grows to match.
    let minStep = this.rawIntervalMs;
    if (q.fromMs < now - this.options.retentionMs.raw) minStep = 60_000;
    if (q.fromMs < now - this.options.retentionMs.m1) minStep = 3_600_000;
    let step = q.stepMs ?? autoStepMs(q.toMs - q.fromMs, minStep);
    if (step < minStep && minStep > this.rawIntervalMs) step = minStep;
    const from = Math.floor(q.fromMs / step) * step;
    const to = q.toMs;
    const result: QueryResult = { from, to, step, stat, unit: unitOf(type, stat), total: 0, series: [] };
    if (matched.length === 0) return result;

    const quantile = QUANTILE_OF_STAT[stat];
    const groups = new Map<string, { info: Omit<SeriesInfo, 'lastSeen'>; members: Set<number> }>();
    for (const s of matched) {
      const g = q.groupBy !== undefined ? (s.tags[q.groupBy] ?? '') : s.key;
      let group = groups.get(g);
      if (!group) {
        group =
          q.groupBy !== undefined
            ? { info: { key: `${s.name}{${q.groupBy}=${g}}`, name: s.name, type: s.type, level: null, source: null, tags: { [q.groupBy]: g } }, members: new Set() }
            : { info: { key: s.key, name: s.name, type: s.type, level: s.level, source: s.source, tags: s.tags }, members: new Set() };
        groups.set(g, group);
      }
      group.members.add(s.id);
    }
    result.total = groups.size;

    // Percentiles merge sketches and cardinalities union members, in JavaScript; everything else adds up in SQL.
    const summary = quantile !== undefined ? 'sketch' : stat === 'cardinality' ? 'members' : undefined;
    if (q.groupBy !== undefined && summary === undefined) {
      result.series = await this.groupedInSql(matched, groups, q.groupBy, stat, from, to, step, q.top);
      return result;
    }

    let ids = matched.map((s) => s.id);
    // Percentiles need every sketch merged to rank exactly: affordable for a few hundred series, past that rank in SQL by a proxy.
    const rankExactly = quantile !== undefined && ids.length <= EXACT_PERCENTILE_RANKING_MAX_SERIES;
    if (q.groupBy === undefined && ids.length > q.top && !rankExactly) ids = await this.rankInSql(ids, stat, from, to, step, q.top);
    const partials = await this.partials(ids, from, to, step, summary, quantile !== undefined ? ['c', 'mn', 'mx'] : PARTIAL_COLUMNS_OF_STAT[stat]);

    const kept = new Set(ids);
    const buckets = Math.max(1, Math.ceil((to - from) / step));
    const out: { info: Omit<SeriesInfo, 'lastSeen'>; points: [number, number | null][]; mean: number }[] = [];
    for (const group of groups.values()) {
      const members: (Partial | undefined)[][] = [];
      for (const id of group.members) if (kept.has(id)) members.push(partials.get(id) ?? []);
      if (members.length === 0) continue;
      const points: [number, number | null][] = [];
      let total = 0;
      let n = 0;
      for (let i = 0; i < buckets; i++) {
        const b = from + i * step;
        let v: number | null = null;
        for (const m of members) {
          const p = m[i];
          if (!p) continue;
          const x = statValue(p, stat, step, quantile);
          if (x === null) continue;
          v = v === null ? x : combine(stat, v, x);
        }
        if (v !== null && (summary !== undefined || stat === 'mean') && members.length > 1) v = groupedValue(members, i, stat, step, quantile);
        points.push([b, v]);
        if (v !== null) {
          total += v;
          n++;
        }
      }
      out.push({ info: group.info, points, mean: n > 0 ? total / n : -Infinity });
    }
    out.sort((a, b) => b.mean - a.mean);
    result.series = out.slice(0, q.top).map((s) => ({ ...s.info, points: s.points }));
    return result;
  }

  /**
   * groupBy for statistics that need no sketch: each member's value per step,
   * then summed (min/max: the extreme; mean: Σsum/Σcount) per tag value, all
   * inside DuckDB, so only groups × steps rows reach JavaScript.
   */
  private async groupedInSql(
    matched: SeriesRow[],
    groups: Map<string, { info: Omit<SeriesInfo, 'lastSeen'> }>,
    groupBy: string,
    stat: string,
    from: number,
    to: number,
    step: number,
    top: number,
  ): Promise<QueryResult['series']> {
    const ids = matched.map((s) => s.id);
    const expr = SQL_STAT[stat]!.replaceAll('$step', String(step / 1000));
    const value = stat === 'mean' ? 'sum(s) / nullif(sum(c), 0)' : stat === 'min' ? `min(${expr})` : stat === 'max' ? `max(${expr})` : `sum(${expr})`;
    const sql = `WITH p AS (SELECT series_id, ((t - ${from}) // ${step})::INTEGER AS b, ${PARTIAL_AGGS} FROM (${this.source(ids, from, to, step, undefined)}) GROUP BY ALL)
      SELECT coalesce(json_extract_string(series.tags, $path), '') AS g, p.b, ${value} AS y FROM p JOIN series ON series.id = p.series_id GROUP BY ALL`;
    const rows = (await this.reader.runAndReadAll(sql, { path: `$."${groupBy.replaceAll('"', '\\"')}"` })).getColumnsJS() as unknown[][];
    const [g = [], b = [], y = []] = rows as [string[], number[], (number | null)[]];
    const buckets = Math.max(1, Math.ceil((to - from) / step));
    const byGroup = new Map<string, (number | null)[]>();
    for (let i = 0; i < g.length; i++) {
      let values = byGroup.get(g[i]!);
      if (!values) byGroup.set(g[i]!, (values = new Array<number | null>(buckets).fill(null)));
      if (b[i]! < buckets) values[b[i]!] = y[i] ?? null;
    }
    const out: { series: QueryResult['series'][number]; mean: number }[] = [];
    for (const [key, values] of byGroup) {
      const group = groups.get(key);
      if (!group) continue;
      let total = 0;
      let n = 0;
      for (const v of values) {
        if (v === null) continue;
        total += v;
        n++;
      }
      out.push({ series: { ...group.info, points: values.map((v, i) => [from + i * step, v]) }, mean: n > 0 ? total / n : -Infinity });
    }
    return out
      .sort((x, z) => z.mean - x.mean)
      .slice(0, top)
      .map((x) => x.series);
  }

  /** The `top` series by the mean of the statistic per step, ranked inside DuckDB (percentiles rank by their per-step max). */
  private async rankInSql(ids: number[], stat: string, from: number, to: number, step: number, top: number): Promise<number[]> {
    const expr = SQL_STAT[stat] ?? 'mx';
    const needed = PARTIAL_COLUMNS_OF_STAT[stat] ?? ['mx'];
    const sql = `WITH d AS (${this.source(ids, from, to, step, undefined, undefined, needed)}),
      b AS (SELECT series_id, t // ${step} AS b, ${partialAggs(needed)} FROM d GROUP BY ALL)
      SELECT series_id FROM b GROUP BY series_id ORDER BY avg(${expr.replaceAll('$step', String(step / 1000))}) DESC NULLS LAST LIMIT ${top}`;
    const cols = await columns(this.reader, sql, 1);
    return cols[0]!.map(Number);
  }

  /**
   * The rows of the given series in [from, to), read from the coarsest
   * resolution that fits the step, and from finer ones past its rollup
   * watermark (recent data not rolled up yet).
   */
  private source(ids: number[], from: number, to: number, step: number, summary: Summary | undefined, segments = this.segments(from, to, step), needed?: readonly PartialColumn[]): string {
    // Unnesting a day row costs per column read, NULL arrays too: only what the aggregates need (each falls back to `last`).
    const read = new Set<DayColumn>(needed ? ['last', ...needed.map((k) => VALUE_COLUMNS_OF_PARTIAL[k])] : VALUE_COLUMNS);
    const cols: DayColumn[] = VALUE_COLUMNS.filter((k) => read.has(k));
    if (summary) cols.push(summary);
    const list = [...VALUE_COLUMNS.map((k) => (read.has(k) ? k : `NULL::DOUBLE AS ${k}`)), ...(summary ? [summary] : [])].join(', ');
    const which = seriesIn(ids);
    return segments
      .map((s) =>
        s.table === 'points_1m'
          ? `SELECT series_id, t, ${list} FROM (${this.m1Rows(s.where ? [...cols, 'direct'] : cols, s.from, s.to, ids)})${s.where ? ` WHERE ${s.where}` : ''}`
          : `SELECT series_id, t, ${list} FROM ${s.table} WHERE ${which} AND t >= ${s.from} AND t < ${s.to}${s.where ? ` AND ${s.where}` : ''}`,
      )
      .join(' UNION ALL ');
  }

  /**
   * The 1-minute rows in [from, to) (of the series `ids`, or all): points_1m's rows and the minutes of {@link DAY_TABLE}'s
   * rows, as columns `series_id`, `t` and `cols`. The filters are written
   * into each table's scan, so the zone maps of `series_id`, `t` and `day`
   * skip what is outside, before any day is unnested.
   */
  private m1Rows(cols: readonly DayColumn[], from: number, to: number, ids?: readonly number[]): string {
    const list = ['series_id', 't', ...cols].join(', ');
    const days = this.dayRows(cols, from, to, ids);
    return `SELECT ${list} FROM points_1m WHERE t >= ${from} AND t < ${to}${ids === undefined ? '' : ` AND ${seriesIn(ids)}`}${days ? ` UNION ALL ${days}` : ''}`;
  }

  /**
   * The minutes of {@link DAY_TABLE} in [from, to), as rows (see m1Rows).
   * A minute is there when it has a `sum` or a `last`: every stored row has
   * one of them (a counter or timer its sum, a gauge or set its last).
   * Empty (no SQL) when the range holds no day already over by the clock:
   * a day is compacted only once the clock is past its end by the rollup
   * grace, so one not over now cannot be moved before this SQL runs, and the
   * recent rows a chart polls for skip the day table (~0.5 ms a read).
   */
  private dayRows(cols: readonly DayColumn[], from: number, to: number, ids?: readonly number[]): string | undefined {
    const lo = Math.max(from, this.m1RetainedFrom);
    const first = Math.floor(lo / DAY_MS) * DAY_MS;
    const over = Math.min(to, Math.floor(this.now() / DAY_MS) * DAY_MS);
    if (first >= over) return undefined;
    const inIds = ids === undefined ? '' : ` AND ${seriesIn(ids)}`;
    const list = ['series_id', 't', ...cols].join(', ');
    const unnest = (k: DayColumn, dense: boolean) => (k === 'direct' ? k : DAY_ARRAY_TYPES[k] === 'DOUBLE' && !dense ? `nullif(unnest(${k}), 'NaN'::DOUBLE) AS ${k}` : `unnest(${k}) AS ${k}`);
    const sparse = [...new Set<DayColumn>(['sum', 'last', ...cols])].map((k) => unnest(k, false)).join(', ');
    const branch = (days: string) => `SELECT ${list} FROM (SELECT series_id, unnest(range(day, day + ${DAY_MS}, 60000)) AS t, ${sparse} FROM ${DAY_TABLE} WHERE ${days}${inIds}) WHERE t >= ${lo} AND t < ${to} AND (sum IS NOT NULL OR last IS NOT NULL)`;
    // A dense row (every minute there, no NaN) needs neither NULLIF nor the test of presence per minute: ~40 % of a wide read's time.
    const denseBranch = (day: number) =>
      `SELECT ${list} FROM (SELECT ${['series_id', `unnest(range(day, day + ${DAY_MS}, 60000)) AS t`, ...cols.map((k) => unnest(k, true))].join(', ')} FROM ${DAY_TABLE} WHERE day = ${day} AND dense${inIds})${lo > day || to < day + DAY_MS ? ` WHERE t >= ${lo} AND t < ${to}` : ''}`;
    const wide = ids === undefined || ids.length > DENSE_BRANCH_MIN_SERIES;
    // One branch per day: DuckDB runs the branches of a UNION ALL on its threads at once, where one scan of a few thousand
    // day rows (one row group) is unnested on one thread (measured: 7 days × 1,000 series grouped in 15 minute steps, 1.1 s → 0.6 s on 2 threads).
    // A read of a few series has a few rows a day to unnest: one branch, as planning one per day costs more than they save
    // (measured: a one-series query of 30 days in hours, read from their minutes, 26 → 12 ms).
    if (over - first > DAY_ROW_BRANCHES_MAX * DAY_MS || !wide) return branch(`day > ${lo - DAY_MS} AND day < ${over}`);
    const days: string[] = [];
    for (let day = first; day < over; day += DAY_MS) {
      days.push(denseBranch(day), branch(`day = ${day} AND dense IS NOT TRUE`));
    }
    return days.join(' UNION ALL ');
  }

  /** Which table answers which part of [from, to): the coarsest whose bucket divides the step, finer ones past its watermark. */
  private segments(from: number, to: number, step: number): { table: string; from: number; to: number; where?: string }[] {
    const out: { table: string; from: number; to: number; where?: string }[] = [];
    const fits = (sizeMs: number) => sizeMs <= step && step % sizeMs === 0;
    let start = from;
    if (fits(3_600_000)) {
      const end = Math.min(to, this.watermark.h1);
      if (end > start) out.push({ table: 'points_1h', from: start, to: end });
      start = Math.max(start, end);
    }
    if (fits(60_000)) {
      // Below its watermark points_1m holds the raw rows rolled up; past it, only one-minute flushes written directly.
      if (to > start) out.push({ table: 'points_1m', from: start, to });
      start = Math.max(start, Math.min(to, this.watermark.m1));
    } else if (to > start) {
      // A step finer than a minute reads raw rows, and the one-minute flushes that never had any.
      out.push({ table: 'points_1m', from: start, to, where: 'direct' });
    }
    if (to > start) out.push({ table: 'points_raw', from: start, to });
    return out.length > 0 ? out : [{ table: 'points_raw', from, to }];
  }

  /** Per series, the partial of each step, indexed by step number from `from` (small integers index arrays; epoch keys would hash as doubles). */
  private async partials(ids: number[], from: number, to: number, step: number, summary: Summary | undefined, needed?: readonly PartialColumn[]): Promise<Map<number, (Partial | undefined)[]>> {
    const out = new Map<number, (Partial | undefined)[]>();
    if (ids.length === 0) return out;
    if (this.estimatedRows(ids.length, from, to, step) <= (this.options.jsAggregateMaxRows ?? JS_AGGREGATE_MAX_ROWS)) await this.partialsInJs(out, ids, from, to, step, needed ?? (Object.keys(PARTIAL_AGG) as PartialColumn[]));
    else {
      const src = this.source(ids, from, to, step, undefined, undefined, needed);
      const cols = await columns(this.reader, `SELECT series_id, ((t - ${from}) // ${step})::INTEGER AS b, ${needed ? partialAggs(needed) : PARTIAL_AGGS} FROM (${src}) GROUP BY ALL`, 7);
      const [sid, b, s, c, mn, mx, l] = cols as [number[], number[], (number | null)[], (number | null)[], (number | null)[], (number | null)[], (number | null)[]];
      for (let i = 0; i < sid.length; i++) {
        let m = out.get(sid[i]!);
        if (!m) out.set(sid[i]!, (m = []));
        m[b[i]!] = { sum: s[i] ?? 0, count: c[i] ?? 0, min: mn[i] ?? NaN, max: mx[i] ?? NaN, last: l[i] ?? null };
      }
    }
    if (summary) {
      const sk = await columns(this.reader, `SELECT series_id, ((t - ${from}) // ${step})::INTEGER AS b, ${summary} FROM (${this.source(ids, from, to, step, summary)}) WHERE ${summary} IS NOT NULL`, 3);
      const [sid2, b2, blobs] = sk as [number[], number[], Uint8Array[]];
      for (let i = 0; i < sid2.length; i++) {
        const p = out.get(sid2[i]!)?.[b2[i]!];
        if (!p) continue;
        if (summary === 'members') {
          p.set ??= new SetUnion();
          p.set.addEncoded(blobs[i]!);
          continue;
        }
        const sketch = decodeSketch(blobs[i]!);
        if (p.sketch) p.sketch.merge(sketch);
        else p.sketch = sketch;
      }
    }
    return out;
  }

  /** At most how many rows the segments of a query hold: one per stored interval of each table, per series. */
  private estimatedRows(series: number, from: number, to: number, step: number): number {
    let rows = 0;
    for (const s of this.segments(from, to, step)) {
      const sizeMs = s.table === 'points_1h' ? 3_600_000 : s.table === 'points_1m' ? 60_000 : Math.min(this.rawIntervalMs, 60_000);
      rows += Math.ceil((s.to - s.from) / sizeMs);
    }
    return rows * series;
  }

  /**
   * {@link partials} for a small query: the rows themselves, aggregated here
   * by the rules of {@link PARTIAL_AGG} (each column falls back to `last`;
   * `last` is the value of the latest row that has one, as `arg_max` skips
   * NULLs). Fills `out` exactly as the SQL aggregate would. The part of
   * points_1m below the rollup watermark comes from {@link cacheRows}; only
   * the rest (recent rows, raw rows, hours) is read from DuckDB.
   */
  private async partialsInJs(out: Map<number, (Partial | undefined)[]>, ids: number[], from: number, to: number, step: number, needed: readonly PartialColumn[]): Promise<void> {
    const [needS, needC, needMn, needMx, needL] = (['s', 'c', 'mn', 'mx', 'l'] as const).map((k) => needed.includes(k));
    /** Per series, the time of the row each bucket's `last` came from. */
    const lastT = new Map<number, number[]>();
    const fold = (id: number, t: number, s: number | null, c: number | null, mn: number | null, mx: number | null, last: number | null): void => {
      let m = out.get(id);
      let times = lastT.get(id);
      if (!m || !times) {
        out.set(id, (m = []));
        lastT.set(id, (times = []));
      }
      const b = Math.floor((t - from) / step);
      let p = m[b];
      if (!p) m[b] = p = { sum: 0, count: 0, min: NaN, max: NaN, last: null };
      if (needS) {
        const v = s ?? last;
        if (v !== null) p.sum += v;
      }
      if (needC) {
        const v = c ?? (last !== null ? 1 : null);
        if (v !== null) p.count += v;
      }
      if (needMn) {
        const v = mn ?? last;
        if (v !== null && !(v >= p.min)) p.min = v;
      }
      if (needMx) {
        const v = mx ?? last;
        if (v !== null && !(v <= p.max)) p.max = v;
      }
      if (needL && last !== null && !(t <= times[b]!)) {
        p.last = last;
        times[b] = t;
      }
    };
    const isM1 = (sg: { table: string; where?: string }): boolean => sg.table === 'points_1m' && sg.where === undefined;
    // Only the columns the statistic reads are decoded; `t` as DOUBLE (exact below 2^53) so no BigInt is made per row.
    const readRows = (c: DuckDBConnection, segments: { table: string; from: number; to: number; where?: string }[]): Promise<unknown[][]> =>
      columns(c, `SELECT series_id, t::DOUBLE AS t, ${needS ? 'sum' : 'NULL'}, ${needC ? 'count' : 'NULL'}, ${needMn ? 'min' : 'NULL'}, ${needMx ? 'max' : 'NULL'}, last FROM (${this.source(ids, from, to, step, undefined, segments)})`, 7);
    const at = (col: number[] | undefined, i: number): number | null => (col ? orNull(col[i]!) : null);
    /** Folds a series' rows in [lo, hi) kept in memory (sorted by time). */
    const foldKept = (id: number, e: SeriesRows, lo: number, hi: number): void => {
      for (let i = lowerBound(e.t, lo); i < e.t.length && e.t[i]! < hi; i++) fold(id, e.t[i]!, at(needS ? e.sum : undefined, i), at(needC ? e.count : undefined, i), at(needMn ? e.min : undefined, i), at(needMx ? e.max : undefined, i), at(e.last, i));
    };
    /**
     * Splits [from, to) between the tables as they are now and folds, in this same tick, the part of points_1m and
     * points_raw every series keeps in memory (see RecentRows): what is left is read from DuckDB, starting in this tick too.
     */
    const split = (): { table: string; from: number; to: number; where?: string }[] => {
      const out: { table: string; from: number; to: number; where?: string }[] = [];
      for (const sg of this.segments(from, to, step)) {
        const kept = isM1(sg) ? this.recent : sg.table === 'points_raw' ? this.recentRaw : undefined;
        const keptFrom = kept ? Math.max(sg.from, kept.fromFor(ids)) : Infinity;
        if (kept && keptFrom < sg.to) {
          for (const id of ids) {
            const e = kept.of(id);
            if (e) foldKept(id, e, keptFrom, sg.to);
          }
        }
        if (Math.min(keptFrom, sg.to) > sg.from) out.push({ ...sg, to: Math.min(keptFrom, sg.to) });
      }
      return out;
    };
    let segments = split();
    const first = segments.find(isM1);
    const cachedUpto = first ? Math.min(this.watermark.m1, first.to) : 0;
    let cols: unknown[][] | undefined;
    if (first && cachedUpto > first.from && (this.options.rowCacheMaxRows ?? ROW_CACHE_MAX_ROWS) > 0) {
      const wanted = [...new Set<ValueColumn>(['last', ...needed.map((k) => VALUE_COLUMNS_OF_PARTIAL[k])])];
      // The rows past the cache are read on a second connection at the same time as the cache fills: on the first query
      // of a series that halves the round trips to DuckDB. Both reads start in this tick, with the watermarks as they are
      // now, so the split between them is consistent (a rollup that commits meanwhile moves rows neither read sees twice).
      const rest = segments.map((sg) => (sg === first ? { ...sg, from: Math.max(sg.from, cachedUpto) } : sg)).filter((sg) => sg.to > sg.from);
      const recent = rest.length > 0 ? readRows(this.recentReader, rest) : Promise.resolve(undefined);
      let cached: Map<number, CachedRows> | undefined;
      try {
        cached = await this.cacheRows(ids, first.from, cachedUpto, wanted);
      } finally {
        // Never left unobserved: a failed read is reported by the await below, or dropped with the cache read's own error.
        cols = await recent.catch((err: unknown) => (cached === undefined ? undefined : Promise.reject(err)));
      }
      if (cached) {
        for (const [id, e] of cached) foldKept(id, e, first.from, cachedUpto);
        segments = rest;
        this.evictCachedRows();
      } else {
        // points_1m changed below the watermark while reading: everything again, split as it is now, without the cache.
        out.clear();
        lastT.clear();
        segments = split();
        cols = undefined;
      }
    }
    if (segments.length === 0) return;
    cols ??= await readRows(this.reader, segments);
    const [sid, t, s, c, mn, mx, l] = cols as [number[], number[], (number | null)[], (number | null)[], (number | null)[], (number | null)[], (number | null)[]];
    for (let i = 0; i < sid.length; i++) fold(sid[i]!, t[i]!, s[i] ?? null, c[i] ?? null, mn[i] ?? null, mx[i] ?? null, l[i] ?? null);
  }

  /**
   * The points_1m rows of each series in [from, upto) (`upto` at most the
   * rollup watermark, below which points_1m changes only by late rows,
   * retention and compaction), read from DuckDB once and kept in memory:
   * a chart that redraws on every flush, or a query repeated, reads only
   * the rows added since. Undefined when points_1m changed while reading.
   */
  private async cacheRows(ids: number[], from: number, upto: number, wanted: readonly ValueColumn[]): Promise<Map<number, CachedRows> | undefined> {
    const generation = this.rowCacheGeneration;
    const before = new Map(ids.map((id) => [id, this.rowCache.get(id)]));
    const fill: number[] = [];
    const fillColumns = new Set<ValueColumn>(wanted);
    const extend = new Map<number, number[]>();
    const extendColumns = new Set<ValueColumn>();
    for (const id of ids) {
      const e = this.rowCache.get(id);
      if (!e || e.from > from || wanted.some((k) => !e[k])) {
        fill.push(id);
        if (e) for (const k of VALUE_COLUMNS) if (e[k]) fillColumns.add(k);
      } else if (e.upto < upto) {
        let same = extend.get(e.upto);
        if (!same) extend.set(e.upto, (same = []));
        same.push(id);
        for (const k of VALUE_COLUMNS) if (e[k]) extendColumns.add(k);
      }
    }
    // Only the columns asked for (a gauge's `last` query decodes t and last alone); NULL as NaN, as stored values are finite.
    // No ORDER BY: rows mostly come in time order, and sorting the few that do not costs less here than a sort in DuckDB.
    const read = async (which: number[], lo: number, cols: Set<ValueColumn>): Promise<RowColumns> => {
      const names = VALUE_COLUMNS.filter((k) => cols.has(k));
      const got = await columns(this.reader, `SELECT series_id, t::DOUBLE, ${names.map((k) => `coalesce(${k}, 'NaN'::DOUBLE)`).join(', ')} FROM (${this.m1Rows(names, lo, upto, which)})`, 2 + names.length);
      const out: RowColumns = { id: got[0] as number[], t: got[1] as number[] };
      names.forEach((k, i) => (out[k] = got[2 + i] as number[]));
      return out;
    };
    const reads: RowColumns[] = [];
    if (fill.length > 0) reads.push(await read(fill, from, fillColumns));
    for (const [lo, which] of extend) reads.push(await read(which, lo, extendColumns));
    if (this.rowCacheGeneration !== generation) return undefined;
    // Another query extended or replaced an entry meanwhile: appending this read would repeat rows.
    for (const [lo, which] of extend) if (which.some((id) => this.rowCache.get(id) !== before.get(id) || before.get(id)!.upto !== lo)) return undefined;
    for (const id of fill) {
      const old = this.rowCache.get(id);
      if (old) this.rowCacheRows -= old.t.length;
      const e: CachedRows = { from, upto, t: [] };
      for (const k of fillColumns) e[k] = [];
      this.rowCache.set(id, e);
    }
    for (const which of extend.values()) for (const id of which) this.rowCache.get(id)!.upto = upto;
    const touched = new Set<CachedRows>();
    if (fill.length === 1) {
      // One series filled (its first query): the columns read become its entry as they are, not copied row by row.
      const r = reads.shift()!;
      const e = this.rowCache.get(fill[0]!)!;
      e.t = r.t;
      for (const k of fillColumns) e[k] = r[k];
      this.rowCacheRows += r.t.length;
      touched.add(e);
    }
    for (const r of reads) {
      const sid = r.id;
      for (let i = 0; i < sid.length; i++) {
        const e = this.rowCache.get(sid[i]!)!;
        e.t.push(r.t[i]!);
        for (const k of VALUE_COLUMNS) e[k]?.push(r[k]![i]!);
        touched.add(e);
      }
      this.rowCacheRows += sid.length;
    }
    for (const e of touched) sortByTime(e);
    const out = new Map<number, CachedRows>();
    for (const id of ids) {
      const e = this.rowCache.get(id)!;
      // Most recently used last: eviction takes the oldest first.
      this.rowCache.delete(id);
      this.rowCache.set(id, e);
      out.set(id, e);
    }
    return out;
  }

  /** Drops the least recently used series from the row cache until it fits its budget. */
  private evictCachedRows(): void {
    const max = this.options.rowCacheMaxRows ?? ROW_CACHE_MAX_ROWS;
    for (const [id, e] of this.rowCache) {
      if (this.rowCacheRows <= max) break;
      this.rowCache.delete(id);
      this.rowCacheRows -= e.t.length;
    }
  }

  /** Forgets cached rows (of the given series, or all) after points_1m changed below the watermark; a read in flight is not kept. */
  private forgetCachedRows(ids?: Iterable<number>): void {
    this.rowCacheGeneration++;
    if (ids === undefined) {
      this.rowCache.clear();
      this.rowCacheRows = 0;
      return;
    }
    for (const id of ids) {
      const e = this.rowCache.get(id);
      if (!e) continue;
      this.rowCache.delete(id);
      this.rowCacheRows -= e.t.length;
    }
  }

  /**
   * Rolls finished buckets up (raw → 1 m → 1 h) and deletes rows past
   * retention. Runs on its own connection: appends go on meanwhile.
   */
  maintain(): Promise<void> {
    this.maintaining ??= this.maintainNow().finally(() => {
      this.maintaining = undefined;
    });
    return this.maintaining;
  }

  private async maintainNow(): Promise<void> {
    const now = this.now();
    const grace = this.options.rollupGraceMs ?? 30_000;
    const m1Upto = Math.floor((now - grace) / 60_000) * 60_000;
    const r = this.options.retentionMs;
    await this.rerollLate(now - r.raw, now - r.m1);
    await this.rollUp('points_raw', 'points_1m', 60_000, 'm1', m1Upto);
    // An hour is rolled up only once its minutes reach the end of 1-minute retention: until then a query in hours reads
    // its minutes (see segments), and the file does not hold each hour twice. Measured on 200 series × 7 days of
    // unrounded doubles, the 1-hour rows cost 0.5 bytes a point with their partly filled blocks, 6 % of the file.
    const h1Upto = Math.min(Math.floor(this.watermark.m1 / HOUR_MS) * HOUR_MS, Math.ceil((now - r.m1) / HOUR_MS) * HOUR_MS);
    await this.rollUp('points_1m', 'points_1h', HOUR_MS, 'h1', h1Upto);
    // Only rows already rolled into the next resolution are deleted, so nothing is lost if rollups lag.
    await this.maintainer.run(`DELETE FROM points_raw WHERE t < ${Math.min(now - r.raw, this.watermark.m1)}`);
    const m1Cutoff = Math.min(now - r.m1, this.watermark.h1);
    await this.maintainer.run(`DELETE FROM points_1m WHERE t < ${m1Cutoff}`);
    // A day partly past retention keeps its row until it is wholly past; reads skip its expired minutes (see dayRows).
    this.m1RetainedFrom = Math.max(this.m1RetainedFrom, m1Cutoff);
    await this.maintainer.run(`DELETE FROM ${DAY_TABLE} WHERE day + ${DAY_MS} <= ${m1Cutoff}`);
    this.forgetCachedRows([...this.rowCache].filter(([, e]) => e.from < m1Cutoff).map(([id]) => id));
    this.recent.trim(m1Cutoff);
    await this.maintainer.run(`DELETE FROM points_1h WHERE t < ${now - r.h1}`);
    // Sealed by the clock and by the flushes: a backend replaying a spool (or a benchmark replaying history) writes days long past in order.
    await this.compactSealedDays(Math.min(this.watermark.m1, m1Upto, this.newestFlushMs - grace), now - r.m1);
    await this.persistLastSeen();
  }

  /**
   * Moves each sealed UTC day of points_1m (every minute of it written and
   * rolled up, and flushes past its end arrived) into {@link DAY_TABLE}, one
   * row per series, one day per transaction. A row per series per day pays
   * `series_id` and the day once instead of per minute, and leaves no partly
   * filled blocks of small appends; a one-series query reads one row a day.
   * A day's rows of points_1m written before (a database of an earlier
   * version, whose sealed days are clustered rows) are moved on the first
   * pass. Rows appended meanwhile (late flushes, re-rolled minutes) are
   * outside the transaction's snapshot: neither deleted nor moved, they stay
   * in points_1m, and reads see them beside the day's row (see m1Rows).
   */
  private async compactSealedDays(sealedUpto: number, retainedFrom: number): Promise<void> {
    const upto = Math.floor(sealedUpto / DAY_MS) * DAY_MS;
    let day = Math.max(this.compactedUpto, Math.floor(retainedFrom / DAY_MS) * DAY_MS);
    const c = this.maintainer;
    if (this.compactedUpto === 0) {
      // Only rows of sealed days: the zone maps skip today's, so this costs nothing while the first day fills.
      const first = (await columns(c, `SELECT min(t)::DOUBLE FROM points_1m WHERE t < ${upto}`, 1))[0]![0];
      day = first === null || first === undefined ? upto : Math.max(day, Math.floor(Number(first) / DAY_MS) * DAY_MS);
    }
    for (; day < upto; day += DAY_MS) {
      await this.compactDay(day);
    }
    await this.clusterSealedHours(sealedUpto);
  }

  /**
   * Clusters the sealed hours of the day still being written, as
   * {@link compactSealedDays} does whole days: appended flush by flush, a
   * day's rows interleave every series, so by evening a one-series query
   * of the last 24 h scanned ~1.4 M rows of today to find its ~1,400
   * (measured on 1,000 series at 23:18 UTC: 5.4 ms for today's part vs 1.5
   * ms for yesterday's clustered part). The day so far is rewritten when
   * its sealed hours reach {@link RECLUSTER_GROWTH} times those clustered
   * last (at 1, 2, 4, 8, 16 h): about 1.3 days of rows rewritten per day,
   * and at most half of today left unclustered. The day's own compaction,
   * once sealed, rewrites it all again.
   */
  private async clusterSealedHours(sealedUpto: number): Promise<void> {
    const day = Math.floor(sealedUpto / DAY_MS) * DAY_MS;
    const upto = Math.floor(sealedUpto / HOUR_MS) * HOUR_MS;
    if (day < this.compactedUpto || upto <= day) return;
    const clustered = this.clusteredUpto > day ? this.clusteredUpto - day : 0;
    if (upto - day < Math.max(HOUR_MS, RECLUSTER_GROWTH * clustered)) return;
    await this.cluster(day, upto, `clustering the hours of ${new Date(day).toISOString().slice(0, 13)}h to ${new Date(upto).toISOString().slice(11, 13)}h in points_1m failed`);
    this.clusteredUpto = upto;
  }

  /**
   * Moves the points_1m rows of the day starting at `day` into one row per
   * series of {@link DAY_TABLE} (see compactSealedDays), in one transaction.
   * A minute with two rows for one series (two one-minute flushes of the
   * same minute) has one slot, and a day row is direct or not as a whole:
   * such rows, and a series' day with both one-minute flushes and rolled up
   * raw rows (its flush interval changed that day), stay in points_1m.
   */
  private async compactDay(day: number): Promise<void> {
    const c = this.maintainer;
    const range = `t >= ${day} AND t < ${day + DAY_MS}`;
    const single = `n = 1 AND t % 60000 = 0 AND NOT mixed AND minutes >= ${DAY_ROW_MIN_MINUTES}`;
    const value = (k: DayArray) => (DAY_ARRAY_TYPES[k] === 'DOUBLE' ? `coalesce(${FILLED_MINUTE[k as ValueColumn]}, 'NaN'::DOUBLE)` : `p.${k}`);
    await c.run('BEGIN TRANSACTION');
    try {
      // Each ordered list costs a sort of the day's rows: none for a column no row of the day has (a gauge's sum, count, min, max, sketch, members).
      const counts = await columns(c, `SELECT ${DAY_ARRAYS.map((k) => `count(${k})::DOUBLE`).join(', ')} FROM points_1m WHERE ${range}`, DAY_ARRAYS.length);
      const present = new Set(DAY_ARRAYS.filter((_, i) => Number(counts[i]?.[0] ?? 0) > 0));
      const arrays = (minute: string) =>
        DAY_ARRAYS.map((k) => (present.has(k) ? `(CASE WHEN count(p.${k}) = 0 THEN NULL ELSE list(${value(k)} ORDER BY ${minute}) END)::${DAY_ARRAY_TYPES[k]}[${MINUTES_PER_DAY}]` : 'NULL')).join(', ');
      const dense = [`count(p.series_id) = ${MINUTES_PER_DAY}`, ...VALUE_COLUMNS.filter((k) => present.has(k)).map((k) => `(count(p.${k}) = 0 OR count(${FILLED_MINUTE[k]}) = ${MINUTES_PER_DAY})`)].join(' AND ');
      await c.run(`CREATE OR REPLACE TEMP TABLE compacting AS SELECT *, ((t - ${day}) // 60000)::INTEGER AS i, count(*) OVER (PARTITION BY series_id, t) AS n, bool_or(direct IS TRUE) OVER w AND bool_or(direct IS NOT TRUE) OVER w AS mixed, count(*) OVER w AS minutes FROM points_1m WHERE ${range} WINDOW w AS (PARTITION BY series_id)`);
      await c.run(`DELETE FROM points_1m WHERE ${range}`);
      // Clustered as the hours of today are (see cluster): in runs of one time, `t` compresses to next to nothing (~3 bytes a row ordered by series, then time).
      await c.run(`INSERT INTO points_1m SELECT * EXCLUDE (i, n, mixed, minutes) FROM compacting WHERE NOT (${single}) ORDER BY series_id // ${COMPACT_SERIES_BLOCK}, t, series_id`);
      // A series with a row every minute (most): its rows in order are the arrays.
      await c.run(`INSERT INTO ${DAY_TABLE} SELECT p.series_id, ${day}, bool_or(p.direct), ${dense}, ${arrays('p.i')} FROM compacting p WHERE ${single} GROUP BY p.series_id HAVING count(*) = ${MINUTES_PER_DAY} ORDER BY p.series_id`);
      // The others: each series' minutes in order, NaN or NULL where it has no row, from a grid of series × minutes joined to the rows.
      await c.run(
        `INSERT INTO ${DAY_TABLE} SELECT g.series_id, ${day}, bool_or(p.direct), ${dense}, ${arrays('g.i')}
         FROM (SELECT series_id, r.i FROM (SELECT series_id FROM compacting WHERE ${single} GROUP BY series_id HAVING count(*) < ${MINUTES_PER_DAY}), range(${MINUTES_PER_DAY}) r(i)) g
         LEFT JOIN (SELECT * FROM compacting WHERE ${single}) p ON p.series_id = g.series_id AND p.i = g.i
         GROUP BY g.series_id ORDER BY g.series_id`,
      );
      await c.run(`DROP TABLE compacting`);
      await c.run(setMark('compacted_days_1m', day + DAY_MS));
      // Its rows leave points_1m as of this commit: a read of them back into memory (see loadRecent), in flight or
      // about to start, must not keep what it finds there.
      const changed = this.recent.changing(day, day + DAY_MS);
      try {
        await c.run('COMMIT');
        this.compactedUpto = day + DAY_MS;
      } finally {
        changed();
      }
    } catch (err) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw fail(this.path, `compacting the day of ${new Date(day).toISOString().slice(0, 10)} in points_1m failed`, err);
    }
    // The old blocks are freed at a checkpoint, so the next rows reuse them instead of growing the file.
    await c.run('CHECKPOINT').catch(() => undefined);
  }

  /** Rewrites the points_1m rows of [from, to) in one transaction, ordered by blocks of series, then time (see clusterSealedHours). */
  private async cluster(from: number, to: number, failure: string): Promise<void> {
    const c = this.maintainer;
    const range = `t >= ${from} AND t < ${to}`;
    await c.run('BEGIN TRANSACTION');
    try {
      await c.run(`CREATE OR REPLACE TEMP TABLE compacting AS SELECT * FROM points_1m WHERE ${range}`);
      await c.run(`DELETE FROM points_1m WHERE ${range}`);
      await c.run(`INSERT INTO points_1m SELECT * FROM compacting ORDER BY series_id // ${COMPACT_SERIES_BLOCK}, t, series_id`);
      await c.run(`DROP TABLE compacting`);
      await c.run('COMMIT');
    } catch (err) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw fail(this.path, failure, err);
    }
    // The old blocks are freed at a checkpoint, so the next copy reuses them instead of growing the file.
    // Only sooner than DuckDB's own checkpoint would: when it cannot run now (a write in flight), that one comes later.
    await c.run('CHECKPOINT').catch(() => undefined);
  }

  private async rollUp(src: string, dst: string, sizeMs: number, name: 'm1' | 'h1', upto: number): Promise<void> {
    const c = this.maintainer;
    let from = this.watermark[name];
    if (from === 0) {
      // The minutes of sealed days are in the day table.
      const oldest = src === 'points_1m' ? `SELECT least((SELECT min(t) FROM points_1m), (SELECT min(day) FROM ${DAY_TABLE}))::DOUBLE` : `SELECT min(t)::DOUBLE FROM ${src}`;
      const first = (await columns(c, oldest, 1))[0]![0];
      if (first === null || first === undefined) {
        // Nothing to roll (one-minute flushes go straight to points_1m): what comes later below `upto` is late.
        if (upto > 0) {
          await c.run(setMark(`watermark_${name}`, upto));
          this.watermark[name] = this.rollingTo[name] = upto;
        }
        return;
      }
      from = Math.floor(Number(first) / sizeMs) * sizeMs;
    }
    if (upto <= from) return;
    this.rollingTo[name] = upto;
    await c.run('BEGIN TRANSACTION');
    try {
      // The new 1-minute rows are kept in memory too (see RecentRows), in the same tick as the watermark moves past them.
      const rolled = await this.rollRange(src, dst, sizeMs, from, upto, undefined, name === 'm1' && this.recent.accepts(upto - sizeMs));
      await c.run(setMark(`watermark_${name}`, upto));
      // New 1-minute rows appear as of this commit, below what is in memory when it lags (see RecentRows.changing).
      const changed = name === 'm1' ? this.recent.changing(from, upto) : undefined;
      try {
        await c.run('COMMIT');
      } finally {
        changed?.();
      }
      this.watermark[name] = upto;
      // Raw rows below the watermark are read only by queries finer than a minute: from DuckDB.
      if (name === 'm1' && upto > this.recentRaw.from) this.recentRaw.trim(upto);
      if (rolled) {
        const [sid, t, ...values] = rolled as [number[], number[], ...number[][]];
        this.recent.addColumns(sid, t, values);
        this.recent.fit();
      } else if (name === 'm1') this.recent.changedBelow(from, upto);
    } catch (err) {
      await c.run('ROLLBACK').catch(() => undefined);
      this.rollingTo[name] = this.watermark[name];
      throw fail(this.path, `rollup into ${dst} failed`, err);
    }
  }

  /**
   * Aggregates the rows of `src` in [from, to) (of the series `ids`, or all) into rows of `dst` per series and bucket (inside the caller's transaction).
   * With `returning`, the rows written: series_id, t, then sum, count, min, max, last (NaN for NULL).
   */
  private async rollRange(src: string, dst: string, sizeMs: number, from: number, to: number, ids?: readonly number[], returning = false): Promise<unknown[][] | undefined> {
    const bucket = `t // ${sizeMs} * ${sizeMs}`;
    const range = `t >= ${from} AND t < ${to}${ids === undefined ? '' : ` AND ${seriesIn(ids)}`}`;
    // points_1m's sealed days are in the day table: both are read.
    if (src === 'points_1m') src = `(${this.m1Rows(DAY_COLUMNS, from, to, ids)}) AS m1`;
    // The same "only what differs from last" rule as raw rows.
    const insert = `INSERT INTO ${dst} SELECT series_id, b, ${sizeMs}, CASE WHEN l IS NOT NULL AND c = 1 THEN NULL ELSE s END, CASE WHEN l IS NOT NULL AND c = 1 THEN NULL ELSE c END, CASE WHEN mn = l THEN NULL ELSE mn END, CASE WHEN mx = l THEN NULL ELSE mx END, l, NULL, NULL, NULL
       FROM (SELECT series_id, ${bucket} AS b, ${PARTIAL_AGGS} FROM ${src} WHERE ${range} GROUP BY series_id, b)`;
    const rows = returning
      ? await columns(this.maintainer, `${insert} RETURNING series_id, t::DOUBLE, ${VALUE_COLUMNS.map((k) => `coalesce(${k}, 'NaN'::DOUBLE)`).join(', ')}`, 2 + VALUE_COLUMNS.length)
      : (await this.maintainer.run(insert), undefined);
    for (const summary of ['sketch', 'members'] as const) await this.rollUpSummaries(src, dst, bucket, range, summary);
    return rows;
  }

  /**
   * Rows that arrived after their minute was rolled up (a backend that
   * caught up, a spool that drained): their minute, and their hour if that
   * is rolled up too, are rebuilt for the series concerned from the finer
   * rows. A minute already past raw retention cannot be rebuilt (its other
   * raw rows are gone); its late rows are counted in `late.pastRetention`.
   */
  private async rerollLate(rawCutoff: number, m1Cutoff: number): Promise<void> {
    if (this.lateMinutes.size === 0 && this.lateHours.size === 0) return;
    const late = this.lateMinutes;
    this.lateMinutes = new Map();
    const hours = this.lateHours;
    this.lateHours = new Map();
    for (const ids of hours.values()) this.late.rerolled += ids.size;
    const c = this.maintainer;
    for (const [minute, ids] of late) {
      // Seen as late while a rollup that then failed was running: the next rollup takes it.
      if (minute >= this.watermark.m1) continue;
      if (minute < rawCutoff) {
        this.late.pastRetention += ids.size;
        continue;
      }
      const which = `series_id IN (${[...ids].join(',')})`;
      await c.run('BEGIN TRANSACTION');
      try {
        if (minute < this.compactedUpto) await this.uncompact(Math.floor(minute / DAY_MS) * DAY_MS, [...ids]);
        await c.run(`DELETE FROM points_1m WHERE ${which} AND t = ${minute} AND direct IS NOT TRUE`);
        await this.rollRange('points_raw', 'points_1m', 60_000, minute, minute + 60_000, [...ids]);
        await c.run('COMMIT');
        this.forgetCachedRows(ids);
        // Their rows of that minute in memory are the old ones: read from DuckDB until they leave memory.
        this.recent.markStale(ids, minute + 60_000);
      } catch (err) {
        await c.run('ROLLBACK').catch(() => undefined);
        for (const id of ids) lateSeriesOf(this.lateMinutes, minute).add(id);
        throw fail(this.path, 'rolling up late rows failed', err);
      }
      this.late.rerolled += ids.size;
      const hour = Math.floor(minute / 3_600_000) * 3_600_000;
      // An hour past 1-minute retention has lost the rows it would be rebuilt from: it keeps what it has.
      if (hour < this.watermark.h1) for (const id of ids) lateSeriesOf(hours, hour).add(id);
    }
    for (const [hour, ids] of hours) {
      if (hour < m1Cutoff || hour >= this.watermark.h1) continue;
      const which = `series_id IN (${[...ids].join(',')})`;
      await c.run('BEGIN TRANSACTION');
      try {
        await c.run(`DELETE FROM points_1h WHERE ${which} AND t = ${hour}`);
        await this.rollRange('points_1m', 'points_1h', 3_600_000, hour, hour + 3_600_000, [...ids]);
        await c.run('COMMIT');
      } catch (err) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw fail(this.path, 'rolling up late rows into hours failed', err);
      }
    }
  }

  /**
   * Moves the rows of the series `ids` for the compacted day `day` back from
   * {@link DAY_TABLE} into points_1m (inside the caller's transaction), so
   * that a minute of it can be deleted and rolled up again (a late raw row).
   * Rare (raw rows arriving for a sealed day, within raw retention); those
   * series' day stays as rows.
   */
  private async uncompact(day: number, ids: readonly number[]): Promise<void> {
    const rows = this.dayRows(DAY_COLUMNS, day, day + DAY_MS, ids);
    if (rows) await this.maintainer.run(`INSERT INTO points_1m SELECT series_id, t, 60000, ${DAY_COLUMNS.join(', ')} FROM (${rows})`);
    await this.maintainer.run(`DELETE FROM ${DAY_TABLE} WHERE day = ${day} AND ${seriesIn(ids)}`);
  }

  /** Merges the sketches (or set members) of each rolled-up bucket into its row of `dst`, in the rollup's transaction. */
  private async rollUpSummaries(src: string, dst: string, bucket: string, range: string, summary: Summary): Promise<void> {
    const c = this.maintainer;
    const cols = await columns(c, `SELECT series_id, (${bucket})::DOUBLE AS b, ${summary} FROM ${src} WHERE ${range} AND ${summary} IS NOT NULL ORDER BY series_id, b`, 3);
    const [sid, b, blobs] = cols as [number[], number[], Uint8Array[]];
    if (sid.length === 0) return;
    await c.run(`CREATE OR REPLACE TEMP TABLE merged_summary (series_id INTEGER, t BIGINT, summary BLOB)`);
    const app = await c.createAppender('merged_summary', 'main', 'temp');
    let sketch: TimerSketch | undefined;
    let set: SetUnion | undefined;
    for (let i = 0; i < sid.length; i++) {
      if (summary === 'members') (set ??= new SetUnion()).addEncoded(blobs[i]!);
      else {
        const one = decodeSketch(blobs[i]!);
        if (sketch) sketch.merge(one);
        else sketch = one;
      }
      if (i + 1 === sid.length || sid[i + 1] !== sid[i] || b[i + 1] !== b[i]) {
        app.appendInteger(sid[i]!);
        app.appendBigInt(BigInt(b[i]!));
        app.appendBlob(set ? set.encode() : encodeSketch(sketch!));
        app.endRow();
        sketch = undefined;
        set = undefined;
      }
    }
    app.closeSync();
    await c.run(`UPDATE ${dst} SET ${summary} = m.summary FROM merged_summary m WHERE ${dst}.series_id = m.series_id AND ${dst}.t = m.t`);
    await c.run(`DROP TABLE merged_summary`);
  }

  /** lastSeen is kept in memory per flush (cheap) and written back here, so a restart keeps it roughly. */
  private async persistLastSeen(): Promise<void> {
    if (this.series.size === 0) return;
    const c = this.maintainer;
    await c.run(`CREATE OR REPLACE TEMP TABLE seen (id INTEGER, last_seen BIGINT)`);
    const app = await c.createAppender('seen', 'main', 'temp');
    for (const s of this.series.values()) {
      app.appendInteger(s.id);
      app.appendBigInt(BigInt(Math.round(s.lastSeen)));
      app.endRow();
    }
    app.closeSync();
    await c.run(`UPDATE series SET last_seen = seen.last_seen FROM seen WHERE series.id = seen.id AND series.last_seen <> seen.last_seen`);
    await c.run(`DROP TABLE seen`);
  }

  /** Size on disk, series and row counts. */
  async stats(): Promise<StoreStats> {
    let bytes = 0;
    for (const f of [this.path, `${this.path}.wal`]) bytes += await stat(f).then((s) => s.size, () => 0);
    const cols = (await this.reader.runAndReadAll(`SELECT (SELECT count(*) FROM points_raw) + (SELECT count(*) FROM (${this.m1Rows([], 0, END_OF_TIME)})) + (SELECT count(*) FROM points_1h)`)).getColumnsJS();
    const blocks = await fileBlocks(this.reader);
    // 8 bytes a number, the unit of the budget; the Maps around them are not counted.
    const memory = { recentRowsBytes: (this.recent.numbers + this.recentRaw.numbers) * 8, recentRowsBudgetBytes: (this.recent.maxKept + this.recentRaw.maxKept) * 8 };
    return { path: this.path, bytes, freeBytes: blocks.free * blocks.blockBytes, series: this.series.size, rows: Number(cols[0]?.[0] ?? 0), late: { ...this.late }, memory };
  }

  /** Rows per resolution (tests, status). */
  async rowCounts(): Promise<Record<'raw' | 'm1' | 'h1', number>> {
    const out = { raw: 0, m1: 0, h1: 0 };
    for (const r of RESOLUTIONS) out[r.name] = Number((await this.reader.runAndReadAll(`SELECT count(*)::DOUBLE FROM ${r.table === 'points_1m' ? `(${this.m1Rows([], 0, END_OF_TIME)})` : r.table}`)).getColumnsJS()[0]?.[0] ?? 0);
    return out;
  }

  /** Totals of `zibrato.*` self-metric counters and the last value of their gauges, per series (for /api/status). */
  async selfMetricTotals(): Promise<{ info: SeriesInfo; value: number }[]> {
    const rows = [...this.series.values()].filter((s) => s.name.startsWith('zibrato.'));
    if (rows.length === 0) return [];
    const src = this.source(
      rows.map((s) => s.id),
      0,
      this.now() + 1,
      3_600_000,
      undefined,
    );
    const cols = await columns(this.reader, `SELECT series_id, sum(sum) AS s, arg_max(last, t) AS l FROM (${src}) GROUP BY series_id`, 3);
    const [sid, s, l] = cols as [number[], (number | null)[], (number | null)[]];
    return sid.map((id, i) => {
      const row = this.byId.get(id)!;
      return { info: info(row), value: row.type === 'gauge' ? (l[i] ?? 0) : (s[i] ?? 0) };
    });
  }

  async listDashboards(): Promise<{ name: string; updated: number; charts: number }[]> {
    const rows = (await this.reader.runAndReadAll(`SELECT name, updated::DOUBLE AS updated, body FROM dashboards ORDER BY name`)).getRowObjectsJS();
    return rows.map((r) => ({ name: String(r.name), updated: Number(r.updated), charts: ((JSON.parse(String(r.body)) as { charts?: unknown[] }).charts ?? []).length }));
  }

  async getDashboard(name: string): Promise<unknown> {
    const rows = (await this.reader.runAndReadAll(`SELECT body FROM dashboards WHERE name = $name`, { name })).getRowObjectsJS();
    return rows[0] ? JSON.parse(String(rows[0].body)) : undefined;
  }

  async putDashboard(name: string, body: unknown): Promise<void> {
    await this.writer.run(`INSERT OR REPLACE INTO dashboards VALUES ($name, $updated, $body)`, { name, updated: this.now(), body: JSON.stringify(body) });
  }

  /** Returns false when there was no such dashboard. */
  async deleteDashboard(name: string): Promise<boolean> {
    const existed = (await this.getDashboard(name)) !== undefined;
    await this.writer.run(`DELETE FROM dashboards WHERE name = $name`, { name });
    return existed;
  }

  /**
   * Waits for a running maintenance pass, checkpoints and closes the file,
   * then rewrites it without its free blocks when they are worth it (see
   * {@link RECLAIM_FREE_FRACTION}).
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.loadingRecent;
    await this.maintaining?.catch(() => undefined);
    await this.persistLastSeen().catch(() => undefined);
    const checkpointed = await this.writer.run('CHECKPOINT').then(
      () => true,
      () => false,
    );
    const blocks = checkpointed ? await fileBlocks(this.writer).catch(() => undefined) : undefined;
    for (const c of [this.writer, this.maintainer, this.reader, this.recentReader]) c.closeSync();
    this.instance.closeSync();
    if (blocks && blocks.free >= RECLAIM_FREE_FRACTION * blocks.total && blocks.total * blocks.blockBytes <= RECLAIM_MAX_BYTES) await reclaimFreeBlocks(this.path);
  }
}

/**
 * The marks a store keeps: rollup watermarks, the end of the last compacted
 * day, the finest flush interval. Each is a row of `series` of this type
 * (its `key`, its value in `last_seen`), not a table of its own: DuckDB ends
 * each table's data in a block of its own, so a table of four rows took a
 * 256 KiB block, and its primary key another (0.26 bytes a point on 200
 * series × 7 days).
 */
const MARK_TYPE = 'mark';
const MARKS = ['watermark_m1', 'watermark_h1', 'raw_interval_ms', 'compacted_days_1m'] as const;

/** SQL that sets a mark (its row exists: see initMarks). */
function setMark(key: (typeof MARKS)[number], value: number): string {
  return `UPDATE series SET last_seen = ${Math.round(value)} WHERE type = '${MARK_TYPE}' AND key = '${key}'`;
}

/** The temporary file a stopped store is rewritten into, beside it. */
const RECLAIM_SUFFIX = '.reclaim';

/** Blocks of the database file: all, free, and their size. */
async function fileBlocks(c: DuckDBConnection): Promise<{ total: number; free: number; blockBytes: number }> {
  const [total = [], free = [], size = []] = await columns(c, `SELECT total_blocks::DOUBLE, free_blocks::DOUBLE, block_size::DOUBLE FROM pragma_database_size() WHERE database_name = current_database()`, 3);
  return { total: Number(total[0] ?? 0), free: Number(free[0] ?? 0), blockBytes: Number(size[0] ?? 0) };
}

/**
 * Rewrites a closed database into a fresh file (every table, in its row
 * order, so compacted days stay clustered) and renames it over the old one.
 * DuckDB has no VACUUM that shrinks a file: free blocks are only reused.
 * The rename is atomic; until it, the old file is whole, and when anything
 * fails it is kept as it is (only larger than it needs to be).
 */
async function reclaimFreeBlocks(path: string): Promise<void> {
  // A WAL left beside the file (its last checkpoint failed) holds rows the copy would not see.
  if (await stat(`${path}.wal`).then(() => true, () => false)) return;
  const fresh = `${path}${RECLAIM_SUFFIX}`;
  const quoted = (p: string) => `'${p.replaceAll("'", "''")}'`;
  const duckdb = await loadDuckDb();
  let copied = false;
  try {
    await rm(fresh, { force: true });
    const instance = await duckdb.DuckDBInstance.create(':memory:');
    try {
      const c = await instance.connect();
      try {
        await c.run(`ATTACH ${quoted(path)} AS old (READ_ONLY)`);
        await c.run(`ATTACH ${quoted(fresh)} AS fresh`);
        await c.run('COPY FROM DATABASE old TO fresh');
        await c.run('CHECKPOINT fresh');
        await c.run('DETACH fresh');
        await c.run('DETACH old');
        copied = true;
      } finally {
        c.closeSync();
      }
    } finally {
      instance.closeSync();
    }
    if (copied) await rename(fresh, path);
  } catch {
    // The old file is intact and still the database; the copy is discarded below.
  } finally {
    if (!copied) await rm(fresh, { force: true }).catch(() => undefined);
    await rm(`${fresh}.wal`, { force: true }).catch(() => undefined);
  }
}

/**
 * `series_id` among `ids`, as SQL: runs of three or more consecutive ids as
 * ranges (the series of one name are mostly created together, so a query
 * of all of them is often one range), the others as an IN list. DuckDB
 * plans a long IN list at several µs an id, and a read of day rows writes
 * it in every branch (measured: the top-20 of 1,000 series over 7 days, 15
 * lists, ~100 ms to plan).
 */
function seriesIn(ids: readonly number[]): string {
  const sorted = [...ids].sort((a, b) => a - b);
  const parts: string[] = [];
  const singles: number[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    if (j - i >= 2) parts.push(`series_id BETWEEN ${sorted[i]} AND ${sorted[j]}`);
    else for (let k = i; k <= j; k++) singles.push(sorted[k]!);
    i = j + 1;
  }
  if (singles.length > 0) parts.push(`series_id IN (${singles.join(',')})`);
  return parts.length === 1 ? parts[0]! : `(${parts.length > 0 ? parts.join(' OR ') : 'FALSE'})`;
}

/** True when `tags` has every `[key, value]` of `wanted` (a loop: a closure per series costs a query over 1,000 series ~100 KB). */
function hasTags(tags: Tags, wanted: readonly (readonly [string, string])[]): boolean {
  for (const [k, v] of wanted) if (tags[k] !== v) return false;
  return true;
}

function lateSeriesOf(late: Map<number, Set<number>>, bucket: number): Set<number> {
  let ids = late.get(bucket);
  if (!ids) late.set(bucket, (ids = new Set()));
  return ids;
}

/** DuckDB's conversion of its values to plain JS ones (a BLOB as a Uint8Array, NULL as null), set when a store opens (DuckDB is loaded on demand). */
let toJs: DuckDBValueConverter<JS> | undefined;

/**
 * Runs a query and returns its columns as JS values; an empty result gives
 * `count` empty columns (DuckDB gives none). The result is materialized by
 * the query itself and its chunks are converted here synchronously:
 * `runAndReadAll` would fetch each chunk, and then the end, in one more trip
 * through the thread pool each (two more for a small query, each a thread
 * to wake up on a busy machine).
 */
async function columns(c: DuckDBConnection, sql: string, count: number): Promise<unknown[][]> {
  const result = await c.run(sql);
  const chunks: DuckDBDataChunk[] = [];
  let rows = 0;
  for (let k = 0; k < result.chunkCount; k++) {
    const chunk = result.getChunk(k);
    chunks.push(chunk);
    rows += chunk.rowCount;
  }
  const cols: unknown[][] = [];
  // Each column is allocated at its size and filled in place (numbers unboxed), not grown by push through an intermediate array per chunk.
  for (let i = 0; i < Math.max(count, result.columnCount); i++) cols.push(new Array<unknown>(i < result.columnCount ? rows : 0));
  let at = 0;
  for (const chunk of chunks) {
    const n = chunk.rowCount;
    for (let i = 0; i < chunk.columnCount; i++) {
      const col = cols[i]!;
      const vector = chunk.getColumnVector(i);
      for (let r = 0; r < n; r++) {
        const v = vector.getItem(r);
        col[at + r] = typeof v === 'number' || v === null ? v : toJs!(v, vector.type, toJs!);
      }
    }
    at += n;
  }
  return cols;
}

function info(s: SeriesRow): SeriesInfo {
  return { key: s.key, name: s.name, type: s.type, level: s.level, source: s.source, tags: s.tags, lastSeen: s.lastSeen };
}

/** The value columns (sum, count, min, max, last) of the row {@link appendPoint} appends last, NaN for NULL: reused, no allocation per point. */
const POINT_VALUES = new Float64Array(VALUE_COLUMNS.length);

/**
 * The value columns of a point's row, by type, into {@link POINT_VALUES}. A
 * gauge's sum and count are implied by last (one value), its min and max
 * stored only when they differ from it (see PARTIAL_AGGS).
 */
function pointValues(p: MetricPoint): Float64Array {
  const v = POINT_VALUES;
  v.fill(NaN);
  switch (p.type) {
    case 'counter':
      v[0] = p.value;
      break;
    case 'gauge':
      v[2] = unlessSame(p.min, p.value);
      v[3] = unlessSame(p.max, p.value);
      v[4] = p.value;
      break;
    case 'timer':
      v[0] = p.sum;
      v[1] = p.count;
      v[2] = p.min;
      v[3] = p.max;
      break;
    case 'set':
      v[4] = p.value;
      break;
  }
  return v;
}

/** One raw row per point: columns sum, count, min, max, last by type (see pointValues), then a timer's sketch and a set's members. */
function appendPoint(a: DuckDBAppender, id: number, t: number, intervalMs: number, p: MetricPoint, direct: boolean): void {
  a.appendInteger(id);
  a.appendBigInt(BigInt(t));
  a.appendInteger(Math.round(intervalMs));
  const values = pointValues(p);
  for (let k = 0; k < values.length; k++) {
    const v = values[k]!;
    if (Number.isNaN(v)) a.appendNull();
    else a.appendDouble(v);
  }
  if (p.type === 'timer' && p.sketch && p.count > 0) a.appendBlob(encodeSketch(p.sketch));
  else a.appendNull();
  if (p.type === 'set' && p.summary) a.appendBlob(encodeSetSummary(p.summary));
  else a.appendNull();
  if (direct) a.appendBoolean(true);
  else a.appendNull();
  a.endRow();
}

function unlessSame(v: number | undefined, value: number): number {
  return v === undefined || !Number.isFinite(v) || v === value ? NaN : v;
}

/** The SQL form of each statistic over a step's partial (s, c, mn, mx, l); `$step` is the step in seconds. */
const SQL_STAT: Record<string, string> = {
  rate: 's / $step',
  sum: 's',
  last: 'l',
  avg: 's / nullif(c, 0)',
  min: 'mn',
  max: 'mx',
  count: 'c',
  mean: 's / nullif(c, 0)',
  cardinality: 'mx',
};

/** A statistic from one partial; null when the partial has no data for it. */
function statValue(p: Partial, stat: string, stepMs: number, quantile: number | undefined): number | null {
  if (quantile !== undefined) {
    if (!p.sketch || p.count === 0) return null;
    return Math.min(p.max, Math.max(p.min, p.sketch.getValueAtQuantile(quantile)));
  }
  switch (stat) {
    case 'rate':
      return p.sum / (stepMs / 1000);
    case 'sum':
      return p.sum;
    case 'last':
      return p.last;
    case 'avg':
    case 'mean':
      return p.count > 0 ? p.sum / p.count : null;
    case 'min':
      return Number.isNaN(p.min) ? null : p.min;
    case 'cardinality':
      // Rows written before sets kept their members have only the interval's count: the largest is the best bound left.
      if (p.set) return p.set.size;
      return Number.isNaN(p.max) ? null : p.max;
    case 'max':
      return Number.isNaN(p.max) ? null : p.max;
    case 'count':
      return p.count;
    default:
      return null;
  }
}

/** How a group (groupBy) combines its members' values: min/max keep the extreme, the rest add up. */
function combine(stat: string, a: number, b: number): number {
  if (stat === 'min') return Math.min(a, b);
  if (stat === 'max') return Math.max(a, b);
  return a + b;
}

/** Means and percentiles of a group are not sums: merge the members' partials (sketches included) first. */
function groupedValue(members: (Partial | undefined)[][], i: number, stat: string, stepMs: number, quantile: number | undefined): number | null {
  const merged: Partial = { sum: 0, count: 0, min: Infinity, max: -Infinity, last: null };
  for (const m of members) {
    const p = m[i];
    if (!p) continue;
    merged.sum += p.sum;
    merged.count += p.count;
    if (p.min < merged.min) merged.min = p.min;
    if (p.max > merged.max) merged.max = p.max;
    if (p.sketch) {
      merged.sketch ??= new TimerSketch();
      merged.sketch.merge(p.sketch);
    }
    if (p.set) {
      merged.set ??= new SetUnion();
      merged.set.merge(p.set);
    }
  }
  return statValue(merged, stat, stepMs, quantile);
}
