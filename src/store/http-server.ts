import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZibratoError } from '../errors.js';
import { BadQueryError, parseQueryParams, parseSeriesParams } from './query-params.js';
import type { SeriesSource } from './prometheus-source.js';
import type { MetricStore, SeriesInfo } from './store.js';

/** The repository's (or package's) `web/` folder: two levels up from src/store or dist/store. */
export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/** uPlot's dist folder, or undefined when the optional `uplot` package is not installed. */
function uplotDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  } catch {
    return undefined;
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** SSE comment interval: keeps proxies from closing an idle stream. */
const SSE_KEEPALIVE_MS = 15_000;
const MAX_BODY_BYTES = 1 << 20;

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** What /api/status reports besides the store (the sink fills it from its own state). */
export interface StatusSource {
  storeError(): string | undefined;
  retention(): { raw: string; '1m': string; '1h': string };
}

export interface StoreHttpOptions {
  host: string;
  port: number;
  token?: string;
  /** The store, or undefined while the database cannot be opened (the API then answers 503). */
  store: () => MetricStore | undefined;
  status: StatusSource;
  log: (line: string) => void;
  /**
   * Where /api/series and /api/query read from instead of the store (a
   * Prometheus-compatible API); dashboards and /api/status stay the store's.
   */
  source?: SeriesSource;
}

/**
 * The store's HTTP API (docs/http-api.md) and the web UI's static files.
 * Listens on loopback unless a token is configured.
 */
export class StoreHttpServer {
  private server: Server | undefined;
  private readonly events = new Set<ServerResponse>();
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly startedMs = Date.now();
  private readonly token: Buffer | undefined;
  private readonly uplot = uplotDir();

  constructor(private readonly options: StoreHttpOptions) {
    if (!isLoopback(options.host) && !options.token) {
      throw new ZibratoError('ZIB_ERR_TOKEN_REQUIRED', `refusing to serve the store API on ${options.host}, which other machines can reach, without a token: pass --token or set ZIBRATO_TOKEN, or listen on 127.0.0.1`);
    }
    this.token = options.token ? Buffer.from(options.token) : undefined;
  }

  /** The URL to open, without the token. */
  get url(): string {
    const host = this.options.host.includes(':') && !this.options.host.startsWith('[') ? `[${this.options.host}]` : this.options.host;
    return `http://${host}:${this.port}/`;
  }

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : this.options.port;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
    await new Promise<void>((resolve, reject) => {
      // ZIB_ERR_ENDPOINT (exit 3), like the broker's and the gateway's ports: `zibrato up` then stops instead of restarting into the same taken port.
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new ZibratoError('ZIB_ERR_ENDPOINT', `--host/--port ${this.options.host}:${this.options.port}: store API cannot listen: ${err.code ?? err.message} (another zibrato up running? choose another port)`, { cause: err })),
      );
      server.listen(this.options.port, this.options.host.replace(/^\[|\]$/g, ''), () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.keepAlive = setInterval(() => {
      for (const res of this.events) res.write(': keep-alive\n\n');
    }, SSE_KEEPALIVE_MS);
    this.keepAlive.unref();
  }

  /** Tells every `/api/events` listener that a flush was stored. */
  flushed(ts: number, series: number): void {
    const data = `event: flush\ndata: ${JSON.stringify({ ts, series })}\n\n`;
    for (const res of this.events) res.write(data);
  }

  async stop(): Promise<void> {
    clearInterval(this.keepAlive);
    for (const res of this.events) res.end();
    this.events.clear();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private authorized(req: IncomingMessage, url: URL): boolean {
    if (!this.token) return true;
    const header = req.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('token');
    if (!given) return false;
    const b = Buffer.from(given);
    return b.length === this.token.length && timingSafeEqual(b, this.token);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    // The page and its scripts hold no data and a browser cannot add a header to <script src>: only /api/ needs the token.
    if (!path.startsWith('/api/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.json(res, 405, { error: { code: 'ZIB_ERR_BAD_QUERY', message: `${req.method} is not allowed here` } });
      return this.serveStatic(path, res);
    }
    if (!this.authorized(req, url)) {
      return this.json(res, 401, { error: { code: 'ZIB_ERR_UNAUTHORIZED', message: 'this server requires a token: send Authorization: Bearer <token> (or ?token= for /api/events)' } });
    }
    if (path === '/api/events' && req.method === 'GET') return this.openEvents(req, res);
    if (path === '/api/status' && req.method === 'GET') return this.json(res, 200, await this.status());
    const source = this.options.source;
    if (source !== undefined && path === '/api/series' && req.method === 'GET') return this.json(res, 200, await source.listSeries(parseSeriesParams(url.searchParams)));
    if (source !== undefined && path === '/api/query' && req.method === 'GET') return this.json(res, 200, await source.query(parseQueryParams(url.searchParams, Date.now())));
    const store = this.options.store();
    if (!store) {
      return this.json(res, 503, { error: { code: 'ZIB_ERR_STORE_FAILED', message: this.options.status.storeError() ?? 'the store is not open' } });
    }
    if (path === '/api/series' && req.method === 'GET') return this.json(res, 200, store.listSeries(parseSeriesParams(url.searchParams)));
    if (path === '/api/query' && req.method === 'GET') return this.json(res, 200, await store.query(parseQueryParams(url.searchParams, Date.now())));
    if (path === '/api/dashboards' && req.method === 'GET') return this.json(res, 200, await store.listDashboards());
    const dash = /^\/api\/dashboards\/([^/]+)$/.exec(path);
    if (dash) return this.dashboard(store, decodeURIComponent(dash[1]!), req, res);
    return this.json(res, 404, { error: { code: 'ZIB_ERR_BAD_QUERY', message: `no such endpoint: ${req.method} ${path}` } });
  }

  private async dashboard(store: MetricStore, name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!/^[\w .-]{1,100}$/.test(name)) throw new BadQueryError('name', 'a dashboard name is 1 to 100 letters, digits, spaces, _ . -');
    if (req.method === 'GET') {
      const body = await store.getDashboard(name);
      return body === undefined ? this.json(res, 404, { error: { code: 'ZIB_ERR_BAD_QUERY', message: `no dashboard named ${JSON.stringify(name)}` } }) : this.json(res, 200, body);
    }
    if (req.method === 'PUT') {
      const body = await readJson(req);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadQueryError('body', 'expected a JSON object { name, range, charts }');
      const charts = (body as { charts?: unknown }).charts;
      if (!Array.isArray(charts)) throw new BadQueryError('charts', 'expected a list of { title, query }');
      await store.putDashboard(name, { ...body, name });
      return this.json(res, 200, { ok: true });
    }
    if (req.method === 'DELETE') {
      if (!(await store.deleteDashboard(name))) return this.json(res, 404, { error: { code: 'ZIB_ERR_BAD_QUERY', message: `no dashboard named ${JSON.stringify(name)}` } });
      res.writeHead(204).end();
      return;
    }
    return this.json(res, 405, { error: { code: 'ZIB_ERR_BAD_QUERY', message: `${req.method} is not allowed on a dashboard` } });
  }

  private openEvents(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': connected\n\n');
    this.events.add(res);
    req.on('close', () => this.events.delete(res));
  }

  private async status(): Promise<unknown> {
    const store = this.options.store();
    const base = { uptimeMs: Date.now() - this.startedMs };
    if (!store) return { ...base, store: { path: null, bytes: 0, series: 0, rows: 0, retention: this.options.status.retention(), error: this.options.status.storeError() }, backends: [], broker: null, sinks: [] };
    const totals = await store.selfMetricTotals();
    const backends = new Map<string, Record<string, number | string>>();
    const sinks = new Map<string, Record<string, number | string>>();
    let broker: { forwarded: number; dropped: number } | null = null;
    const field = (name: string, prefix: string) => name.slice(prefix.length).replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
    for (const { info, value } of totals) {
      if (info.name.startsWith('zibrato.broker.')) {
        broker ??= { forwarded: 0, dropped: 0 };
        const f = field(info.name, 'zibrato.broker.');
        if (f === 'forwarded' || f === 'dropped') broker[f] += value;
      } else if (info.name.startsWith('zibrato.backend.')) {
        const b = backendEntry(backends, info);
        const f = field(info.name, 'zibrato.backend.');
        b[f] = Number(b[f] ?? 0) + value;
      } else if (info.name.startsWith('zibrato.sink.')) {
        const key = `${info.source ?? ''}\u0000${info.tags.sink ?? ''}`;
        let s = sinks.get(key);
        if (!s) sinks.set(key, (s = { backend: info.source ?? '', sink: info.tags.sink ?? '', sent: 0, failed: 0, dropped: 0, spooled: 0 }));
        const f = field(info.name, 'zibrato.sink.');
        s[f] = f === 'spooled' ? value : Number(s[f] ?? 0) + value;
        if (f === 'spooled') backendEntry(backends, info).spooled = Number(backendEntry(backends, info).spooled) + value;
      }
    }
    const stats = await store.stats();
    return { ...base, store: { ...stats, retention: this.options.status.retention() }, backends: [...backends.values()], broker, sinks: [...sinks.values()] };
  }

  private async serveStatic(path: string, res: ServerResponse): Promise<void> {
    let root = WEB_DIR;
    let rel = path === '/' ? 'index.html' : decodeURIComponent(path.slice(1));
    if (rel.startsWith('vendor/')) {
      if (!this.uplot) return this.json(res, 404, { error: { code: 'ZIB_ERR_STORE_DEPENDENCY_MISSING', message: 'the web UI needs the optional dependency uplot: npm install uplot' } });
      root = this.uplot;
      rel = rel.slice('vendor/'.length);
    }
    const file = normalize(join(root, rel));
    // A path that climbs out of the folder (../) is treated as unknown.
    if (!file.startsWith(root.endsWith(sep) ? root : root + sep)) return this.json(res, 404, { error: { code: 'ZIB_ERR_BAD_QUERY', message: 'not found' } });
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return this.json(res, 404, { error: { code: 'ZIB_ERR_BAD_QUERY', message: `not found: ${path}` } });
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    res.end(body);
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof BadQueryError) return this.json(res, 400, { error: { code: err.code, param: err.param, message: err.message } });
    const e = err as { code?: string; message?: string };
    this.options.log(`${e.code ?? 'ZIB_ERR_STORE_FAILED'}: API request failed: ${e.message ?? String(err)}`);
    this.json(res, 500, { error: { code: e.code ?? 'ZIB_ERR_STORE_FAILED', message: e.message ?? String(err) } });
  }
}

function backendEntry(backends: Map<string, Record<string, number | string>>, info: SeriesInfo): Record<string, number | string> {
  const name = info.source ?? '';
  let b = backends.get(name);
  if (!b) backends.set(name, (b = { name, received: 0, invalid: 0, dropped: 0, lost: 0, flushed: 0, sinkErrors: 0, spooled: 0 }));
  return b;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadQueryError('body', `larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new BadQueryError('body', `not valid JSON: ${(err as Error).message}`);
  }
}
