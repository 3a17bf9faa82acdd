// A stand-in for the store backend's HTTP API (the contract in docs/http-api.md),
// holding series in memory. It lets the page be tested at sizes the real
// pipeline would take minutes to fill (10,000 series, 1 M points); the
// end-to-end browser tests use the real `zibrato` processes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { ROOT } from '../helpers/processes.ts';
import { closeServer, listenLocal } from '../helpers/peers/http-server.ts';

export type SeriesType = 'counter' | 'gauge' | 'timer' | 'set';
export interface StubSeries {
  key: string;
  name: string;
  type: SeriesType;
  level: string;
  source: string | null;
  tags: Record<string, string>;
  points: [number, number | null][];
}

const DEFAULT_STAT: Record<SeriesType, string> = { counter: 'rate', gauge: 'last', timer: 'p99', set: 'cardinality' };
const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.png': 'image/png', '.json': 'application/json' };

function unitOf(type: SeriesType | undefined, stat: string): string {
  if (type === 'counter' && stat === 'rate') return '/s';
  if (type === 'timer' && stat !== 'count') return 'ms';
  return '';
}

function nameMatches(pattern: string, name: string, substring: boolean): boolean {
  if (pattern.includes('*')) return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(name);
  return substring ? name.includes(pattern) : name === pattern;
}

export class StubStore {
  readonly series = new Map<string, StubSeries>();
  readonly dashboards = new Map<string, { body: unknown; updated: number }>();
  /** Every /api/query URL asked, for tests that check what the page requested. */
  readonly queries: URL[] = [];
  status: unknown = { uptimeMs: 0, store: { path: 'stub', bytes: 0, series: 0, rows: 0, retention: {} }, backends: [], broker: null, sinks: [] };
  private readonly events = new Set<ServerResponse>();
  private server: Server | undefined;
  url = '';

  /** Listens on `port` (0: a free one); after stop(), start(same port) plays a store restart. */
  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res).catch((err: Error) => this.json(res, 500, { error: { code: 'STUB', message: err.message } })));
    this.url = `http://127.0.0.1:${await listenLocal(this.server, port)}`;
    return this;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  async stop(): Promise<void> {
    for (const r of this.events) r.end();
    await closeServer(this.server);
  }

  add(s: Omit<StubSeries, 'key'> & { key?: string }): StubSeries {
    const full = { ...s, key: s.key ?? `${s.name}|${s.level}|${s.source ?? ''}|${JSON.stringify(s.tags)}` };
    this.series.set(full.key, full);
    return full;
  }

  /** Sends the `flush` event to every open event stream. */
  flush(ts = Date.now()): void {
    for (const r of this.events) r.write(`event: flush\ndata: ${JSON.stringify({ ts, series: this.series.size })}\n\n`);
  }

  get eventClients(): number {
    return this.events.size;
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stub');
    const p = url.searchParams;
    const path = url.pathname;
    if (path === '/api/series') {
      const tags = p.getAll('tag').map((t) => t.split(':') as [string, string]);
      const all = [...this.series.values()]
        .filter((s) => (!p.get('q') || nameMatches(p.get('q')!, s.name, true)) && (!p.get('level') || s.level === p.get('level')) && (!p.get('source') || s.source === p.get('source')) && (!p.get('type') || s.type === p.get('type')) && tags.every(([k, v]) => s.tags[k] === v))
        .sort((a, b) => a.name.localeCompare(b.name));
      const limit = Math.min(1000, Number(p.get('limit') ?? 100));
      return this.json(res, 200, { total: all.length, series: all.slice(0, limit).map(({ points, ...meta }) => ({ ...meta, lastSeen: points.at(-1)?.[0] ?? 0 })) });
    }
    if (path === '/api/query') {
      this.queries.push(url);
      const name = p.get('name');
      if (!name) return this.json(res, 400, { error: { code: 'ZIB_ERR_BAD_QUERY', param: 'name', message: 'name is required' } });
      const now = Date.now();
      const since = p.get('since');
      const rel = (v: string) => Number(v.slice(0, -1)) * ({ m: 60_000, h: 3_600_000, d: 86_400_000 } as Record<string, number>)[v.slice(-1)]!;
      const from = since ? now - rel(since) : Number(p.get('from'));
      const to = since ? now : Number(p.get('to'));
      const tags = p.getAll('tag').map((t) => t.split(':') as [string, string]);
      const matched = [...this.series.values()].filter((s) => nameMatches(name, s.name, false) && (!p.get('level') || s.level === p.get('level')) && (!p.get('source') || s.source === p.get('source')) && tags.every(([k, v]) => s.tags[k] === v));
      const type = matched[0]?.type;
      const stat = p.get('stat') ?? (type ? DEFAULT_STAT[type] : 'last');
      const inRange = matched.map(({ points, ...meta }) => ({ ...meta, points: points.filter(([t]) => t >= from && t <= to) }));
      const mean = (s: { points: [number, number | null][] }) => s.points.reduce((a, [, v]) => a + (v ?? 0), 0) / Math.max(1, s.points.length);
      const top = Number(p.get('top') ?? 20);
      const series = inRange.sort((a, b) => mean(b) - mean(a)).slice(0, top);
      const step = series[0] && series[0].points.length > 1 ? series[0].points[1]![0] - series[0].points[0]![0] : 10_000;
      return this.json(res, 200, { from, to, step, stat, unit: unitOf(type, stat), total: matched.length, series });
    }
    if (path === '/api/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(': open\n\n');
      this.events.add(res);
      req.on('close', () => this.events.delete(res));
      return;
    }
    if (path === '/api/status') return this.json(res, 200, this.status);
    if (path === '/api/dashboards') return this.json(res, 200, [...this.dashboards].map(([name, d]) => ({ name, updated: d.updated, charts: (d.body as { charts: unknown[] }).charts.length })));
    if (path.startsWith('/api/dashboards/')) {
      const name = decodeURIComponent(path.slice('/api/dashboards/'.length));
      if (req.method === 'PUT') {
        let text = '';
        for await (const chunk of req) text += String(chunk);
        this.dashboards.set(name, { body: JSON.parse(text), updated: Date.now() });
        return this.json(res, 200, { ok: true });
      }
      if (req.method === 'DELETE') {
        this.dashboards.delete(name);
        res.writeHead(204).end();
        return;
      }
      const d = this.dashboards.get(name);
      return d ? this.json(res, 200, d.body) : this.json(res, 404, { error: { code: 'NOT_FOUND', message: `no dashboard ${name}` } });
    }
    const file = path === '/' ? join(ROOT, 'web/index.html') : path.startsWith('/vendor/') ? join(ROOT, 'node_modules/uplot/dist', normalize(path.slice(8))) : join(ROOT, 'web', normalize(path));
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      this.json(res, 404, { error: { code: 'NOT_FOUND', message: path } });
    }
  }
}
