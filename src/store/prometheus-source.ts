import { ZibratoError } from '../errors.js';
import type { Tags } from '../wire/series-encoding.js';
import { BadQueryError, QUANTILE_OF_STAT, STATS_BY_TYPE, autoStepMs, unitOf, type QuerySpec, type SeriesFilter, type SeriesType } from './query-params.js';
import type { QueryResult, SeriesInfo } from './store.js';

/**
 * Where the web UI's series and charts come from: the embedded store, or a
 * Prometheus-compatible query API ({@link PrometheusSource}). The HTTP API
 * (docs/http-api.md) is the same either way.
 */
export interface SeriesSource {
  listSeries(filter: SeriesFilter & { limit: number }): Promise<{ total: number; series: SeriesInfo[] }> | { total: number; series: SeriesInfo[] };
  query(q: QuerySpec): Promise<QueryResult>;
}

export interface PrometheusSourceOptions {
  /** Base URL of the query API: Prometheus `http://host:9090`, VictoriaMetrics `http://host:8428`. */
  url: string;
  /** The `namespace` the remote-write sink prefixed names with (e.g. `zibrato_`): only those names are listed, shown without it. */
  namespace: string;
  /** Optional bearer token for the query API. */
  bearerToken?: string;
  timeoutMs: number;
  /** How far back /api/series looks for series. */
  lookbackMs: number;
  now?: () => number;
}

/** Prometheus series that belong to another one (summary parts) and are not listed on their own. */
const PART_SUFFIXES = ['_sum', '_count', '_bucket'] as const;
/** Labels that are Prometheus' own, not Zibrato tags. */
const NOT_TAGS = new Set(['__name__', 'quantile', 'source', 'job', 'instance']);
/** The shortest window a rate is taken over: a few flushes of the usual 10 s, so a step finer than the flush still has two samples. */
const MIN_RATE_WINDOW_MS = 60_000;
/** Timers reach Prometheus in seconds; the API answers milliseconds. */
const MS_PER_SECOND = 1000;

interface PromSeriesLabels {
  __name__: string;
  [label: string]: string;
}

/** The PromQL string literal of a value. */
function quote(v: string): string {
  return JSON.stringify(v);
}

/** A glob (`*`) or exact name as a PromQL regex on the sanitised name. */
function nameRegex(pattern: string): string {
  return pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
}

function seriesKey(type: SeriesType, name: string, source: string | null, tags: Tags): string {
  let key = `${type}:${name}`;
  if (source) key += `@${source}`;
  for (const k of Object.keys(tags).sort()) key += `;${k}=${tags[k]}`;
  return key;
}

/**
 * The UI's series and statistics read from a Prometheus-compatible API
 * (`/api/v1/series`, `/api/v1/query_range`), for data a remote-write sink sent
 * to Prometheus or VictoriaMetrics. Names are the sanitised Prometheus names
 * without the namespace and the type suffix (`jobs_done` for
 * `zibrato_jobs_done_total`); the type comes from the name: `_total` is a
 * counter, a name with `quantile` series or a `_seconds` native histogram a
 * timer, anything else a gauge (sets are exported as gauges). Statistics map
 * to PromQL (docs/http-api.md, "Reading from Prometheus").
 */
export class PrometheusSource implements SeriesSource {
  private readonly headers: Record<string, string>;
  private readonly now: () => number;

  constructor(private readonly o: PrometheusSourceOptions) {
    this.headers = o.bearerToken ? { Authorization: `Bearer ${o.bearerToken}` } : {};
    this.now = o.now ?? Date.now;
  }

  private async get<T>(path: string, params: URLSearchParams): Promise<T> {
    const url = `${this.o.url.replace(/\/$/, '')}${path}?${params}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: this.headers, signal: AbortSignal.timeout(this.o.timeoutMs) });
    } catch (err) {
      throw new ZibratoError('ZIB_ERR_STORE_FAILED', `the Prometheus source ${this.o.url} cannot be reached: ${(err as Error).message}`, { cause: err });
    }
    const body = (await res.json().catch(() => ({}))) as { status?: string; error?: string; data?: T };
    if (res.status === 400 || res.status === 422) throw new BadQueryError('name', `the Prometheus source refused the query: ${body.error ?? res.status}`);
    if (body.status !== 'success' || body.data === undefined) throw new ZibratoError('ZIB_ERR_STORE_FAILED', `the Prometheus source ${this.o.url} answered ${res.status}: ${body.error ?? 'no data'}`);
    return body.data;
  }

  /** Every Zibrato series the source holds (namespace prefix), classified. */
  private async allSeries(): Promise<SeriesInfo[]> {
    const toMs = this.now();
    const params = new URLSearchParams({ start: String((toMs - this.o.lookbackMs) / 1000), end: String(toMs / 1000) });
    // `.+`: Prometheus refuses a selector that matches the empty name.
    params.append('match[]', `{__name__=~${quote(`${nameRegex(this.o.namespace)}.+`)}}`);
    const labelSets = await this.get<PromSeriesLabels[]>('/api/v1/series', params);
    const byKey = new Map<string, SeriesInfo>();
    const timers = new Set<string>();
    for (const l of labelSets) if (l.quantile !== undefined) timers.add(l.__name__);
    for (const labels of labelSets) {
      let metric = labels.__name__;
      if (!metric.startsWith(this.o.namespace)) continue;
      metric = metric.slice(this.o.namespace.length);
      if (PART_SUFFIXES.some((s) => metric.endsWith(s) && timers.has(labels.__name__.slice(0, -s.length)))) continue;
      let type: SeriesType;
      let name: string;
      if (metric.endsWith('_total')) {
        type = 'counter';
        name = metric.slice(0, -'_total'.length);
      } else if (labels.quantile !== undefined || metric.endsWith('_seconds')) {
        type = 'timer';
        name = metric.endsWith('_seconds') ? metric.slice(0, -'_seconds'.length) : metric;
      } else {
        type = 'gauge';
        name = metric;
      }
      const tags: Tags = Object.fromEntries(Object.entries(labels).filter(([k]) => !NOT_TAGS.has(k)));
      const source = labels.source ?? null;
      const key = seriesKey(type, name, source, tags);
      if (!byKey.has(key)) byKey.set(key, { key, name, type, level: null, source, tags, lastSeen: toMs });
    }
    return [...byKey.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private static matches(s: SeriesInfo, filter: SeriesFilter, exactName?: string): boolean {
    if (exactName !== undefined && !(exactName.includes('*') ? new RegExp(`^${nameRegex(exactName)}$`).test(s.name) : s.name === exactName)) return false;
    if (exactName === undefined && filter.q !== undefined && !(filter.q.includes('*') ? new RegExp(`^${nameRegex(filter.q)}$`).test(s.name) : s.name.includes(filter.q))) return false;
    if (filter.type !== undefined && s.type !== filter.type) return false;
    // Prometheus keeps no level: a level filter matches nothing rather than everything.
    if (filter.level !== undefined) return false;
    if (filter.source !== undefined && (s.source ?? '') !== filter.source) return false;
    return filter.tags.every(([k, v]) => s.tags[k] === v);
  }

  async listSeries(filter: SeriesFilter & { limit: number }): Promise<{ total: number; series: SeriesInfo[] }> {
    const all = (await this.allSeries()).filter((s) => PrometheusSource.matches(s, filter));
    return { total: all.length, series: all.slice(0, filter.limit) };
  }

  /** The PromQL of a statistic for one series' selector, per step (`rangeMs` the step). */
  private expr(type: SeriesType, stat: string, s: SeriesInfo, groupBy: string | undefined, stepMs: number, nativeTimer: boolean): string {
    const labels: string[] = [];
    if (groupBy === undefined) {
      if (s.source !== null) labels.push(`source=${quote(s.source)}`);
      for (const [k, v] of Object.entries(s.tags)) labels.push(`${k}=${quote(v)}`);
    }
    const sel = (suffix: string, extra: string[] = []): string => `${this.o.namespace}${s.name}${suffix}{${[...labels, ...extra].join(',')}}`;
    const step = `${Math.round(stepMs / 1000)}s`;
    const window = `${Math.round(Math.max(stepMs, MIN_RATE_WINDOW_MS) / 1000)}s`;
    const agg = (inner: string, how = 'sum'): string => (groupBy === undefined ? inner : `${how} by (${groupBy}) (${inner})`);
    if (type === 'counter') return stat === 'rate' ? agg(`rate(${sel('_total')}[${window}])`) : agg(`increase(${sel('_total')}[${step}])`);
    if (type === 'gauge' || type === 'set') {
      const fn = stat === 'avg' ? 'avg_over_time' : stat === 'min' ? 'min_over_time' : stat === 'max' ? 'max_over_time' : 'last_over_time';
      return agg(`${fn}(${sel('')}[${step}])`, stat === 'min' ? 'min' : stat === 'max' ? 'max' : stat === 'avg' ? 'avg' : 'sum');
    }
    const q = QUANTILE_OF_STAT[stat];
    if (nativeTimer) {
      // Native histograms merge: the group's buckets are summed before the quantile.
      const h = agg(`rate(${sel('_seconds')}[${window}])`);
      if (q !== undefined) return `histogram_quantile(${q}, ${h}) * ${MS_PER_SECOND}`;
      if (stat === 'mean') return `histogram_sum(${h}) / histogram_count(${h}) * ${MS_PER_SECOND}`;
      if (stat === 'count') return `histogram_count(${agg(`increase(${sel('_seconds')}[${step}])`)})`;
    } else {
      if (q !== undefined) {
        if (groupBy !== undefined) throw new BadQueryError('groupBy', 'percentiles of summaries cannot be merged; send timers as native histograms (remote-write nativeHistograms) to group them');
        return `max_over_time(${sel('_seconds', [`quantile=${quote(String(q))}`])}[${step}]) * ${MS_PER_SECOND}`;
      }
      if (stat === 'mean') return `${agg(`rate(${sel('_seconds_sum')}[${window}])`)} / ${agg(`rate(${sel('_seconds_count')}[${window}])`)} * ${MS_PER_SECOND}`;
      if (stat === 'count') return agg(`increase(${sel('_seconds_count')}[${step}])`);
    }
    throw new BadQueryError('stat', `${stat} of a timer is not kept by Prometheus (available: p50, p90, p95, p99, mean, count)`);
  }

  /** Whether a timer was sent as native histograms (the summary form has `quantile` series). */
  private async isNative(s: SeriesInfo): Promise<boolean> {
    const toMs = this.now();
    const params = new URLSearchParams({ start: String((toMs - this.o.lookbackMs) / 1000), end: String(toMs / 1000) });
    params.append('match[]', `${this.o.namespace}${s.name}_seconds_count`);
    return (await this.get<unknown[]>('/api/v1/series', params)).length === 0;
  }

  async query(q: QuerySpec): Promise<QueryResult> {
    let matched = (await this.allSeries()).filter((s) => PrometheusSource.matches(s, q, q.name));
    const stat = q.stat ?? (matched[0] ? STATS_BY_TYPE[matched[0].type][0]! : 'p99');
    const all = matched;
    matched = matched.filter((s) => STATS_BY_TYPE[s.type].includes(stat));
    if (q.stat !== undefined && matched.length === 0 && all.length > 0) throw new BadQueryError('stat', `${stat} does not apply to the matching series (types: ${[...new Set(all.map((s) => s.type))].join(', ')})`);
    const type: SeriesType = matched[0]?.type ?? (Object.keys(STATS_BY_TYPE) as SeriesType[]).find((t) => STATS_BY_TYPE[t].includes(stat))!;
    const step = q.stepMs ?? autoStepMs(q.toMs - q.fromMs, 1000);
    const from = Math.floor(q.fromMs / step) * step;
    const to = q.toMs;
    const result: QueryResult = { from, to, step, stat, unit: unitOf(type, stat), total: 0, series: [] };
    if (matched.length === 0) return result;
    const buckets = Math.max(1, Math.ceil((to - from) / step));
    // One query per name (a group spans its name's series); per series without groupBy.
    const targets = q.groupBy === undefined ? matched : [...new Map(matched.map((s) => [s.name, s])).values()];
    const out: { info: Omit<SeriesInfo, 'lastSeen'>; points: [number, number | null][]; mean: number }[] = [];
    for (const s of targets) {
      const native = s.type === 'timer' && (await this.isNative(s));
      // The value of the step starting at b is evaluated at b + step (Prometheus looks back from the evaluation time).
      const params = new URLSearchParams({ query: this.expr(s.type, stat, s, q.groupBy, step, native), start: String((from + step) / 1000), end: String((from + buckets * step) / 1000), step: String(step / 1000) });
      const data = await this.get<{ result: { metric: Record<string, string>; values: [number, string][] }[] }>('/api/v1/query_range', params);
      for (const r of data.result) {
        const points: [number, number | null][] = Array.from({ length: buckets }, (_, i) => [from + i * step, null]);
        let total = 0;
        let n = 0;
        for (const [t, v] of r.values) {
          const i = Math.round((t * 1000 - step - from) / step);
          const x = Number(v);
          if (i < 0 || i >= buckets || !Number.isFinite(x)) continue;
          points[i]![1] = x;
          total += x;
          n++;
        }
        const info: Omit<SeriesInfo, 'lastSeen'> =
          q.groupBy !== undefined
            ? { key: `${s.name}{${q.groupBy}=${r.metric[q.groupBy] ?? ''}}`, name: s.name, type: s.type, level: null, source: null, tags: { [q.groupBy]: r.metric[q.groupBy] ?? '' } }
            : { key: s.key, name: s.name, type: s.type, level: s.level, source: s.source, tags: s.tags };
        out.push({ info, points, mean: n > 0 ? total / n : -Infinity });
      }
    }
    result.total = out.length;
    out.sort((a, b) => b.mean - a.mean);
    result.series = out.slice(0, q.top).map((x) => ({ ...x.info, points: x.points }));
    return result;
  }
}
