import { join } from 'node:path';
import { InvalidOptionError } from '../../errors.js';
import type { SinkContext, SinkOptionSpec } from '../registry.js';

/** Default cap of one sink's disk spool. */
export const DEFAULT_SPOOL_MAX_BYTES = 64 * 1024 * 1024;
/** Where spools live unless `spoolDir` says otherwise; one subdirectory per backend and sink. */
export const DEFAULT_SPOOL_ROOT = './zibrato-data/spool';

/** How a {@link DeliveringSink} retries and spools. */
export interface DeliveryOptions {
  /** This sink's spool directory. */
  spoolDir: string;
  spoolMaxBytes: number;
  /** Retries inside `export()` before a payload goes to the spool (kept small so a flush is not held up). */
  quickRetries: number;
  /** Initial delay of the backoff, doubled per retry. */
  retryInitialDelayMs: number;
  /** Cap on one backoff delay (and on how long a `Retry-After` is honoured). */
  retryMaxDelayMs: number;
  /** Once `export()` has spent this long, the rest of the flush goes to the spool untried. */
  exportBudgetMs: number;
  /** How long `stop()` keeps replaying the spool before leaving the rest on disk. */
  stopBudgetMs: number;
  /** Timeout of one request or connection. */
  requestTimeoutMs: number;
}

/** The options every network sink takes in addition to its own. */
export const DELIVERY_OPTION_SPECS: readonly SinkOptionSpec[] = [
  { key: 'spoolDir', type: 'string', description: `spool directory (default ${DEFAULT_SPOOL_ROOT}/<backend>-<sink>/)` },
  { key: 'spoolMaxBytes', type: 'number', default: DEFAULT_SPOOL_MAX_BYTES, description: 'spool size cap in bytes; past it the oldest data is dropped and counted' },
  { key: 'quickRetries', type: 'number', default: 2, description: 'retries within one flush before spooling' },
  { key: 'retryInitialDelayMs', type: 'number', default: 200, description: 'first backoff delay (doubles per retry, with jitter)' },
  { key: 'retryMaxDelayMs', type: 'number', default: 30_000, description: 'largest backoff delay, and the longest Retry-After honoured' },
  { key: 'exportBudgetMs', type: 'number', default: 5_000, description: 'time one flush may spend delivering before the rest is spooled' },
  { key: 'stopBudgetMs', type: 'number', default: 5_000, description: 'time shutdown may spend replaying the spool' },
  { key: 'requestTimeoutMs', type: 'number', default: 5_000, description: 'timeout of one request or connection' },
];

function num(o: Record<string, string | number | boolean | undefined>, key: string, dflt: number, min: number): number {
  const v = o[key];
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isFinite(n) || n < min) throw new InvalidOptionError(`${key}: expected a number ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

/** Reads the delivery options of a sink from its resolved options. */
export function deliveryOptionsFrom(o: Record<string, string | number | boolean | undefined>, context: SinkContext, sinkName: string): DeliveryOptions {
  const spoolDir = typeof o.spoolDir === 'string' && o.spoolDir !== '' ? o.spoolDir : join(DEFAULT_SPOOL_ROOT, `${context.backendName}-${sinkName}`);
  return {
    spoolDir,
    spoolMaxBytes: num(o, 'spoolMaxBytes', DEFAULT_SPOOL_MAX_BYTES, 1024),
    quickRetries: num(o, 'quickRetries', 2, 0),
    retryInitialDelayMs: num(o, 'retryInitialDelayMs', 200, 1),
    retryMaxDelayMs: num(o, 'retryMaxDelayMs', 30_000, 1),
    exportBudgetMs: num(o, 'exportBudgetMs', 5_000, 0),
    stopBudgetMs: num(o, 'stopBudgetMs', 5_000, 0),
    requestTimeoutMs: num(o, 'requestTimeoutMs', 5_000, 1),
  };
}
