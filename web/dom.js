// Small DOM helpers: elements are built with textContent, never innerHTML,
// so series names and tag values from the store cannot inject markup.

/**
 * Creates an element. `attrs` keys starting with "on" add listeners; others set attributes
 * (false/null/undefined are skipped). Children are nodes or text.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Node | string | number | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
    else if (k === 'value') /** @type {HTMLInputElement} */ (el).value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** Formats a number for reading: 4 significant digits, thousands grouped, no exponent below 1e15. */
export function formatNumber(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (v !== 0 && Math.abs(v) < 0.001) return v.toExponential(2);
  return v.toLocaleString('en-US', { maximumSignificantDigits: 6 });
}

/** "12.5 ms", "3/s", "42": a value with the store's unit. */
export function withUnit(v, unit) {
  const n = formatNumber(v);
  if (!unit || n === '–') return n;
  return unit.startsWith('/') ? `${n}${unit}` : `${n} ${unit}`;
}

export function formatBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function formatDuration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** Local "YYYY-MM-DD HH:MM:SS" for a Unix-ms time. */
export function formatTime(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** "db.query {source=web1, route=/a}": how a series is named in legends and tables. */
export function seriesLabel(s) {
  const parts = [];
  if (s.source) parts.push(`source=${s.source}`);
  for (const [k, v] of Object.entries(s.tags ?? {})) parts.push(`${k}=${v}`);
  return parts.length ? `${s.name} {${parts.join(', ')}}` : s.name;
}
