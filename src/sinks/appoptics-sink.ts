import { InvalidOptionError } from '../errors.js';
import type { SinkSpec } from './registry.js';
import type { FlushBatch, MetricPoint } from './sink.js';
import { DeliveringSink } from './delivery/delivering-sink.js';
import { DELIVERY_OPTION_SPECS, deliveryOptionsFrom } from './delivery/delivery-options.js';
import { httpPost } from './delivery/http-post.js';
import { Redactor } from './delivery/redact.js';
import type { DeliveryPayload, EncodedBatch, Transport } from './delivery/transport.js';
import { libratoName } from './librato-naming.js';
import { tagsWithSource } from './series-path.js';

/** The AppOptics API's documented cap on measurements in one POST. */
export const APPOPTICS_MAX_MEASUREMENTS_PER_REQUEST = 1000;
export const APPOPTICS_MAX_TAG_NAME_LENGTH = 64;
export const APPOPTICS_MAX_TAG_VALUE_LENGTH = 255;

export interface AppOpticsOptions {
  /** API base, e.g. `https://api.appoptics.com`; `/v1/measurements` is appended. */
  url: string;
  token: string;
  /** Tags put on the whole request (e.g. `env=prod,region=eu`). */
  tags: Record<string, string>;
  prefix: string;
  timeoutMs: number;
}

type AppOpticsMeasurement =
  | { name: string; value: number; tags?: Record<string, string> }
  | { name: string; count: number; sum: number; min: number; max: number; tags?: Record<string, string> };

/**
 * AppOptics tag rules: a name is 1–64 characters of `[-.:_\w]`, a value 1–255
 * characters of `[-.:_\\/\w ?]`. Other characters become `_`, both are cut to
 * length, and a tag whose value is empty is left out.
 */
export function appOpticsTags(pairs: [string, string][]): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [k, v] of pairs) {
    if (v === '') continue;
    const name = (k.replace(/[^-.:_\w]/g, '_') || '_').slice(0, APPOPTICS_MAX_TAG_NAME_LENGTH);
    if (name in out) continue;
    out[name] = v.replace(/[^-.:_\\/\w ?]/g, '_').slice(0, APPOPTICS_MAX_TAG_VALUE_LENGTH);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * AppOptics measurements API. Every point is one measurement tagged with its
 * tags and its source (tag `source`): counters, gauges and sets send `value`
 * (a counter's value is its sum over the interval); timers send the summary
 * fields `count, sum, min, max`. `time` is the flush time, `period` the interval.
 */
export class AppOpticsTransport implements Transport {
  readonly name = 'appoptics';
  private readonly headers: Record<string, string>;

  constructor(private readonly o: AppOpticsOptions) {
    this.headers = {
      'Content-Type': 'application/json',
      Authorization: `Basic ${Buffer.from(`${o.token}:`).toString('base64')}`,
      'User-Agent': 'zibrato',
    };
  }

  private measurement(p: MetricPoint): AppOpticsMeasurement | string {
    const name = libratoName([this.o.prefix, p.name].filter((s) => s !== '').join('.'));
    const tags = appOpticsTags(tagsWithSource(p));
    const withTags = tags ? { tags } : {};
    if (p.type === 'timer') {
      const count = Math.round(p.count);
      if (![p.sum, p.min, p.max].every(Number.isFinite) || !(count >= 1)) return 'timer has no samples or a non-finite statistic';
      return { name, count, sum: p.sum, min: p.min, max: p.max, ...withTags };
    }
    if (!Number.isFinite(p.value)) return 'value is not a finite number';
    return { name, value: p.value, ...withTags };
  }

  encode(batch: FlushBatch): EncodedBatch {
    const rejected: EncodedBatch['rejected'] = [];
    const all: AppOpticsMeasurement[] = [];
    for (const p of batch.points) {
      const m = this.measurement(p);
      if (typeof m === 'string') rejected.push({ name: p.name, reason: m });
      else all.push(m);
    }
    const payloads: DeliveryPayload[] = [];
    const globalTags = appOpticsTags(Object.entries(this.o.tags));
    for (let i = 0; i < all.length; i += APPOPTICS_MAX_MEASUREMENTS_PER_REQUEST) {
      const measurements = all.slice(i, i + APPOPTICS_MAX_MEASUREMENTS_PER_REQUEST);
      const body = {
        time: Math.floor(batch.timeMs / 1000),
        period: Math.max(1, Math.round(batch.intervalMs / 1000)),
        ...(globalTags ? { tags: globalTags } : {}),
        measurements,
      };
      payloads.push({ points: measurements.length, body: Buffer.from(JSON.stringify(body)) });
    }
    return { payloads, rejected };
  }

  send(payload: DeliveryPayload): Promise<void> {
    return httpPost({ url: `${this.o.url.replace(/\/+$/, '')}/v1/measurements`, headers: this.headers, body: payload.body, timeoutMs: this.o.timeoutMs });
  }
}

/** Parses `k=v,k2=v2`. */
function parseTags(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new InvalidOptionError(`tags: expected key=value pairs separated by commas, got ${JSON.stringify(part)}`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

export const appOpticsSinkSpec: SinkSpec = {
  name: 'appoptics',
  description: 'Posts to the AppOptics measurements API (POST /v1/measurements, tags, ≤ 1000 measurements per request).',
  options: [
    { key: 'url', type: 'string', default: 'https://api.appoptics.com', description: 'API base URL' },
    { key: 'token', type: 'string', env: 'APPOPTICS_TOKEN', secret: true, description: 'API token (env APPOPTICS_TOKEN)' },
    { key: 'tags', type: 'string', default: '', description: 'tags for every measurement, as k=v,k2=v2' },
    { key: 'prefix', type: 'string', default: '', description: 'dotted prefix for every name' },
    ...DELIVERY_OPTION_SPECS,
  ],
  create(o, context) {
    const token = o.token === undefined ? '' : String(o.token);
    if (!token) throw new InvalidOptionError('appoptics: a token is required (option token or env APPOPTICS_TOKEN)');
    const delivery = deliveryOptionsFrom(o, context, 'appoptics');
    const transport = new AppOpticsTransport({ url: String(o.url), token, tags: parseTags(String(o.tags ?? '')), prefix: String(o.prefix ?? ''), timeoutMs: delivery.requestTimeoutMs });
    return new DeliveringSink(transport, delivery, context.log, new Redactor([token, ...Redactor.urlSecrets(String(o.url))], [[token, '']]));
  },
};
