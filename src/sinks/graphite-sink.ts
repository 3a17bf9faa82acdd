import type { SinkSpec } from './registry.js';
import type { FlushBatch, MetricPoint } from './sink.js';
import { DeliveringSink } from './delivery/delivering-sink.js';
import { DELIVERY_OPTION_SPECS, deliveryOptionsFrom } from './delivery/delivery-options.js';
import { Redactor } from './delivery/redact.js';
import { tcpSend } from './delivery/tcp-send.js';
import type { EncodedBatch, DeliveryPayload, Transport } from './delivery/transport.js';
import { formatNumber, foldedPath, sanitizePathName, tagsWithSource, TIMER_FIELDS } from './series-path.js';

/** How tags reach Carbon. */
export type GraphiteTagStyle = 'graphite' | 'path';

export interface GraphiteOptions {
  host: string;
  port: number;
  /** Dotted prefix put before every name ('' for none). */
  prefix: string;
  /** `graphite`: `name;k=v;k2=v2` (Graphite ≥ 1.1 tagged series); `path`: `name.k.v.k2.v2`. */
  tags: GraphiteTagStyle;
  timeoutMs: number;
}

/**
 * Graphite tag rules (graphite-project docs, "Tagged series"): a tag name may
 * not be empty or contain `;!^=` or whitespace; a value may not be empty, start
 * with `~`, or contain `;` or whitespace. We replace offending characters with
 * `_` and drop tags whose value is empty.
 */
function graphiteTag(k: string, v: string): string | undefined {
  if (v === '') return undefined;
  // Control characters too: Carbon (Python str.split) also splits fields on \x1c-\x1f and \x85, which \s does not cover.
  const key = k.replace(/[;!^=\s\x00-\x1f\x7f-\x9f]/g, '_') || '_';
  const value = v.replace(/[;\s\x00-\x1f\x7f-\x9f]/g, '_').replace(/^~/, '_');
  return `${key}=${value}`;
}

/** The Carbon series name of one point (and statistic suffix). */
export function graphiteName(p: MetricPoint, suffix: string | undefined, prefix: string, style: GraphiteTagStyle): string {
  if (style === 'path') return foldedPath(prefix, p, suffix);
  const base = [prefix, p.name, suffix ?? ''].map(sanitizePathName).filter((s) => s !== '').join('.');
  const tags = tagsWithSource(p)
    .map(([k, v]) => graphiteTag(k, v))
    .filter((t): t is string => t !== undefined);
  return [base, ...tags].join(';');
}

/** The `(suffix, value)` pairs a point becomes; documented in docs/sinks.md. */
export function graphiteValues(p: MetricPoint): [string | undefined, number][] {
  switch (p.type) {
    case 'counter':
      return [['count', p.value], ['rate', p.rate]];
    case 'gauge':
    case 'set':
      return [[undefined, p.value]];
    case 'timer':
      return TIMER_FIELDS.map((f) => [f, p[f]]);
  }
}

/**
 * The timestamp (ms) a flush is stored at in Carbon. Scheduled flushes keep
 * their time (a multiple of the flush interval). The final flush on stop
 * ends mid-interval, in the same Carbon retention bucket as the scheduled
 * flush before it, and Carbon keeps only the last value written to a bucket:
 * stamped with its stop time it overwrote that flush (a clean stop lost 870
 * of 1,480 records). It is stamped with the end of its interval instead, the
 * next multiple of the flush interval, which no scheduled flush of this
 * process uses. (Carbon's finest retention should equal the flush interval.)
 */
export function graphiteStampMs(batch: Pick<FlushBatch, 'timeMs' | 'scheduleMs'>): number {
  const step = batch.scheduleMs;
  if (step === undefined || step <= 0) return batch.timeMs;
  return Math.ceil(batch.timeMs / step) * step;
}

/** Carbon plaintext protocol: `name value timestamp\n` over TCP. */
export class GraphiteTransport implements Transport {
  readonly name = 'graphite';
  constructor(private readonly o: GraphiteOptions) {}

  encode(batch: FlushBatch): EncodedBatch {
    const ts = Math.floor(graphiteStampMs(batch) / 1000);
    const lines: string[] = [];
    const rejected: EncodedBatch['rejected'] = [];
    let points = 0;
    for (const p of batch.points) {
      const values = graphiteValues(p);
      if (values.some(([, v]) => !Number.isFinite(v))) {
        rejected.push({ name: p.name, reason: 'value is not a finite number' });
        continue;
      }
      const base = graphiteName(p, undefined, this.o.prefix, this.o.tags);
      if (base === '' || base.startsWith(';')) {
        rejected.push({ name: p.name, reason: 'name is empty after sanitising' });
        continue;
      }
      for (const [suffix, v] of values) lines.push(`${graphiteName(p, suffix, this.o.prefix, this.o.tags)} ${formatNumber(v)} ${ts}\n`);
      points++;
    }
    const payloads: DeliveryPayload[] = points > 0 ? [{ points, body: Buffer.from(lines.join('')) }] : [];
    return { payloads, rejected };
  }

  send(payload: DeliveryPayload): Promise<void> {
    return tcpSend(this.o.host, this.o.port, payload.body, this.o.timeoutMs);
  }
}

export const graphiteSinkSpec: SinkSpec = {
  name: 'graphite',
  description: 'Sends to Carbon (Graphite) with the plaintext protocol over TCP.',
  options: [
    { key: 'host', type: 'string', default: '127.0.0.1', description: 'Carbon host' },
    { key: 'port', type: 'number', default: 2003, description: 'Carbon plaintext port' },
    { key: 'prefix', type: 'string', default: '', description: 'dotted prefix for every series' },
    { key: 'tags', type: 'string', default: 'graphite', choices: ['graphite', 'path'], description: 'tag style: graphite (name;k=v) or path (name.k.v)' },
    ...DELIVERY_OPTION_SPECS,
  ],
  create(o, context) {
    const tags = String(o.tags) as 'graphite' | 'path';
    const delivery = deliveryOptionsFrom(o, context, 'graphite');
    const transport = new GraphiteTransport({ host: String(o.host), port: Number(o.port), prefix: String(o.prefix ?? ''), tags, timeoutMs: delivery.requestTimeoutMs });
    return new DeliveringSink(transport, delivery, context.log, new Redactor([]));
  },
};
