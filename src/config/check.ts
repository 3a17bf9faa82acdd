import { sinkSpec } from '../sinks/registry.js';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { statSync } from 'node:fs';
import { FILE_PATH_OPTION, type ZibratoConfig } from './config.js';

/** One problem `zibrato up --check` found in the machine the config would run on. */
export interface EnvironmentProblem {
  /** The config key the problem belongs to, e.g. `broker.publish[0]`. */
  key: string;
  message: string;
  /** `endpoint`: a port in use (exit 3); `config`: fix the config (exit 2). */
  kind: 'endpoint' | 'config';
}

/** A backend's file path that is a directory: the file sink could never open it. */
export function directoryPathProblems(config: ZibratoConfig): EnvironmentProblem[] {
  const out: EnvironmentProblem[] = [];
  for (const [i, b] of config.backends.entries()) {
    const path = b.options[FILE_PATH_OPTION];
    if (typeof path !== 'string' || sinkSpec(b.sink).pathIsDirectory) continue;
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      // Missing is fine: the sink creates it.
    }
    if (isDir) out.push({ key: `backends[${i}].options.${FILE_PATH_OPTION}`, message: `"${path}" is a directory; give a file path such as ${path.replace(/\/$/, '')}/metrics.jsonl`, kind: 'config' });
  }
  return out;
}

function tcpFree(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
}

function udpFree(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', (err: NodeJS.ErrnoException) => {
      s.close();
      resolve(err.code ?? err.message);
    });
    s.bind(port, host, () => s.close(() => resolve(undefined)));
  });
}

/** `tcp://host:port` → host and port; undefined for other transports and wildcard ports. */
function tcpAddress(endpoint: string): { host: string; port: number } | undefined {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:]+):(\d+)$/.exec(endpoint);
  if (!m) return undefined;
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return { host: host === '*' ? '0.0.0.0' : host, port: Number(m[2]) };
}

/**
 * Ports the config would listen on that something else holds now: the
 * broker's tcp endpoints, the gateways' UDP/TCP ports and the HTTP ports of
 * sinks that listen (store API, Prometheus /metrics). (A moment later the
 * answer may differ; `up` still stops with a clear message if a bind fails.)
 */
export async function portsInUse(config: ZibratoConfig): Promise<EnvironmentProblem[]> {
  const out: EnvironmentProblem[] = [];
  for (const side of ['publish', 'subscribe'] as const) {
    for (const [i, e] of config.broker[side].entries()) {
      const a = tcpAddress(e);
      if (!a) continue;
      const err = await tcpFree(a.host, a.port);
      if (err) out.push({ key: `broker.${side}[${i}]`, message: `${e} cannot be bound: ${err}`, kind: 'endpoint' });
    }
  }
  for (const [i, b] of config.backends.entries()) {
    const { host, port } = b.options;
    // Port 0 picks a free port when the sink starts: nothing to check.
    if (!sinkSpec(b.sink).listens || typeof host !== 'string' || typeof port !== 'number' || port === 0) continue;
    const err = await tcpFree(host, port);
    if (err) out.push({ key: `backends[${i}].options.port`, message: `${host}:${port} cannot be bound: ${err}`, kind: 'endpoint' });
  }
  for (const [i, g] of config.ingest.entries()) {
    const tcp = await tcpFree(g.host, g.port);
    const udp = await udpFree(g.host, g.port);
    if (tcp || udp) out.push({ key: `ingest[${i}].port`, message: `${g.host}:${g.port} cannot be bound: ${[tcp && `tcp ${tcp}`, udp && `udp ${udp}`].filter(Boolean).join(', ')}`, kind: 'endpoint' });
  }
  return out;
}
