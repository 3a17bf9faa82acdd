import { ZibratoError } from '../errors.js';
import { parseDurationMs } from '../cli/duration.js';

/** A bad API parameter: answered with 400 and `param` naming it. */
export class BadQueryError extends ZibratoError {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super('ZIB_ERR_BAD_QUERY', `${param}: ${message}`);
    this.name = 'BadQueryError';
  }
}

export type SeriesType = 'counter' | 'gauge' | 'timer' | 'set';

/** The statistics each type answers; the first is the default (one list, used by the API, the CLI and docs). */
export const STATS_BY_TYPE: Record<SeriesType, readonly string[]> = {
  counter: ['rate', 'sum'],
  gauge: ['last', 'avg', 'min', 'max'],
  timer: ['p99', 'p50', 'p90', 'p95', 'mean', 'max', 'min', 'count'],
  set: ['cardinality'],
};

/** Timer statistics answered by merging sketches, with their quantile. */
export const QUANTILE_OF_STAT: Readonly<Record<string, number>> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };

/** The unit of a statistic's values, for chart axes. */
export function unitOf(type: SeriesType, stat: string): string {
  if (type === 'counter') return stat === 'rate' ? '/s' : '';
  if (type === 'timer') return stat === 'count' ? '' : 'ms';
  return '';
}

/** Filters shared by /api/series and /api/query. */
export interface SeriesFilter {
  /** Name substring, or a glob when it contains `*`. */
  q?: string;
  /** Exact name, or a glob when it contains `*`. */
  name?: string;
  level?: string;
  source?: string;
  type?: SeriesType;
  tags: [string, string][];
}

/** A parsed /api/query. */
export interface QuerySpec extends SeriesFilter {
  name: string;
  stat?: string;
  fromMs: number;
  toMs: number;
  /** Undefined means auto. */
  stepMs?: number;
  groupBy?: string;
  top: number;
}

const TYPES: readonly SeriesType[] = ['counter', 'gauge', 'timer', 'set'];
/** Most points one series may have with an explicit step (auto keeps ≤ ~1000). */
export const MAX_POINTS_PER_SERIES = 11_000;
export const MAX_SERIES_LIMIT = 1000;

function one(params: URLSearchParams, key: string): string | undefined {
  const v = params.get(key);
  return v === null || v === '' ? undefined : v;
}

/** A glob (`*` any run of characters) or substring matcher. */
export function nameMatcher(pattern: string, exact: boolean): (name: string) => boolean {
  if (pattern.includes('*')) {
    const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    return (n) => re.test(n);
  }
  return exact ? (n) => n === pattern : (n) => n.includes(pattern);
}

function parseTags(params: URLSearchParams): [string, string][] {
  return params.getAll('tag').map((t) => {
    const i = t.indexOf(':');
    if (i <= 0) throw new BadQueryError('tag', `expected key:value, got ${JSON.stringify(t)}`);
    return [t.slice(0, i), t.slice(i + 1)];
  });
}

function parseFilter(params: URLSearchParams): SeriesFilter {
  const type = one(params, 'type');
  if (type !== undefined && !TYPES.includes(type as SeriesType)) throw new BadQueryError('type', `expected one of ${TYPES.join(', ')}, got ${JSON.stringify(type)}`);
  return { q: one(params, 'q'), level: one(params, 'level'), source: one(params, 'source'), type: type as SeriesType | undefined, tags: parseTags(params) };
}

/** Parses /api/series parameters. */
export function parseSeriesParams(params: URLSearchParams): SeriesFilter & { limit: number } {
  const limitText = one(params, 'limit') ?? '100';
  const limit = Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SERIES_LIMIT) throw new BadQueryError('limit', `expected an integer from 1 to ${MAX_SERIES_LIMIT}, got ${JSON.stringify(limitText)}`);
  return { ...parseFilter(params), limit };
}

function duration(param: string, text: string): number {
  try {
    const ms = parseDurationMs(text, param);
    if (!(ms > 0)) throw new Error('must be positive');
    return ms;
  } catch {
    throw new BadQueryError(param, `expected a duration such as 10s, 5m, 1h, 7d, got ${JSON.stringify(text)}`);
  }
}

/** A time: Unix ms, RFC 3339, `now`, or relative to now (`-1h`, `now-1h`). */
export function parseTime(param: string, text: string, nowMs: number): number {
  const t = text.trim();
  if (t === 'now') return nowMs;
  const rel = /^(?:now)?-(.+)$/.exec(t);
  if (rel) return nowMs - duration(param, rel[1]!);
  if (/^\d+$/.test(t)) return Number(t);
  if (/^\d{4}-\d{2}-\d{2}T/.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw new BadQueryError(param, `expected Unix milliseconds, an RFC 3339 time, "now" or a relative time such as -1h, got ${JSON.stringify(text)}`);
}

/** Parses /api/query parameters (the same ones `zibrato query` sends). */
export function parseQueryParams(params: URLSearchParams, nowMs: number): QuerySpec {
  const filter = parseFilter(params);
  const name = one(params, 'name');
  if (name === undefined) throw new BadQueryError('name', 'is required (an exact name or a glob such as db.*)');
  const since = one(params, 'since');
  const fromText = one(params, 'from');
  if (since !== undefined && fromText !== undefined) throw new BadQueryError('since', 'give either since or from/to, not both');
  const toMs = since !== undefined ? nowMs : parseTime('to', one(params, 'to') ?? 'now', nowMs);
  const fromMs = since !== undefined ? nowMs - duration('since', since) : parseTime('from', fromText ?? '-1h', nowMs);
  if (!(fromMs < toMs)) throw new BadQueryError('from', `must be before to (from ${fromMs}, to ${toMs})`);
  const stepText = one(params, 'step') ?? 'auto';
  let stepMs: number | undefined;
  if (stepText !== 'auto') {
    stepMs = duration('step', stepText);
    if ((toMs - fromMs) / stepMs > MAX_POINTS_PER_SERIES) throw new BadQueryError('step', `${stepText} gives more than ${MAX_POINTS_PER_SERIES} points over the range; use a larger step or auto`);
  }
  const stat = one(params, 'stat');
  const allStats = new Set(Object.values(STATS_BY_TYPE).flat());
  if (stat !== undefined && !allStats.has(stat)) throw new BadQueryError('stat', `unknown statistic ${JSON.stringify(stat)}; known: ${[...allStats].join(', ')}`);
  const topText = one(params, 'top') ?? '20';
  const top = Number(topText);
  if (!Number.isInteger(top) || top < 1 || top > MAX_SERIES_LIMIT) throw new BadQueryError('top', `expected an integer from 1 to ${MAX_SERIES_LIMIT}, got ${JSON.stringify(topText)}`);
  return { ...filter, name, stat, fromMs, toMs, stepMs, groupBy: one(params, 'groupBy'), top };
}

/** Steps an automatic query may use: round numbers a chart axis reads well. */
const NICE_STEPS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800].map((s) => s * 1000);

/** The automatic step: the smallest round step giving ≤ ~1000 points, never finer than the stored resolution. */
export function autoStepMs(rangeMs: number, finestMs: number): number {
  const wanted = Math.max(rangeMs / 1000, finestMs);
  return NICE_STEPS_MS.find((s) => s >= wanted) ?? Math.ceil(wanted / 86_400_000) * 86_400_000;
}
