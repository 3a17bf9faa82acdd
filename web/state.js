// The whole view lives in the URL (reload or share a link → same charts).
// This module is pure (no DOM) so node tests can check that parse(format(v)) === v.

/** Time-range presets offered by the page, in the store's duration syntax. */
export const PRESETS = ['5m', '1h', '24h', '7d'];
export const DEFAULT_SINCE = '1h';
export const VIEWS = ['explore', 'dashboards', 'status'];
export const LEVELS = ['debug', 'info', 'warn', 'error', 'crit'];

/** The statistics the store answers per type; the first is the store's default. */
export const STATS = {
  counter: ['rate', 'sum'],
  gauge: ['last', 'avg', 'min', 'max'],
  timer: ['p99', 'p50', 'p90', 'p95', 'mean', 'max', 'min', 'count'],
  set: ['cardinality'],
};

/** Query parameters a chart keeps (the /api/query parameters, as strings). */
export const CHART_KEYS = ['name', 'stat', 'level', 'source', 'tag', 'groupBy', 'top'];

const DURATION = /^\d+(ms|s|m|h|d|w)$/;

/**
 * @typedef {{ since: string } | { from: number, to: number, resume: string }} Range
 * @typedef {{ title: string, query: Record<string, string> }} Chart
 * @typedef {{ view: string, dashboard: string, range: Range, search: { q: string, level: string, source: string, tag: string, type: string }, charts: Chart[] }} ViewState
 */

/** @returns {ViewState} */
export function emptyState() {
  return { view: 'explore', dashboard: '', range: { since: DEFAULT_SINCE }, search: { q: '', level: '', source: '', tag: '', type: '' }, charts: [] };
}

/** True while the view follows "now" (live updates apply); false once zoomed to a fixed window. */
export function isLive(range) {
  return 'since' in range;
}

/** Keeps only known, non-empty chart parameters, in a fixed order (so equal charts format equally). */
export function normalizeQuery(query) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const k of CHART_KEYS) {
    const v = query[k];
    if (typeof v === 'string' && v !== '') out[k] = v;
  }
  return out;
}

/**
 * Reads a view from a query string (`location.search`). Unknown or malformed
 * parameters fall back to defaults rather than failing: a shared link from an
 * older version should still open.
 * @param {string} search
 * @returns {ViewState}
 */
export function parseState(search) {
  const p = new URLSearchParams(search);
  const s = emptyState();
  const view = p.get('view');
  if (view && VIEWS.includes(view)) s.view = view;
  s.dashboard = p.get('d') ?? '';
  const from = Number(p.get('from'));
  const to = Number(p.get('to'));
  const since = p.get('since');
  if (p.has('from') && p.has('to') && Number.isFinite(from) && Number.isFinite(to) && from < to) {
    const resume = p.get('resume');
    s.range = { from, to, resume: resume && DURATION.test(resume) ? resume : DEFAULT_SINCE };
  } else if (since && DURATION.test(since)) {
    s.range = { since };
  }
  for (const k of /** @type {const} */ (['q', 'level', 'source', 'tag', 'type'])) s.search[k] = p.get(k) ?? '';
  for (const c of p.getAll('c')) {
    const cp = new URLSearchParams(c);
    const query = normalizeQuery(Object.fromEntries(cp));
    if (!query.name) continue;
    s.charts.push({ title: cp.get('title') ?? '', query });
  }
  return s;
}

/**
 * Writes a view as a query string (with the leading `?`, or '' for the default view).
 * @param {ViewState} s
 */
export function formatState(s) {
  const p = new URLSearchParams();
  if (s.view !== 'explore') p.set('view', s.view);
  if (s.dashboard) p.set('d', s.dashboard);
  if ('since' in s.range) {
    if (s.range.since !== DEFAULT_SINCE) p.set('since', s.range.since);
  } else {
    p.set('from', String(s.range.from));
    p.set('to', String(s.range.to));
    if (s.range.resume !== DEFAULT_SINCE) p.set('resume', s.range.resume);
  }
  for (const k of /** @type {const} */ (['q', 'level', 'source', 'tag', 'type'])) if (s.search[k]) p.set(k, s.search[k]);
  for (const c of s.charts) {
    const cp = new URLSearchParams(normalizeQuery(c.query));
    if (c.title) cp.set('title', c.title);
    p.append('c', cp.toString());
  }
  const str = p.toString();
  return str ? `?${str}` : '';
}

/** The /api/query parameters of a chart over a range (tag "a:1,b:2" → two tag parameters). */
export function queryParams(query, range) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(normalizeQuery(query))) {
    if (k === 'tag') for (const t of splitTags(v)) p.append('tag', t);
    else p.set(k, v);
  }
  if ('since' in range) p.set('since', range.since);
  else {
    p.set('from', String(Math.round(range.from)));
    p.set('to', String(Math.round(range.to)));
  }
  return p;
}

/** "a:1, b:2" → ["a:1", "b:2"]; blanks dropped. */
export function splitTags(v) {
  return v
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

/** A dashboard body (the store's PUT /api/dashboards/<name> format) from the current view. */
export function toDashboard(name, s) {
  const range = 'since' in s.range ? { since: s.range.since } : { from: s.range.from, to: s.range.to };
  return { name, range, charts: s.charts.map((c) => ({ title: c.title, query: normalizeQuery(c.query) })) };
}

/**
 * The view of a dashboard body, checked: an imported file may be anything.
 * @returns {{ name: string, range: Range, charts: Chart[] }}
 */
export function fromDashboard(body) {
  if (!body || typeof body !== 'object' || typeof body.name !== 'string' || body.name === '' || !Array.isArray(body.charts)) {
    throw new Error('not a dashboard: expected { "name": string, "charts": [ { "title", "query": { "name", … } } ] }');
  }
  /** @type {Range} */
  let range = { since: DEFAULT_SINCE };
  const r = body.range ?? {};
  if (typeof r.from === 'number' && typeof r.to === 'number' && r.from < r.to) range = { from: r.from, to: r.to, resume: DEFAULT_SINCE };
  else if (typeof r.since === 'string' && DURATION.test(r.since)) range = { since: r.since };
  const charts = [];
  for (const c of body.charts) {
    if (!c || typeof c !== 'object' || !c.query || typeof c.query !== 'object') throw new Error('not a dashboard: each chart needs a "query" object');
    const query = normalizeQuery(c.query);
    if (!query.name) throw new Error('not a dashboard: each chart query needs a "name"');
    charts.push({ title: typeof c.title === 'string' ? c.title : '', query });
  }
  return { name: body.name, range, charts };
}
