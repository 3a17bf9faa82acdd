import { createSocket, type Socket } from 'node:dgram';
import { InvalidOptionError } from '../errors.js';
import type { SinkSpec } from './registry.js';
import type { FlushBatch, MetricPoint } from './sink.js';
import { DeliveringSink } from './delivery/delivering-sink.js';
import { DeliveryError } from './delivery/delivery-error.js';
import { DELIVERY_OPTION_SPECS, deliveryOptionsFrom } from './delivery/delivery-options.js';
import { Redactor } from './delivery/redact.js';
import { tcpSend } from './delivery/tcp-send.js';
import type { DeliveryPayload, EncodedBatch, Transport } from './delivery/transport.js';
import { foldedPath, formatNumber, sanitizePathName, sanitizePathSegment, tagsWithSource } from './series-path.js';

/** Default StatsD datagram budget: a 1500-byte Ethernet MTU less IPv4/UDP headers and some slack (the StatsD docs' advice). */
export const DEFAULT_STATSD_MTU_BYTES = 1432;

export interface StatsdOptions {
  host: string;
  port: number;
  protocol: 'udp' | 'tcp';
  /** Largest UDP datagram payload; lines are packed up to it. */
  mtuBytes: number;
  prefix: string;
  /** `path`: tags folded into the key (`name.k.v`); `dogstatsd`: `|#k:v,k2:v2` suffix. */
  tags: 'path' | 'dogstatsd';
  timeoutMs: number;
}

/**
 * The StatsD lines of one point. Our points are already aggregates, so they
 * are repeated as the StatsD types whose merge rule fits them when the daemon
 * folds several of our flushes into one of its own:
 *
 * - counter → `name:sum|c` (counts add up; the daemon computes its own rate);
 * - gauge → `name:value|g`; a negative value is sent as `name:0|g` then
 *   `name:-5|g`, because a leading sign means "adjust by" in StatsD;
 * - timer → `name.count` and `name.sum` as counters (they add up), `name.min`,
 *   `.max`, `.mean`, `.stddev`, `.p50`, `.p90`, `.p95`, `.p99` as gauges (the
 *   daemon cannot re-aggregate percentiles; raw samples are not kept);
 * - set → `name:distinct|g` (members are not kept, only their count).
 *
 * Returns groups of lines that must travel in one datagram.
 */
export function statsdLines(p: MetricPoint, o: Pick<StatsdOptions, 'prefix' | 'tags'>): string[][] {
  const key = (suffix?: string): string =>
    o.tags === 'path' ? foldedPath(o.prefix, p, suffix) : [o.prefix, p.name, suffix ?? ''].map(sanitizePathName).filter((s) => s !== '').join('.');
  const tagSuffix =
    o.tags === 'dogstatsd' && tagsWithSource(p).length > 0
      ? '|#' + tagsWithSource(p).map(([k, v]) => `${sanitizePathSegment(k)}:${v.replace(/[,|#\s]/g, '_')}`).join(',')
      : '';
  const line = (k: string, v: number, type: 'c' | 'g'): string => `${k}:${formatNumber(v)}|${type}${tagSuffix}`;
  const gaugeGroup = (k: string, v: number): string[] => (v < 0 ? [line(k, 0, 'g'), line(k, v, 'g')] : [line(k, v, 'g')]);
  switch (p.type) {
    case 'counter':
      return [[line(key(), p.value, 'c')]];
    case 'gauge':
    case 'set':
      return [gaugeGroup(key(), p.value)];
    case 'timer':
      return [
        [line(key('count'), p.count, 'c')],
        [line(key('sum'), p.sum, 'c')],
        ...(['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p95', 'p99'] as const).map((f) => gaugeGroup(key(f), p[f])),
      ];
  }
}

function finiteValues(p: MetricPoint): boolean {
  switch (p.type) {
    case 'counter':
      return Number.isFinite(p.value);
    case 'gauge':
    case 'set':
      return Number.isFinite(p.value);
    case 'timer':
      return [p.count, p.sum, p.min, p.max, p.mean, p.stddev, p.p50, p.p90, p.p95, p.p99].every(Number.isFinite);
  }
}

/** StatsD text protocol over UDP (lines packed into MTU-sized datagrams) or TCP (one connection per flush). */
export class StatsdTransport implements Transport {
  readonly name = 'statsd';
  private socket: Socket | undefined;

  constructor(private readonly o: StatsdOptions) {}

  encode(batch: FlushBatch): EncodedBatch {
    const rejected: EncodedBatch['rejected'] = [];
    // For UDP a payload is one datagram; for TCP the whole flush.
    const payloads: DeliveryPayload[] = [];
    let current = '';
    let currentPoints = 0;
    const seal = (): void => {
      if (current === '') return;
      payloads.push({ points: currentPoints, body: Buffer.from(current) });
      current = '';
      currentPoints = 0;
    };
    for (const p of batch.points) {
      if (!finiteValues(p)) {
        rejected.push({ name: p.name, reason: 'value is not a finite number' });
        continue;
      }
      const groups = statsdLines(p, this.o);
      if (groups[0]![0]!.startsWith(':') || groups[0]![0]!.startsWith('|')) {
        rejected.push({ name: p.name, reason: 'name is empty after sanitising' });
        continue;
      }
      for (const group of groups) {
        const text = group.join('\n');
        if (Buffer.byteLength(text) > this.o.mtuBytes && this.o.protocol === 'udp') {
          rejected.push({ name: p.name, reason: `line longer than the ${this.o.mtuBytes}-byte datagram budget` });
          continue;
        }
        const joined = current === '' ? text : `${current}\n${text}`;
        if (this.o.protocol === 'udp' && Buffer.byteLength(joined) > this.o.mtuBytes) {
          seal();
          current = text;
        } else current = joined;
      }
      currentPoints++;
    }
    if (this.o.protocol === 'tcp' && current !== '') current += '\n';
    seal();
    return { payloads, rejected };
  }

  async send(payload: DeliveryPayload): Promise<void> {
    if (this.o.protocol === 'tcp') return tcpSend(this.o.host, this.o.port, payload.body, this.o.timeoutMs);
    const socket = this.udpSocket();
    await new Promise<void>((resolve, reject) => {
      socket.send(payload.body, this.o.port, this.o.host, (err) => {
        if (err) reject(new DeliveryError(`udp ${this.o.host}:${this.o.port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { retryable: true, cause: err }));
        else resolve();
      });
    });
  }

  private udpSocket(): Socket {
    if (!this.socket) {
      this.socket = createSocket(this.o.host.includes(':') ? 'udp6' : 'udp4');
      // Asynchronous socket errors (ICMP unreachable) must not crash the process; UDP loss is accepted.
      this.socket.on('error', () => undefined);
      this.socket.unref();
    }
    return this.socket;
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

export const statsdSinkSpec: SinkSpec = {
  name: 'statsd',
  description: 'Repeats aggregates to a StatsD daemon over UDP (packed datagrams) or TCP.',
  options: [
    { key: 'host', type: 'string', default: '127.0.0.1', description: 'StatsD host' },
    { key: 'port', type: 'number', default: 8125, description: 'StatsD port' },
    { key: 'protocol', type: 'string', default: 'udp', choices: ['udp', 'tcp'], description: 'udp or tcp (only tcp can notice an outage and spool)' },
    { key: 'mtu', type: 'number', default: DEFAULT_STATSD_MTU_BYTES, description: 'largest UDP datagram in bytes; lines are packed up to it' },
    { key: 'prefix', type: 'string', default: '', description: 'dotted prefix for every key' },
    { key: 'tags', type: 'string', default: 'path', choices: ['path', 'dogstatsd'], description: 'tag style: path (name.k.v) or dogstatsd (|#k:v)' },
    ...DELIVERY_OPTION_SPECS,
  ],
  create(o, context) {
    const protocol = String(o.protocol) as 'udp' | 'tcp';
    const tags = String(o.tags) as 'path' | 'dogstatsd';
    const mtuBytes = Number(o.mtu);
    if (!(mtuBytes >= 64 && mtuBytes <= 65_507)) throw new InvalidOptionError(`mtu: expected 64–65507 bytes, got ${mtuBytes}`);
    const delivery = deliveryOptionsFrom(o, context, 'statsd');
    const transport = new StatsdTransport({ host: String(o.host), port: Number(o.port), protocol, mtuBytes, prefix: String(o.prefix ?? ''), tags, timeoutMs: delivery.requestTimeoutMs });
    return new DeliveringSink(transport, delivery, context.log, new Redactor([]));
  },
};
