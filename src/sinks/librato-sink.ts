import { InvalidOptionError } from '../errors.js';
import type { SinkSpec } from './registry.js';
import type { FlushBatch, MetricPoint } from './sink.js';
import { DeliveringSink } from './delivery/delivering-sink.js';
import { DELIVERY_OPTION_SPECS, deliveryOptionsFrom } from './delivery/delivery-options.js';
import { httpPost } from './delivery/http-post.js';
import { Redactor } from './delivery/redact.js';
import type { DeliveryPayload, EncodedBatch, Transport } from './delivery/transport.js';
import { libratoFoldedName, libratoName } from './librato-naming.js';

/** The Librato API's documented cap on measurements in one POST. */
export const LIBRATO_MAX_MEASUREMENTS_PER_REQUEST = 300;

export interface LibratoOptions {
  /** API base, e.g. `https://metrics-api.librato.com`; `/v1/metrics` is appended. */
  url: string;
  email: string;
  token: string;
  /** Source used for points that have none ('' to send none). */
  source: string;
  prefix: string;
  timeoutMs: number;
}

/** One entry of the `gauges` or `counters` array. */
type LibratoMeasurement =
  | { name: string; value: number; source?: string }
  | { name: string; count: number; sum: number; min: number; max: number; sum_squares: number; source?: string };

/**
 * Librato's legacy metrics API. Mapping (docs/sinks.md, "librato"):
 * counters go to `counters` with the running total the backend keeps (Librato
 * counters are cumulative and it derives the deltas); gauges and sets to
 * `gauges` with `value`; timers to `gauges` as multi-sample gauges
 * (`count, sum, min, max, sum_squares`). The point's source is Librato's `source`.
 */
export class LibratoTransport implements Transport {
  readonly name = 'librato';
  /** Librato counters are running totals: the backend keeps them (src/backend/temporality.ts). */
  readonly temporality = 'cumulative';
  private readonly headers: Record<string, string>;

  constructor(private readonly o: LibratoOptions) {
    this.headers = {
      'Content-Type': 'application/json',
      Authorization: `Basic ${Buffer.from(`${o.email}:${o.token}`).toString('base64')}`,
      'User-Agent': 'zibrato',
    };
  }

  private measurement(p: MetricPoint): { kind: 'gauges' | 'counters'; m: LibratoMeasurement } | { reason: string } {
    const name = libratoFoldedName(p, this.o.prefix);
    const rawSource = p.source || this.o.source;
    const source = rawSource ? { source: libratoName(rawSource) } : {};
    switch (p.type) {
      case 'counter': {
        if (!Number.isFinite(p.value)) return { reason: 'value is not a finite number' };
        // Without the backend's totals (the transport used alone) the interval's sum is all there is.
        return { kind: 'counters', m: { name, value: p.cumulative?.value ?? p.value, ...source } };
      }
      case 'gauge':
      case 'set':
        if (!Number.isFinite(p.value)) return { reason: 'value is not a finite number' };
        return { kind: 'gauges', m: { name, value: p.value, ...source } };
      case 'timer': {
        const count = Math.round(p.count);
        if (![p.sum, p.min, p.max, p.sumSquares].every(Number.isFinite) || !(count >= 1)) return { reason: 'timer has no samples or a non-finite statistic' };
        return { kind: 'gauges', m: { name, count, sum: p.sum, min: p.min, max: p.max, sum_squares: p.sumSquares, ...source } };
      }
    }
  }

  encode(batch: FlushBatch): EncodedBatch {
    const rejected: EncodedBatch['rejected'] = [];
    const all: { kind: 'gauges' | 'counters'; m: LibratoMeasurement }[] = [];
    for (const p of batch.points) {
      const r = this.measurement(p);
      if ('reason' in r) rejected.push({ name: p.name, reason: r.reason });
      else all.push(r);
    }
    const payloads: DeliveryPayload[] = [];
    const measureTime = Math.floor(batch.timeMs / 1000);
    for (let i = 0; i < all.length; i += LIBRATO_MAX_MEASUREMENTS_PER_REQUEST) {
      const chunk = all.slice(i, i + LIBRATO_MAX_MEASUREMENTS_PER_REQUEST);
      const body: { measure_time: number; gauges?: LibratoMeasurement[]; counters?: LibratoMeasurement[] } = { measure_time: measureTime };
      const gauges = chunk.filter((x) => x.kind === 'gauges').map((x) => x.m);
      const counters = chunk.filter((x) => x.kind === 'counters').map((x) => x.m);
      if (gauges.length) body.gauges = gauges;
      if (counters.length) body.counters = counters;
      payloads.push({ points: chunk.length, body: Buffer.from(JSON.stringify(body)) });
    }
    return { payloads, rejected };
  }

  send(payload: DeliveryPayload): Promise<void> {
    return httpPost({ url: `${this.o.url.replace(/\/+$/, '')}/v1/metrics`, headers: this.headers, body: payload.body, timeoutMs: this.o.timeoutMs });
  }
}

export const libratoSinkSpec: SinkSpec = {
  name: 'librato',
  description: 'Posts to the legacy Librato metrics API (POST /v1/metrics, ≤ 300 measurements per request).',
  options: [
    { key: 'url', type: 'string', default: 'https://metrics-api.librato.com', description: 'API base URL' },
    { key: 'email', type: 'string', env: 'LIBRATO_EMAIL', description: 'account email (env LIBRATO_EMAIL)' },
    { key: 'token', type: 'string', env: 'LIBRATO_TOKEN', secret: true, description: 'API token (env LIBRATO_TOKEN)' },
    { key: 'source', type: 'string', default: '', description: 'source for points without one' },
    { key: 'prefix', type: 'string', default: '', description: 'dotted prefix for every name' },
    ...DELIVERY_OPTION_SPECS,
  ],
  create(o, context) {
    const email = o.email === undefined ? '' : String(o.email);
    const token = o.token === undefined ? '' : String(o.token);
    if (!email || !token) throw new InvalidOptionError('librato: email and token are required (options email/token or env LIBRATO_EMAIL/LIBRATO_TOKEN)');
    const delivery = deliveryOptionsFrom(o, context, 'librato');
    const transport = new LibratoTransport({ url: String(o.url), email, token, source: String(o.source ?? ''), prefix: String(o.prefix ?? ''), timeoutMs: delivery.requestTimeoutMs });
    return new DeliveringSink(transport, delivery, context.log, new Redactor([token, ...Redactor.urlSecrets(String(o.url))], [[email, token]]));
  },
};
