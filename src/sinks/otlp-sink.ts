import { InvalidOptionError } from '../errors.js';
import type { SinkSpec } from './registry.js';
import type { FlushBatch } from './sink.js';
import { DeliveringSink } from './delivery/delivering-sink.js';
import { DELIVERY_OPTION_SPECS, deliveryOptionsFrom } from './delivery/delivery-options.js';
import { httpPost } from './delivery/http-post.js';
import { Redactor } from './delivery/redact.js';
import type { DeliveryPayload, EncodedBatch, Transport } from './delivery/transport.js';
import { buildOtlpRequest, type OtlpTimerExport } from './otlp-model.js';
import { encodeOtlpProtobuf } from './otlp-protobuf.js';

export interface OtlpOptions {
  /** Full endpoint, e.g. `http://127.0.0.1:4318/v1/metrics`. */
  url: string;
  encoding: 'protobuf' | 'json';
  /** Overrides the per-source `service.name`; '' to use each point's source. */
  serviceName: string;
  /** Extra request headers (authentication), as in OTEL_EXPORTER_OTLP_HEADERS. */
  headers: Record<string, string>;
  maxPointsPerRequest: number;
  timeoutMs: number;
  /** Timers as Summaries (default) or exponential histograms, delta or cumulative. */
  timers?: OtlpTimerExport;
}

/** Parses `k1=v1,k2=v2` (values URL-decoded), the OTEL_EXPORTER_OTLP_HEADERS syntax. */
export function parseHeaderList(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new InvalidOptionError(`headers: expected key=value pairs separated by commas`);
    out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

/** OTLP/HTTP metrics export (protobuf or JSON), POST to `/v1/metrics`. */
export class OtlpTransport implements Transport {
  readonly name = 'otlp';
  private readonly headers: Record<string, string>;
  /** Summary count and sum are cumulative in OTLP: the backend keeps them (src/backend/temporality.ts). */
  readonly temporality = 'cumulative';
  /** Cumulative exponential histograms are the backend's merged sketches. */
  readonly cumulativeHistograms: boolean;

  constructor(private readonly o: OtlpOptions) {
    this.cumulativeHistograms = o.timers?.exponentialHistograms === true && o.timers.histogramTemporality === 'cumulative';
    this.headers = { ...o.headers, 'Content-Type': o.encoding === 'json' ? 'application/json' : 'application/x-protobuf', 'User-Agent': 'zibrato' };
  }

  encode(batch: FlushBatch): EncodedBatch {
    const payloads: DeliveryPayload[] = [];
    const rejected: EncodedBatch['rejected'] = [];
    for (let i = 0; i < batch.points.length; i += this.o.maxPointsPerRequest) {
      const { request, rejected: bad } = buildOtlpRequest(batch, this.o.serviceName, batch.points.slice(i, i + this.o.maxPointsPerRequest), (p) => p.cumulative, this.o.timers);
      rejected.push(...bad);
      const points = Math.min(this.o.maxPointsPerRequest, batch.points.length - i) - bad.length;
      if (points === 0) continue;
      const body = this.o.encoding === 'json' ? Buffer.from(JSON.stringify(request)) : encodeOtlpProtobuf(request);
      payloads.push({ points, body });
    }
    return { payloads, rejected };
  }

  /**
   * A 200 may still carry a partial_success naming rejected points; OTLP says
   * such data must not be retried, so it is treated like any 2xx.
   */
  send(payload: DeliveryPayload): Promise<void> {
    return httpPost({ url: this.o.url, headers: this.headers, body: payload.body, timeoutMs: this.o.timeoutMs });
  }
}

export const otlpSinkSpec: SinkSpec = {
  name: 'otlp',
  description: 'Exports to an OpenTelemetry collector over OTLP/HTTP (protobuf or JSON): counters as delta Sums, timers as Summaries.',
  options: [
    { key: 'url', type: 'string', default: 'http://127.0.0.1:4318/v1/metrics', env: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', description: 'OTLP/HTTP metrics endpoint' },
    { key: 'encoding', type: 'string', default: 'protobuf', choices: ['protobuf', 'json'], description: 'protobuf or json' },
    { key: 'serviceName', type: 'string', default: '', description: 'service.name for every resource (default: the point source)' },
    { key: 'headers', type: 'string', env: 'OTEL_EXPORTER_OTLP_HEADERS', secret: true, description: 'extra headers as k=v,k2=v2 (e.g. authorization)' },
    { key: 'maxPointsPerRequest', type: 'number', default: 5000, description: 'points per request; larger flushes are split' },
    { key: 'exponentialHistograms', type: 'boolean', default: false, description: 'timers as exponential histograms (mergeable, unit s) instead of summaries' },
    { key: 'histogramTemporality', type: 'string', default: 'cumulative', choices: ['cumulative', 'delta'], description: 'temporality of exponential histograms' },
    ...DELIVERY_OPTION_SPECS,
  ],
  create(o, context) {
    const encoding = String(o.encoding) as 'protobuf' | 'json';
    const delivery = deliveryOptionsFrom(o, context, 'otlp');
    const headers = o.headers === undefined ? {} : parseHeaderList(String(o.headers));
    const transport = new OtlpTransport({
      url: String(o.url),
      encoding,
      serviceName: String(o.serviceName ?? ''),
      headers,
      maxPointsPerRequest: Math.max(1, Math.floor(Number(o.maxPointsPerRequest))),
      timeoutMs: delivery.requestTimeoutMs,
      timers: { exponentialHistograms: o.exponentialHistograms === true, histogramTemporality: String(o.histogramTemporality) === 'delta' ? 'delta' : 'cumulative' },
    });
    // Also the bare credential after an auth scheme ("Bearer <token>"), in case a server echoes only that.
    const secrets = Object.values(headers).flatMap((v) => [v, v.split(' ').pop()]);
    return new DeliveringSink(transport, delivery, context.log, new Redactor([...secrets, ...Redactor.urlSecrets(String(o.url))]));
  },
};
