import type { Command } from 'commander';
import { DEFAULT_STORE_HOST, DEFAULT_STORE_PORT } from '../defaults.js';
import { ZibratoError, type ZibratoErrorCode } from '../errors.js';
import type { QueryResult } from '../store/store.js';

interface QueryOptions {
  url: string;
  token?: string;
  name: string;
  stat?: string;
  since?: string;
  from?: string;
  to?: string;
  step?: string;
  level?: string;
  source?: string;
  tag: string[];
  groupBy?: string;
  top?: string;
  json?: boolean;
}

/**
 * A `--tag` as the API takes it (`k:v`). `send --tag` is `k=v`, so both are
 * accepted: an `=` before any `:` separates the key (tag keys hold neither).
 */
export function apiTag(t: string): string {
  const eq = t.indexOf('=');
  const colon = t.indexOf(':');
  return eq > 0 && (colon < 0 || eq < colon) ? `${t.slice(0, eq)}:${t.slice(eq + 1)}` : t;
}

/** The /api/query parameters of the command's options (the names are the API's). */
export function queryParams(o: QueryOptions): URLSearchParams {
  const p = new URLSearchParams({ name: o.name });
  for (const key of ['stat', 'since', 'from', 'to', 'step', 'level', 'source', 'groupBy', 'top'] as const) {
    const v = o[key];
    if (v !== undefined) p.set(key, v);
  }
  for (const t of o.tag) p.append('tag', apiTag(t));
  return p;
}

/** A plain-text table: one row per step, one column per series. */
export function formatTable(r: QueryResult): string {
  if (r.series.length === 0) return `no series matched (stat ${r.stat})\n`;
  const header = ['time', ...r.series.map((s) => s.key)];
  const rows: string[][] = [];
  const times = r.series[0]!.points.map((p) => p[0]);
  for (const [i, t] of times.entries()) {
    const cells = r.series.map((s) => {
      const v = s.points[i]?.[1];
      return v === null || v === undefined ? '-' : String(Number(v.toPrecision(6)));
    });
    // Steps with no value in any series are left out, so a sparse range stays short.
    if (cells.some((c) => c !== '-')) rows.push([new Date(t).toISOString().replace('.000Z', 'Z'), ...cells]);
  }
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const unit = r.unit ? ` (${r.unit})` : '';
  return [`${r.stat}${unit}, step ${r.step / 1000}s, ${r.series.length} of ${r.total} series`, line(header), ...rows.map(line)].join('\n') + '\n';
}

async function runQuery(o: QueryOptions): Promise<void> {
  const token = o.token ?? process.env.ZIBRATO_TOKEN;
  const url = new URL(`api/query?${queryParams(o).toString()}`, o.url.endsWith('/') ? o.url : `${o.url}/`);
  let res: Response;
  try {
    res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  } catch (err) {
    // Exit 3 like every other endpoint that cannot be reached: the command was right, the store is not there.
    throw new ZibratoError('ZIB_ERR_ENDPOINT', `--url: cannot reach the store at ${o.url} (is \`zibrato up\` running?): ${(err as Error).message}`);
  }
  let body: QueryResult & { error?: { code: ZibratoErrorCode; message: string } };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new ZibratoError('ZIB_ERR_ENDPOINT', `--url: ${o.url} answered HTTP ${res.status} without JSON; is it a Zibrato store API?`);
  }
  if (!res.ok) throw new ZibratoError(body.error?.code ?? 'ZIB_ERR_BAD_QUERY', body.error?.message ?? `HTTP ${res.status}`);
  process.stdout.write(o.json ? JSON.stringify(body) + '\n' : formatTable(body));
}

export function registerQueryCommand(program: Command): void {
  program
    .command('query')
    .description('Query the store backend over its HTTP API and print a table (or --json).')
    .requiredOption('--name <name>', 'series name, exact or a glob (db.*)')
    .option('--stat <stat>', 'counter: rate|sum; gauge: last|avg|min|max; timer: p99|p50|p90|p95|mean|max|min|count; set: cardinality (default per type)')
    .option('--since <duration>', 'the last <duration> (1h, 7d); instead of --from/--to (default: the last hour)')
    .option('--from <time>', 'start: Unix ms, RFC 3339, or relative (-1h)')
    .option('--to <time>', 'end (default now)')
    .option('--step <duration>', 'auto (≤ ~1000 points) or a duration (10s, 1m)')
    .option('--level <level>', 'only series of this level')
    .option('--source <source>', 'only series of this source')
    .option('--tag <k=v>', 'only series with this tag (repeatable; k:v works too)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--group-by <tagKey>', 'sum/merge series by the value of this tag')
    .option('--top <n>', 'keep the n series with the highest mean (default 20)')
    .option('--json', 'print the API response as JSON')
    .option('--url <url>', 'the store API (env ZIBRATO_URL)', process.env.ZIBRATO_URL ?? `http://${DEFAULT_STORE_HOST}:${DEFAULT_STORE_PORT}`)
    // Read from the environment when the query runs, not as a commander default: --help prints defaults, and this is a secret.
    .option('--token <token>', 'bearer token (env ZIBRATO_TOKEN)')
    .addHelpText(
      'after',
      `
Examples:
  zibrato query --name db.query --stat p99 --since 1h --step 1m --json
  zibrato query --name 'http.*' --stat rate --since 24h --group-by route --top 5`,
    )
    .action((opts: QueryOptions) => runQuery(opts));
}
