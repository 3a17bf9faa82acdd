// One chart: a uPlot plot of one /api/query answer, its legend (the top
// series, click to toggle) and an optional table of the plotted values.
import { h, formatNumber, formatTime, seriesLabel, withUnit } from './dom.js';
import { STATS } from './state.js';

/* global uPlot */

// 20 colours for the top-20 legend, distinguishable on white (Tableau 20 order).
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2', '#c7c7c7', '#dbdb8d', '#9edae5'];

// The table shows the newest rows only: it is for reading values, the plot is for shape.
const TABLE_ROWS = 200;

/**
 * Indices from `i0` to `i1` whose value stands alone (no value on either side):
 * the line is not drawn through gaps, so without a dot such a value is not seen
 * at all (a series' first flush, a cron job's one record a day). Null when
 * there is none, which uPlot reads as "no dots".
 * @param {(number | null | undefined)[]} values
 * @param {number} i0
 * @param {number} i1
 * @returns {number[] | null}
 */
export function isolatedPoints(values, i0, i1) {
  /** @type {number[]} */
  const out = [];
  for (let i = Math.max(0, i0); i <= Math.min(i1, values.length - 1); i++) {
    if (values[i] === null || values[i] === undefined) continue;
    if ((values[i - 1] === null || values[i - 1] === undefined) && (values[i + 1] === null || values[i + 1] === undefined)) out.push(i);
  }
  return out.length > 0 ? out : null;
}

/**
 * Aligns per-series points on one time axis (uPlot's data layout). When every
 * series has the same timestamps (the store's steps), no merge is needed.
 * @param {{ points: [number, number | null][] }[]} series
 * @returns {[number[], ...(number | null)[][]]}
 */
export function alignPoints(series) {
  const first = series[0]?.points ?? [];
  const same = series.every((s) => s.points.length === first.length && s.points.every((p, i) => p[0] === first[i]?.[0]));
  if (same) return [first.map((p) => p[0]), ...series.map((s) => s.points.map((p) => p[1]))];
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    /** @type {(number | null)[]} */
    const col = new Array(xs.length).fill(null);
    for (const [t, v] of s.points) col[/** @type {number} */ (index.get(t))] = v;
    return col;
  });
  return [xs, ...ys];
}

export class ChartView {
  /**
   * @param {{ title: string, query: Record<string, string> }} chart
   * @param {{ onZoom: (from: number, to: number) => void, onEdit: (chart: { title: string, query: Record<string, string> }) => void, onRemove: () => void }} handlers
   */
  constructor(chart, handlers) {
    this.chart = chart;
    this.handlers = handlers;
    /** @type {any} */
    this.plot = null;
    this.seriesKeys = '';
    this.hidden = new Set();
    this.showTable = false;
    this.result = null;
    this.range = [0, 1];
    this.updates = 0;
    /** Near the viewport (set by the page's IntersectionObserver; until it reports, charts count as near). */
    this.near = true;
    /** Its data is older than the last flush or range change. */
    this.stale = true;

    this.titleInput = h('input', { class: 'title', value: chart.title, placeholder: chart.query.name, 'aria-label': 'chart title', onchange: () => this.edit({ title: this.titleInput.value }) });
    this.statSelect = h('select', { class: 'stat', 'aria-label': 'statistic', onchange: () => this.edit({ stat: this.statSelect.value }) });
    this.groupInput = h('input', { class: 'groupby', value: chart.query.groupBy ?? '', placeholder: 'group by tag', 'aria-label': 'group by tag', onchange: () => this.edit({ groupBy: this.groupInput.value }) });
    this.info = h('span', { class: 'info' });
    this.plotEl = h('div', { class: 'plot' });
    this.legendEl = h('ul', { class: 'legend' });
    this.hoverEl = h('span', { class: 'hover-time' });
    /** @type {HTMLElement[]} */
    this.valueEls = [];
    /** @type {any} */
    this.data = null;
    this.tableEl = h('div', { class: 'table', hidden: true });
    this.errorEl = h('div', { class: 'error', hidden: true });
    this.el = h(
      'section',
      { class: 'chart', 'data-name': chart.query.name, 'data-state': 'loading', 'data-updates': '0' },
      h(
        'header',
        {},
        this.titleInput,
        this.statSelect,
        this.groupInput,
        this.info,
        this.hoverEl,
        h('button', { class: 'table-toggle', title: 'show the plotted values as a table', onclick: () => this.toggleTable() }, 'Table'),
        h('button', { class: 'remove', title: 'remove this chart', onclick: () => handlers.onRemove() }, '✕'),
      ),
      this.errorEl,
      this.plotEl,
      this.legendEl,
      this.tableEl,
    );
    this.resizer = new ResizeObserver(() => this.plot?.setSize(this.size()));
    this.resizer.observe(this.plotEl);
  }

  edit(change) {
    const query = { ...this.chart.query };
    let title = this.chart.title;
    for (const [k, v] of Object.entries(change)) {
      if (k === 'title') title = v;
      else if (v) query[k] = v;
      else delete query[k];
    }
    this.handlers.onEdit({ title, query });
  }

  size() {
    return { width: Math.max(200, this.plotEl.clientWidth), height: 240 };
  }

  /** Shows a query error in place of the plot (the message names the bad parameter). */
  showError(err) {
    this.errorEl.hidden = false;
    this.errorEl.textContent = err instanceof Error ? err.message : String(err);
    this.el.dataset.state = 'error';
  }

  /**
   * Plots one /api/query answer. The plot is rebuilt only when the set of series
   * changes; a live update with the same series is a setData on the existing plot.
   */
  render(result) {
    this.errorEl.hidden = true;
    this.result = result;
    this.range = [result.from, result.to];
    const type = result.series[0]?.type;
    this.fillStats(type, result.stat);
    this.info.textContent = `${result.stat}${result.unit ? ` (${result.unit})` : ''} · ${result.series.length < result.total ? `top ${result.series.length} of ${result.total}` : `${result.total} series`} · step ${formatStep(result.step)}`;
    const data = alignPoints(result.series);
    this.data = data;
    const keys = result.series.map((s) => s.key).join('\n') + `\n${result.unit}`;
    if (this.plot && keys === this.seriesKeys) {
      this.plot.setData(data, true);
    } else {
      this.plot?.destroy();
      this.seriesKeys = keys;
      this.hidden = new Set([...this.hidden].filter((k) => result.series.some((s) => s.key === k)));
      this.plot = new uPlot(this.options(result), data, this.plotEl);
    }
    this.renderLegend(result);
    this.el.dataset.shown = String(result.series.length - this.hidden.size);
    if (this.showTable) this.renderTable();
    this.updates++;
    this.el.dataset.updates = String(this.updates);
    this.el.dataset.to = String(result.to);
    this.el.dataset.state = 'ready';
  }

  options(result) {
    const unit = result.unit;
    const self = this;
    return {
      ...this.size(),
      ms: 1,
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false } },
      scales: { x: { time: true, range: () => self.range } },
      // One line per tick, as precise as the window needs: uPlot's default two-line date labels collide on narrow charts.
      axes: [{ space: 70, values: (u, vals) => vals.map((v) => formatTick(v, u.scales.x.max - u.scales.x.min)) }, { size: 70, values: (_u, vals) => vals.map((v) => withUnit(v, unit)) }],
      series: [{}, ...result.series.map((s, i) => ({ label: seriesLabel(s), stroke: COLORS[i % COLORS.length], width: 1.5, show: !this.hidden.has(s.key), spanGaps: false, points: { show: false, filter: isolatedDots, size: 6, fill: COLORS[i % COLORS.length] } }))],
      hooks: {
        // The legend reads out the values under the cursor (the last values when it leaves).
        setCursor: [(u) => this.showCursor(u.cursor.idx)],
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            const from = u.posToVal(u.select.left, 'x');
            const to = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            this.handlers.onZoom(Math.round(from), Math.round(to));
          },
        ],
      },
    };
  }

  fillStats(type, stat) {
    const stats = STATS[type] ?? [stat];
    if (this.statSelect.dataset.type !== type || this.statSelect.value !== stat) {
      this.statSelect.replaceChildren(...stats.map((s) => h('option', { value: s, selected: s === stat }, s)));
      this.statSelect.dataset.type = type ?? '';
      this.statSelect.value = stat;
    }
  }

  showCursor(idx) {
    const result = this.result;
    if (!result || !this.data) return;
    const at = idx === null || idx === undefined ? null : this.data[0][idx];
    this.hoverEl.textContent = at === null || at === undefined ? '' : formatTime(at);
    this.hoverEl.dataset.ts = at === null || at === undefined ? '' : String(at);
    result.series.forEach((s, i) => {
      const el = this.valueEls[i];
      if (el) el.textContent = withUnit(at === null || at === undefined ? lastValue(s.points) : (this.data[i + 1]?.[idx] ?? null), result.unit);
    });
  }

  renderLegend(result) {
    this.valueEls = [];
    const items = result.series.map((s, i) => {
      const last = lastValue(s.points);
      const value = h('span', { class: 'last' }, withUnit(last, result.unit));
      this.valueEls.push(value);
      const li = h(
        'li',
        { 'data-key': s.key, 'data-last': last ?? '', class: this.hidden.has(s.key) ? 'off' : '', title: 'click to show or hide', onclick: () => this.toggleSeries(i, s.key, li) },
        h('span', { class: 'swatch', style: `background:${COLORS[i % COLORS.length]}` }),
        h('span', { class: 'label' }, seriesLabel(s)),
        value,
      );
      return li;
    });
    this.legendEl.replaceChildren(...items);
  }

  toggleSeries(i, key, li) {
    const show = this.hidden.has(key);
    if (show) this.hidden.delete(key);
    else this.hidden.add(key);
    li.classList.toggle('off', !show);
    this.plot?.setSeries(i + 1, { show });
    this.el.dataset.shown = String((this.result?.series.length ?? 0) - this.hidden.size);
  }

  toggleTable() {
    this.showTable = !this.showTable;
    this.tableEl.hidden = !this.showTable;
    if (this.showTable) this.renderTable();
    else this.tableEl.replaceChildren();
  }

  /** The newest plotted values, one row per time, one column per series (raw values in data-value). */
  renderTable() {
    const result = this.result;
    if (!result) return;
    const [xs, ...ys] = alignPoints(result.series);
    const rows = [];
    for (let i = xs.length - 1; i >= 0 && rows.length < TABLE_ROWS; i--) {
      if (ys.every((col) => col[i] === null || col[i] === undefined)) continue;
      const t = /** @type {number} */ (xs[i]);
      rows.push(h('tr', { 'data-ts': t }, h('th', {}, formatTime(t)), ...ys.map((col, j) => h('td', { 'data-key': result.series[j]?.key ?? '', 'data-value': col[i] ?? '' }, formatNumber(col[i] ?? null)))));
    }
    const head = h('tr', {}, h('th', {}, 'time'), ...result.series.map((s) => h('th', {}, `${seriesLabel(s)}${result.unit ? ` (${result.unit})` : ''}`)));
    this.tableEl.replaceChildren(h('table', {}, h('thead', {}, head), h('tbody', {}, ...rows)));
  }

  destroy() {
    this.resizer.disconnect();
    this.plot?.destroy();
    this.el.remove();
  }
}

/** uPlot's points.filter: a dot on each value the line cannot show (see isolatedPoints), in the visible range. */
function isolatedDots(u, seriesIdx) {
  const values = u.data[seriesIdx] ?? [];
  const [i0, i1] = u.series[seriesIdx]?.idxs ?? [0, values.length - 1];
  return isolatedPoints(values, i0, i1);
}

function lastValue(points) {
  for (let i = points.length - 1; i >= 0; i--) {
    const v = points[i][1];
    if (v !== null) return v;
  }
  return null;
}

/** A time-axis label: seconds for windows up to 10 minutes, minutes up to 2 days, then the date. */
export function formatTick(ms, spanMs) {
  const t = formatTime(ms); // YYYY-MM-DD HH:MM:SS
  if (spanMs <= 600_000) return t.slice(11);
  if (spanMs <= 2 * 86_400_000) return t.slice(11, 16);
  return t.slice(5, 16);
}

function formatStep(ms) {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
