/**
 * StatsD / DogStatsD gateway: listens on UDP and TCP (newline-framed) on the
 * same port, parses every line with {@link parseStatsdPacket} and hands each
 * sample to a publisher (the Zibrato client), which batches it onto the broker.
 *
 * The server does not own the publisher: whoever created it closes it after
 * {@link StatsdServer.stop}, so records still buffered in the client are sent.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server as TcpServer, type Socket as TcpSocket } from 'node:net';
import { RateLimitedLog, stderrLogger } from '../diagnostics.js';
import { InvalidOptionError } from '../errors.js';
import { isLevel, type Level } from '../levels.js';
import { DEFAULT_STATSD_PORT } from '../defaults.js';
import type { Tags } from '../wire/series-encoding.js';
import { parseStatsdPacket, resolveStatsdParserOptions, type ParsedPacket, type ResolvedStatsdParserOptions, type StatsdKind } from './statsd-parser.js';

/** What the server publishes through: structurally, the Zibrato client's `emit`. */
export interface IngestPublisher {
  emit(level: Level, kind: StatsdKind, name: string, value: number, options?: { source?: string; tags?: Tags; sampleRate?: number }): void;
}

export interface StatsdServerOptions {
  /** Where samples go; usually a `Zibrato` client. */
  publisher: IngestPublisher;
  /** UDP and TCP port. Default 8125. 0 picks a free port (the same number for both). */
  port?: number;
  /** Address to listen on. Default 127.0.0.1; `0.0.0.0` or `::` to accept from other hosts. */
  host?: string;
  /** Listen on UDP. Default true. */
  udp?: boolean;
  /** Listen on TCP (newline-framed, same port). Default true. */
  tcp?: boolean;
  /** Level of lines without a `level:` tag. Default `info`. */
  defaultLevel?: Level;
  /** Tag key that sets the level. Default `level`. */
  levelTag?: string;
  /** Tag key that sets the source. Default `source`; `''` keeps it as an ordinary tag. */
  sourceTag?: string;
  /** Longest TCP line accepted; longer lines are discarded and counted as malformed. Default 64 KiB. */
  maxLineBytes?: number;
  /**
   * Most TCP connections open at once; a connection past it is closed at once,
   * counted (`tcpRefused`) and logged. Default {@link DEFAULT_MAX_TCP_CONNECTIONS}.
   */
  maxTcpConnections?: number;
  /**
   * A TCP connection that sends nothing for this long is closed (its complete
   * lines were already published), counted (`tcpIdleClosed`) and logged; 0
   * keeps idle connections forever. Default {@link DEFAULT_TCP_IDLE_TIMEOUT_MS}.
   */
  tcpIdleTimeoutMs?: number;
  /** Where diagnostics go. Default stderr. */
  log?: (line: string) => void;
  /** At most one malformed-line report per this interval; the rest are counted. Default 10 s. */
  malformedLogIntervalMs?: number;
}

/** Counters since start. */
export interface StatsdServerStats {
  /** UDP datagrams received. */
  datagrams: number;
  /** TCP connections accepted. */
  tcpConnections: number;
  /** Non-empty lines received (UDP and TCP). */
  received: number;
  /** Lines rejected (each logged, rate-limited, with its reason). */
  malformed: number;
  /** Samples handed to the publisher (a multi-value line gives several). */
  published: number;
  /** TCP connections closed at once because `maxTcpConnections` were open. */
  tcpRefused: number;
  /** TCP connections closed after `tcpIdleTimeoutMs` without data. */
  tcpIdleClosed: number;
}

/**
 * Each connection holds a socket and a line buffer (up to `maxLineBytes`), so
 * without a cap a client opening connections in a loop exhausts file
 * descriptors and memory. StatsD clients keep one or a few connections each.
 */
export const DEFAULT_MAX_TCP_CONNECTIONS = 1_024;
/** Clients reconnect on demand, so closing a connection silent for five minutes costs them nothing and frees its slot. */
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = 300_000;

/** The UDP receive buffer we ask for: bursts of datagrams queue in the kernel instead of being dropped. The OS may cap it (net.core.rmem_max). */
const UDP_RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024;
const DEFAULT_MAX_LINE_BYTES = 64 * 1024;
const BIND_ATTEMPTS = 5;

export class StatsdServer {
  private readonly publisher: IngestPublisher;
  private readonly parserOptions: ResolvedStatsdParserOptions;
  private readonly requestedPort: number;
  private readonly host: string;
  private readonly useUdp: boolean;
  private readonly useTcp: boolean;
  private readonly maxLineBytes: number;
  private readonly log: (line: string) => void;
  private readonly malformedLogIntervalMs: number;
  private readonly maxTcpConnections: number;
  private readonly tcpIdleTimeoutMs: number;
  private readonly limitLog: RateLimitedLog;
  private udp: UdpSocket | undefined;
  private tcp: TcpServer | undefined;
  private readonly connections = new Set<TcpSocket>();
  private boundPort = 0;
  private malformedLoggedAt = -Infinity;
  private malformedSuppressed = 0;
  private readonly counts: StatsdServerStats = { datagrams: 0, tcpConnections: 0, received: 0, malformed: 0, published: 0, tcpRefused: 0, tcpIdleClosed: 0 };

  constructor(options: StatsdServerOptions) {
    if (!options || typeof options.publisher?.emit !== 'function') throw new InvalidOptionError('StatsdServer needs a publisher with an emit() method (a Zibrato client)');
    const port = options.port ?? DEFAULT_STATSD_PORT;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidOptionError(`port must be an integer 0–65535, got ${String(options.port)}`);
    if (options.defaultLevel !== undefined && !isLevel(options.defaultLevel)) {
      throw new InvalidOptionError(`default level must be one of debug, info, warn, error, crit, got ${JSON.stringify(options.defaultLevel)}`, 'ZIB_ERR_INVALID_LEVEL');
    }
    const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 16) throw new InvalidOptionError(`maxLineBytes must be an integer ≥ 16, got ${String(maxLineBytes)}`);
    this.publisher = options.publisher;
    this.parserOptions = resolveStatsdParserOptions(options);
    this.requestedPort = port;
    this.host = options.host ?? '127.0.0.1';
    this.useUdp = options.udp ?? true;
    this.useTcp = options.tcp ?? true;
    if (!this.useUdp && !this.useTcp) throw new InvalidOptionError('StatsdServer needs at least one of udp and tcp');
    this.maxLineBytes = maxLineBytes;
    this.log = options.log ?? stderrLogger('ingest statsd');
    this.malformedLogIntervalMs = options.malformedLogIntervalMs ?? 10_000;
    this.maxTcpConnections = options.maxTcpConnections ?? DEFAULT_MAX_TCP_CONNECTIONS;
    if (!Number.isInteger(this.maxTcpConnections) || this.maxTcpConnections < 1) throw new InvalidOptionError(`maxTcpConnections must be an integer ≥ 1, got ${String(options.maxTcpConnections)}`);
    this.tcpIdleTimeoutMs = options.tcpIdleTimeoutMs ?? DEFAULT_TCP_IDLE_TIMEOUT_MS;
    if (!(this.tcpIdleTimeoutMs >= 0) || !Number.isFinite(this.tcpIdleTimeoutMs)) throw new InvalidOptionError(`tcpIdleTimeoutMs must be a number of ms ≥ 0, got ${String(options.tcpIdleTimeoutMs)}`);
    this.limitLog = new RateLimitedLog(this.log, this.malformedLogIntervalMs);
  }

  /** The port both listeners are bound to (after {@link start}). */
  get port(): number {
    return this.boundPort;
  }

  /** Counters since start (a copy). */
  stats(): StatsdServerStats {
    return { ...this.counts };
  }

  /** Binds the listeners. Rejects when the port is taken. */
  async start(): Promise<{ port: number; host: string }> {
    if (this.udp || this.tcp) throw new Error('StatsdServer already started');
    // With port 0 the UDP port is chosen first and TCP takes the same number;
    // if that number is busy for TCP, try another.
    for (let attempt = 1; ; attempt++) {
      try {
        let port = this.requestedPort;
        if (this.useUdp) port = await this.bindUdp(port);
        if (this.useTcp) port = await this.listenTcp(port);
        this.boundPort = port;
        return { port, host: this.host };
      } catch (err) {
        await this.closeListeners();
        if (this.requestedPort !== 0 || attempt >= BIND_ATTEMPTS || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
    }
  }

  /** Stops listening; TCP lines already complete are published first. Does not close the publisher. */
  async stop(): Promise<void> {
    for (const c of this.connections) {
      this.flushConnectionRemainder(c);
      c.destroy();
    }
    this.connections.clear();
    await this.closeListeners();
    if (this.malformedSuppressed > 0) {
      this.log(`${this.malformedSuppressed} more malformed lines since the last report`);
      this.malformedSuppressed = 0;
    }
  }

  /** Parses and publishes one datagram or chunk of complete lines (exposed for tests and embedding). */
  ingest(data: Uint8Array | string, peer = 'local'): void {
    this.publish(parseStatsdPacket(data, this.parserOptions), peer);
  }

  private publish(parsed: ParsedPacket, peer: string): void {
    this.counts.received += parsed.lines;
    for (const s of parsed.samples) {
      const options: { source?: string; tags?: Tags; sampleRate?: number } = { tags: s.tags };
      if (s.source !== undefined) options.source = s.source;
      if (s.sampleRate !== 1) options.sampleRate = s.sampleRate;
      this.publisher.emit(s.level, s.kind, s.name, s.value, options);
      this.counts.published++;
    }
    if (parsed.malformed.length > 0) {
      this.counts.malformed += parsed.malformed.length;
      this.reportMalformed(parsed, peer);
    }
  }

  private reportMalformed(parsed: ParsedPacket, peer: string): void {
    const now = Date.now();
    if (now - this.malformedLoggedAt < this.malformedLogIntervalMs) {
      this.malformedSuppressed += parsed.malformed.length;
      return;
    }
    const first = parsed.malformed[0]!;
    const more = parsed.malformed.length - 1 + this.malformedSuppressed;
    this.malformedLoggedAt = now;
    this.malformedSuppressed = 0;
    this.log(`malformed line from ${peer}: ${first.reason}: ${JSON.stringify(first.line)}${more > 0 ? ` (and ${more} more malformed lines since the last report)` : ''}`);
  }

  private bindUdp(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const sock = createSocket(isIPv6(this.host) ? 'udp6' : 'udp4');
      this.udp = sock;
      const onError = (err: Error): void => reject(err);
      sock.once('error', onError);
      sock.bind(port, this.host, () => {
        sock.off('error', onError);
        sock.on('error', (err) => this.log(`UDP socket error: ${err.message}`));
        try {
          sock.setRecvBufferSize(UDP_RECEIVE_BUFFER_BYTES);
        } catch {
          // The OS keeps its own limit; the default still works, it only drops sooner under bursts.
        }
        sock.on('message', (msg, rinfo) => {
          this.counts.datagrams++;
          this.ingest(msg, `udp ${rinfo.address}:${rinfo.port}`);
        });
        resolve(sock.address().port);
      });
    });
  }

  private listenTcp(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer((conn) => this.onConnection(conn));
      this.tcp = server;
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen({ port, host: this.host, exclusive: true }, () => {
        server.off('error', onError);
        server.on('error', (err) => this.log(`TCP server error: ${err.message}`));
        resolve((server.address() as { port: number }).port);
      });
    });
  }

  private readonly remainders = new WeakMap<TcpSocket, { pending: Buffer; discarding: boolean }>();

  private onConnection(conn: TcpSocket): void {
    const peer = `tcp ${conn.remoteAddress}:${conn.remotePort}`;
    if (this.connections.size >= this.maxTcpConnections) {
      this.counts.tcpRefused++;
      conn.on('error', () => undefined);
      conn.destroy();
      this.limitLog.report('ZIB_INGEST_TCP_LIMIT', `${this.maxTcpConnections} TCP connections open: closed a new one from ${peer} (${this.counts.tcpRefused} refused since start)`);
      return;
    }
    this.counts.tcpConnections++;
    this.connections.add(conn);
    if (this.tcpIdleTimeoutMs > 0) {
      conn.setTimeout(this.tcpIdleTimeoutMs, () => {
        this.counts.tcpIdleClosed++;
        this.limitLog.report('ZIB_INGEST_TCP_IDLE', `closed ${peer}: nothing received for ${this.tcpIdleTimeoutMs} ms (${this.counts.tcpIdleClosed} idle connections closed since start)`);
        this.flushConnectionRemainder(conn);
        conn.destroy();
      });
    }
    const state = { pending: Buffer.alloc(0), discarding: false };
    this.remainders.set(conn, state);
    conn.on('data', (chunk: Buffer) => {
      let data = state.pending.length > 0 ? Buffer.concat([state.pending, chunk]) : chunk;
      if (state.discarding) {
        // Skip the rest of an over-long line.
        const nl = data.indexOf(0x0a);
        if (nl < 0) {
          state.pending = Buffer.alloc(0);
          return;
        }
        state.discarding = false;
        data = data.subarray(nl + 1);
      }
      const lastNl = data.lastIndexOf(0x0a);
      if (lastNl >= 0) this.ingest(data.subarray(0, lastNl + 1), peer);
      const rest = data.subarray(lastNl + 1);
      if (rest.length > this.maxLineBytes) {
        this.counts.received++;
        this.counts.malformed++;
        this.reportMalformed({ samples: [], lines: 1, malformed: [{ line: rest.subarray(0, 200).toString('utf8') + '…', reason: `line longer than ${this.maxLineBytes} bytes` }] }, peer);
        state.discarding = true;
        state.pending = Buffer.alloc(0);
      } else {
        // Copy: the remainder would otherwise keep the whole chunk alive.
        state.pending = Buffer.from(rest);
      }
    });
    conn.on('end', () => {
      this.flushConnectionRemainder(conn);
      conn.end();
    });
    conn.on('close', () => this.connections.delete(conn));
    conn.on('error', () => {
      // A client that resets the connection is not our problem; what arrived was used.
    });
  }

  /** A last line without a newline counts when the peer closes the connection. */
  private flushConnectionRemainder(conn: TcpSocket): void {
    const state = this.remainders.get(conn);
    if (!state || state.discarding || state.pending.length === 0) return;
    const last = state.pending;
    state.pending = Buffer.alloc(0);
    this.ingest(last, `tcp ${conn.remoteAddress}:${conn.remotePort}`);
  }

  private async closeListeners(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    await Promise.all([
      udp ? new Promise<void>((resolve) => udp.close(() => resolve())).catch(() => undefined) : undefined,
      tcp ? new Promise<void>((resolve) => tcp.close(() => resolve())) : undefined,
    ]);
  }
}
