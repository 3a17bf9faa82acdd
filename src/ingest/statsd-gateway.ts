/**
 * A running StatsD gateway: a {@link StatsdServer} publishing through its own
 * Zibrato client, plus a periodic stats line. Used by `zibrato ingest statsd`
 * and by `zibrato up` (config `ingest: [{ type: statsd, port: 8125 }]`).
 */
import type { CurveClientKeys } from '../security/keys.js';
import { Zibrato } from '../client/index.js';
import { stderrLogger } from '../diagnostics.js';
import { DEFAULT_PUBLISH_ENDPOINT, DEFAULT_STATSD_PORT } from '../defaults.js';
import { InvalidOptionError } from '../errors.js';
import type { Level } from '../levels.js';
import { StatsdServer, type IngestPublisher, type StatsdServerStats } from './statsd-server.js';

export interface StatsdGatewayOptions {
  /** UDP and TCP port. Default 8125; 0 picks a free one. */
  port?: number;
  /** Listen address. Default 127.0.0.1. */
  host?: string;
  /** The broker's publisher endpoint. Default tcp://127.0.0.1:5550. */
  broker?: string;
  /** Level of lines without a `level:` tag. Default `info`. */
  defaultLevel?: Level;
  /** Source of lines without a `source:` tag. Default none. */
  source?: string;
  /** Tag key that sets the level. Default `level`. */
  levelTag?: string;
  /** Tag key that sets the source. Default `source`; `''` keeps it as a tag. */
  sourceTag?: string;
  udp?: boolean;
  tcp?: boolean;
  /** Interval of the stats log line; 0 turns it off. Default 60 s. */
  statsIntervalMs?: number;
  /** CURVE keys for a broker that requires them (docs/security.md). Default: the client's (environment, else none). */
  curve?: CurveClientKeys;
  /** Where log lines go. Default stderr, timestamped. */
  log?: (line: string) => void;
  /** Test seam: publish through this instead of a new Zibrato client. */
  publisher?: IngestPublisher & { close(): Promise<void>; stats?(): ClientStatsLike };
}

interface ClientStatsLike {
  sent: number;
  dropped: number;
  invalid: number;
  buffered: number;
}

export interface StatsdGateway {
  readonly port: number;
  readonly host: string;
  /** Server counters plus the client's. */
  stats(): StatsdServerStats & { client: ClientStatsLike | undefined };
  /** The stats line as logged periodically. */
  statsLine(): string;
  /** Stops listening, then closes the client so buffered records are sent (bounded by the client's close timeout). */
  stop(): Promise<void>;
}

export async function startStatsdGateway(options: StatsdGatewayOptions = {}): Promise<StatsdGateway> {
  const log = options.log ?? stderrLogger('ingest statsd');
  const statsIntervalMs = options.statsIntervalMs ?? 60_000;
  if (!Number.isFinite(statsIntervalMs) || statsIntervalMs < 0) throw new InvalidOptionError(`stats interval must be ≥ 0 ms, got ${String(options.statsIntervalMs)}`);
  const broker = options.broker ?? DEFAULT_PUBLISH_ENDPOINT;
  const client =
    options.publisher ??
    new Zibrato({
      broker,
      ...(options.curve ? { curve: options.curve } : {}),
      ...(options.source !== undefined ? { source: options.source } : {}),
      log: (line) => log(`client: ${line}`),
    });
  const server = new StatsdServer({
    publisher: client,
    port: options.port ?? DEFAULT_STATSD_PORT,
    host: options.host ?? '127.0.0.1',
    log,
    ...(options.defaultLevel !== undefined ? { defaultLevel: options.defaultLevel } : {}),
    ...(options.levelTag !== undefined ? { levelTag: options.levelTag } : {}),
    ...(options.sourceTag !== undefined ? { sourceTag: options.sourceTag } : {}),
    ...(options.udp !== undefined ? { udp: options.udp } : {}),
    ...(options.tcp !== undefined ? { tcp: options.tcp } : {}),
  });
  let bound: { port: number; host: string };
  try {
    bound = await server.start();
  } catch (err) {
    await client.close();
    throw err;
  }
  const protocols = [options.udp !== false ? 'UDP' : '', options.tcp !== false ? 'TCP' : ''].filter(Boolean).join(' and ');
  log(`listening for StatsD on ${protocols} ${bound.host}:${bound.port}, publishing to ${broker}`);
  if (client instanceof Zibrato) {
    // Records are buffered meanwhile; this only tells the operator whether the broker is there.
    void client.ready({ timeoutMs: 5000 }).then((ok) => {
      if (!ok) log(`broker ${broker} not reached after 5 s; buffering records and retrying`);
    });
  }

  let last = server.stats();
  const stats = (): StatsdServerStats & { client: ClientStatsLike | undefined } => ({ ...server.stats(), client: client.stats?.() });
  const statsLine = (): string => {
    const now = stats();
    const d = (k: keyof StatsdServerStats): string => `${now[k]} (+${now[k] - last[k]})`;
    const c = now.client;
    const line = `received ${d('received')} lines, malformed ${d('malformed')}, published ${d('published')} samples` + (c ? `; client sent ${c.sent}, dropped ${c.dropped}, invalid ${c.invalid}, buffered ${c.buffered}` : '');
    last = now;
    return line;
  };
  const timer = statsIntervalMs > 0 ? setInterval(() => log(statsLine()), statsIntervalMs) : undefined;
  timer?.unref();

  let stopping: Promise<void> | undefined;
  return {
    port: bound.port,
    host: bound.host,
    stats,
    statsLine,
    stop() {
      stopping ??= (async () => {
        if (timer) clearInterval(timer);
        await server.stop();
        await client.close();
        log(`stopped: ${statsLine()}`);
      })();
      return stopping;
    },
  };
}
