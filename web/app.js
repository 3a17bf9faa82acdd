// The Zibrato dashboard: explorer + charts, dashboards, status. Every view is
// described by the URL (web/state.js); this module turns it into DOM and keeps
// it current as the store pushes a `flush` event after each stored flush.
import { api, adoptTokenFromUrl, openEvents } from './api.js';
import { ChartView } from './chart.js';
import { h, formatBytes, formatDuration, formatNumber, formatTime, seriesLabel } from './dom.js';
import { PRESETS, LEVELS, STATS, formatState, parseState, isLive, queryParams, splitTags, toDashboard, fromDashboard } from './state.js';

// Charts more than a screen away from the viewport are not refetched on each
// flush; they are marked stale and fetched when they scroll near.
const NEAR_VIEWPORT = '100% 0px';

// Charts fetched at once: enough to fill a screen quickly, few enough not to
// queue the browser's 6 connections per host behind the event stream.
const FETCH_CONCURRENCY = 4;
const SEARCH_LIMIT = 100;
const SEARCH_DEBOUNCE_MS = 200;

adoptTokenFromUrl();
let state = parseState(location.search);
/** @type {ChartView[]} */
let views = [];
let generation = 0;
let refreshing = false;
let refreshAgain = false;
let flushes = 0;
/** The charts and range last fetched: typing a search must not refetch every chart. */
let fetched = '';

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** Changes the view and records it in the URL (push = a new history entry, for navigation). */
function setState(next, push = true) {
  state = next;
  const url = location.pathname + formatState(state);
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
  apply();
}

window.addEventListener('popstate', () => {
  state = parseState(location.search);
  apply();
});

function apply() {
  for (const v of ['explore', 'dashboards', 'status']) {
    $(`view-${v}`).hidden = state.view !== v;
    $(`nav-${v}`).classList.toggle('active', state.view === v);
  }
  renderLive();
  if (state.view === 'explore') {
    renderToolbar();
    syncSearchForm();
    syncCharts();
    const wanted = JSON.stringify([state.charts, state.range]);
    if (wanted !== fetched || views.some((v) => v.el.dataset.state === 'loading')) {
      fetched = wanted;
      refreshAll();
    }
    void search();
  } else {
    // Charts left behind are stale when the explorer shows again.
    fetched = '';
    if (state.view === 'dashboards') void renderDashboards();
    else void renderStatus();
  }
}

// ---------- live updates ----------

function renderLive() {
  const live = isLive(state.range);
  const el = $('live');
  el.dataset.live = String(live);
  el.replaceChildren(
    live ? h('span', { class: 'dot' }, '● live') : h('button', { id: 'resume', title: 'follow now again', onclick: () => resumeLive() }, '▶ Resume live'),
  );
}

function resumeLive() {
  if (!('since' in state.range)) setState({ ...state, range: { since: state.range.resume } });
}

function connectEvents() {
  const es = openEvents();
  es.addEventListener('flush', (ev) => {
    let ts = Date.now();
    try {
      ts = JSON.parse(/** @type {MessageEvent} */ (ev).data).ts ?? ts;
    } catch {
      // A flush without a body still means "new data".
    }
    flushes++;
    const f = $('flush');
    f.dataset.count = String(flushes);
    f.textContent = `last flush ${formatTime(ts)}`;
    if (state.view === 'explore' && isLive(state.range)) refreshAll();
    else if (state.view === 'status') void renderStatus();
  });
  let lost = false;
  es.addEventListener('open', () => {
    $('flush').classList.remove('down');
    // Flushes stored while the stream was down sent no event: fetch what was missed.
    if (lost && state.view === 'explore' && isLive(state.range)) refreshAll();
    lost = false;
  });
  // EventSource reconnects by itself (every few seconds); say so while it does.
  es.addEventListener('error', () => {
    lost = true;
    $('flush').classList.add('down');
  });
}

// ---------- explorer ----------

function syncSearchForm() {
  const glob = $('chart-glob');
  glob.hidden = !state.search.q.includes('*');
  glob.textContent = `Chart ${state.search.q}`;
  for (const k of ['q', 'level', 'source', 'tag', 'type']) {
    const el = /** @type {HTMLInputElement} */ ($(`search-${k}`));
    if (document.activeElement !== el && el.value !== state.search[k]) el.value = state.search[k];
  }
}

let searchTimer = 0;
let searchAbort = new AbortController();
let lastSearch = '';

function onSearchInput() {
  const search = { ...state.search };
  for (const k of ['q', 'level', 'source', 'tag', 'type']) search[k] = /** @type {HTMLInputElement} */ ($(`search-${k}`)).value.trim();
  clearTimeout(searchTimer);
  // Typing rewrites the URL in place: a shared link keeps the search, history does not fill with keystrokes.
  searchTimer = window.setTimeout(() => setState({ ...state, search }, false), SEARCH_DEBOUNCE_MS);
}

async function search() {
  const p = new URLSearchParams();
  for (const k of ['q', 'level', 'source', 'type']) if (state.search[k]) p.set(k, state.search[k]);
  for (const t of splitTags(state.search.tag)) p.append('tag', t);
  p.set('limit', String(SEARCH_LIMIT));
  const qs = p.toString();
  if (qs === lastSearch) return;
  lastSearch = qs;
  searchAbort.abort();
  searchAbort = new AbortController();
  const list = $('results');
  list.dataset.state = 'loading';
  try {
    const r = await api(`/api/series?${qs}`, { signal: searchAbort.signal });
    $('results-count').textContent = r.total > r.series.length ? `${r.series.length} of ${r.total} series (refine the search)` : `${r.total} series`;
    list.replaceChildren(
      ...r.series.map((s) =>
        h(
          'li',
          { class: 'series', 'data-key': s.key, 'data-name': s.name, title: `add a chart of ${s.name}`, onclick: () => addChart(s) },
          h('span', { class: `type ${s.type}` }, s.type),
          h('span', { class: 'name' }, seriesLabel(s)),
          h('span', { class: 'level' }, s.level),
        ),
      ),
    );
    list.dataset.state = 'ready';
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') return;
    lastSearch = '';
    $('results-count').textContent = err instanceof Error ? err.message : String(err);
    list.replaceChildren();
    list.dataset.state = 'error';
  }
}

/** A chart of a series name with the explorer's filters (so a click on "db.query" shows its top 20 series). */
function addChart(s) {
  /** @type {Record<string, string>} */
  const query = { name: s.name };
  if (state.search.level) query.level = state.search.level;
  if (state.search.source) query.source = state.search.source;
  if (state.search.tag) query.tag = state.search.tag;
  setState({ ...state, charts: [...state.charts, { title: '', query }] });
}

// ---------- charts ----------

function renderToolbar() {
  const live = isLive(state.range);
  $('presets').replaceChildren(
    ...PRESETS.map((p) => h('button', { class: live && state.range.since === p ? 'preset active' : 'preset', 'data-preset': p, onclick: () => setState({ ...state, range: { since: p } }) }, p)),
    live ? '' : h('span', { class: 'window', id: 'window' }, `${formatTime(state.range.from)} → ${formatTime(state.range.to)}`),
  );
  const d = state.dashboard;
  $('dash-name').textContent = d ? `Dashboard: ${d}` : '';
  /** @type {HTMLButtonElement} */ ($('dash-save')).hidden = !d;
  if (d && saved.name !== d) void loadSaved(d);
  $('dash-dirty').hidden = !d || saved.name !== d || saved.charts === chartsOf(state);
}

/** The open dashboard's charts as stored, to say when the page has unsaved changes (the range does not count, as in Grafana). */
let saved = { name: '', charts: '' };

function chartsOf(s) {
  return JSON.stringify(toDashboard(s.dashboard, s).charts);
}

/** After a reload or a shared link, learns what the open dashboard holds in the store. */
async function loadSaved(name) {
  saved = { name, charts: chartsOf(state) };
  try {
    const d = fromDashboard(await api(`/api/dashboards/${encodeURIComponent(name)}`));
    saved = { name, charts: JSON.stringify(d.charts) };
  } catch {
    // Not stored (deleted, or a link from another store): Save creates it.
    saved = { name, charts: '' };
  }
  if (state.view === 'explore') renderToolbar();
}

/** Keeps one ChartView per chart in the state, reusing the views whose chart did not change. */
function syncCharts() {
  const container = $('charts');
  const key = (c) => JSON.stringify(c);
  const old = new Map(views.map((v) => [key(v.chart), v]));
  const next = state.charts.map((c, i) => {
    const k = key(c);
    const reuse = old.get(k);
    if (reuse) {
      old.delete(k);
      reuse.handlers = handlersFor(i);
      return reuse;
    }
    return new ChartView(c, handlersFor(i));
  });
  for (const v of old.values()) {
    nearViewport.unobserve(v.el);
    v.destroy();
  }
  for (const v of next) if (!views.includes(v)) nearViewport.observe(v.el);
  views = next;
  // Re-inserting unchanged charts would make every plot resize and redraw (on each search keystroke).
  const same = container.children.length === views.length && views.every((v, i) => container.children[i] === v.el);
  if (!same) container.replaceChildren(...views.map((v) => v.el));
  $('charts-empty').hidden = views.length > 0;
}

function handlersFor(i) {
  return {
    onZoom: (from, to) => {
      const resume = 'since' in state.range ? state.range.since : state.range.resume;
      setState({ ...state, range: { from, to, resume } });
    },
    onEdit: (chart) => setState({ ...state, charts: state.charts.map((c, j) => (j === i ? chart : c)) }),
    onRemove: () => setState({ ...state, charts: state.charts.filter((_, j) => j !== i) }),
  };
}

/** Tracks which charts are near the viewport; one coming near with stale data is fetched. */
const nearViewport = new IntersectionObserver(
  (entries) => {
    let wake = false;
    for (const e of entries) {
      const v = views.find((x) => x.el === e.target);
      if (!v) continue;
      v.near = e.isIntersecting;
      v.el.dataset.near = String(v.near);
      if (v.near && v.stale) wake = true;
    }
    if (wake) void refreshCharts();
  },
  { rootMargin: NEAR_VIEWPORT },
);

/** Marks every chart's data out of date (new range, new flush) and fetches those near the viewport. */
function refreshAll() {
  for (const v of views) v.stale = true;
  void refreshCharts();
}

/** Fetches the stale charts near the viewport; a refresh asked for while one runs runs once after it (flushes can outpace slow queries). */
async function refreshCharts() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    do {
      refreshAgain = false;
      const gen = ++generation;
      const queue = views.filter((v) => v.stale && v.near);
      const range = state.range;
      await Promise.all(
        Array.from({ length: FETCH_CONCURRENCY }, async () => {
          for (let v = queue.shift(); v; v = queue.shift()) {
            v.stale = false;
            try {
              const r = await api(`/api/query?${queryParams(v.chart.query, range)}`);
              if (gen === generation && views.includes(v)) v.render(r);
            } catch (err) {
              if (views.includes(v)) v.showError(err);
            }
          }
        }),
      );
    } while (refreshAgain);
  } finally {
    refreshing = false;
  }
}

// ---------- dashboards ----------

async function saveDashboard(name) {
  const msg = $('dash-msg');
  try {
    await api(`/api/dashboards/${encodeURIComponent(name)}`, { method: 'PUT', body: toDashboard(name, state) });
    saved = { name, charts: chartsOf(state) };
    msg.textContent = `Saved dashboard “${name}”.`;
    msg.dataset.saved = name;
    if (state.dashboard !== name) setState({ ...state, dashboard: name }, false);
    else renderToolbar();
  } catch (err) {
    msg.textContent = `Not saved: ${err instanceof Error ? err.message : err}`;
  }
}

async function openDashboard(name) {
  const d = fromDashboard(await api(`/api/dashboards/${encodeURIComponent(name)}`));
  saved = { name: d.name, charts: JSON.stringify(d.charts) };
  setState({ ...state, view: 'explore', dashboard: d.name, range: d.range, charts: d.charts });
}

async function renderDashboards() {
  const list = $('dashboards');
  list.dataset.state = 'loading';
  try {
    const all = await api('/api/dashboards');
    $('dashboards-empty').hidden = all.length > 0;
    list.replaceChildren(
      ...all.map((d) =>
        h(
          'tr',
          { 'data-name': d.name },
          h('td', {}, h('a', { href: `?d=${encodeURIComponent(d.name)}`, class: 'open', onclick: (e) => (e.preventDefault(), void reported(openDashboard(d.name))) }, d.name)),
          h('td', {}, String(d.charts)),
          h('td', {}, formatTime(d.updated)),
          h(
            'td',
            {},
            h('button', { class: 'export', onclick: () => void reported(exportDashboard(d.name)) }, 'Export'),
            h('button', { class: 'delete', onclick: () => void reported(deleteDashboard(d.name)) }, 'Delete'),
          ),
        ),
      ),
    );
    list.dataset.state = 'ready';
  } catch (err) {
    $('dash-list-msg').textContent = err instanceof Error ? err.message : String(err);
    list.dataset.state = 'error';
  }
}

/** Shows a failed dashboard action (store down, dashboard deleted elsewhere) under the list. */
async function reported(action) {
  try {
    await action;
  } catch (err) {
    $('dash-list-msg').textContent = err instanceof Error ? err.message : String(err);
  }
}

async function exportDashboard(name) {
  const body = await api(`/api/dashboards/${encodeURIComponent(name)}`);
  const a = h('a', { href: URL.createObjectURL(new Blob([JSON.stringify(body, null, 2)], { type: 'application/json' })), download: `${name}.json` });
  a.click();
  URL.revokeObjectURL(/** @type {HTMLAnchorElement} */ (a).href);
}

async function deleteDashboard(name) {
  if (!confirm(`Delete dashboard “${name}”?`)) return;
  await api(`/api/dashboards/${encodeURIComponent(name)}`, { method: 'DELETE' });
  if (state.dashboard === name) state = { ...state, dashboard: '' };
  await renderDashboards();
}

async function importDashboard(file) {
  const msg = $('dash-list-msg');
  try {
    const d = fromDashboard(JSON.parse(await file.text()));
    await api(`/api/dashboards/${encodeURIComponent(d.name)}`, { method: 'PUT', body: toDashboard(d.name, { ...state, range: d.range, charts: d.charts }) });
    msg.textContent = `Imported “${d.name}”.`;
    await renderDashboards();
  } catch (err) {
    msg.textContent = `Not imported: ${err instanceof Error ? err.message : err}`;
  }
}

// ---------- status ----------

async function renderStatus() {
  const el = $('status');
  try {
    const s = await api('/api/status');
    const num = (v) => h('td', { class: 'num' }, formatNumber(v));
    const table = (cls, head, rows) => h('table', { class: cls }, h('thead', {}, h('tr', {}, ...head.map((c) => h('th', {}, c)))), h('tbody', {}, ...rows));
    const retention = Object.entries(s.store?.retention ?? {})
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
    el.replaceChildren(
      h('h2', {}, 'Store'),
      h(
        'dl',
        { class: 'store' },
        h('dt', {}, 'uptime'),
        h('dd', {}, formatDuration(s.uptimeMs)),
        h('dt', {}, 'path'),
        h('dd', {}, s.store?.path ?? '–'),
        h('dt', {}, 'size'),
        h('dd', { 'data-bytes': s.store?.bytes ?? '' }, formatBytes(s.store?.bytes)),
        h('dt', {}, 'series'),
        h('dd', {}, formatNumber(s.store?.series)),
        h('dt', {}, 'rows'),
        h('dd', {}, formatNumber(s.store?.rows)),
        h('dt', {}, 'newest rows in memory'),
        h('dd', { 'data-bytes': s.store?.memory?.recentRowsBytes ?? '' }, s.store?.memory ? `${formatBytes(s.store.memory.recentRowsBytes)} of ${formatBytes(s.store.memory.recentRowsBudgetBytes)}` : '–'),
        h('dt', {}, 'retention'),
        h('dd', {}, retention || '–'),
      ),
      h('h2', {}, 'Broker'),
      s.broker ? table('broker', ['forwarded', 'dropped'], [h('tr', {}, num(s.broker.forwarded), num(s.broker.dropped))]) : h('p', {}, 'No broker figures yet (they arrive with its self-metrics).'),
      h('h2', {}, 'Backends'),
      table(
        'backends',
        ['backend', 'received', 'invalid', 'dropped', 'lost', 'flushed', 'sink errors', 'spooled'],
        (s.backends ?? []).map((b) => h('tr', { 'data-name': b.name }, h('td', {}, b.name), num(b.received), num(b.invalid), num(b.dropped), num(b.lost), num(b.flushed), num(b.sinkErrors), num(b.spooled))),
      ),
      h('h2', {}, 'Sinks'),
      table(
        'sinks',
        ['backend', 'sink', 'sent', 'failed', 'dropped', 'spooled'],
        (s.sinks ?? []).map((k) => h('tr', { 'data-name': `${k.backend}/${k.sink}` }, h('td', {}, k.backend), h('td', {}, k.sink), num(k.sent), num(k.failed), num(k.dropped), num(k.spooled))),
      ),
    );
    el.dataset.state = 'ready';
  } catch (err) {
    el.replaceChildren(h('p', { class: 'error' }, err instanceof Error ? err.message : String(err)));
    el.dataset.state = 'error';
  }
}

// ---------- wiring ----------

function init() {
  for (const v of ['explore', 'dashboards', 'status']) {
    $(`nav-${v}`).addEventListener('click', (e) => {
      e.preventDefault();
      setState({ ...state, view: v });
    });
  }
  /** @type {HTMLSelectElement} */ ($('search-level')).append(...LEVELS.map((l) => h('option', { value: l }, l)));
  /** @type {HTMLSelectElement} */ ($('search-type')).append(...Object.keys(STATS).map((t) => h('option', { value: t }, t)));
  for (const k of ['q', 'level', 'source', 'tag', 'type']) $(`search-${k}`).addEventListener('input', onSearchInput);
  $('chart-glob').addEventListener('click', () => addChart({ name: state.search.q }));
  $('dash-save').addEventListener('click', () => void saveDashboard(state.dashboard));
  $('dash-saveas').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($('dash-saveas-name'));
    const name = input.value.trim();
    if (name) void saveDashboard(name);
  });
  $('dash-new').addEventListener('click', () => setState({ ...state, view: 'explore', dashboard: '', charts: [] }));
  $('dash-import').addEventListener('change', (e) => {
    const input = /** @type {HTMLInputElement} */ (e.target);
    const file = input.files?.[0];
    if (file) void importDashboard(file).finally(() => (input.value = ''));
  });
  connectEvents();
  apply();
}

init();
