import { isIP } from 'node:net';

/**
 * True when an endpoint can only be reached from this machine: `ipc://` and
 * `inproc://` (file permissions guard them), and `tcp://` on 127.0.0.0/8,
 * ::1 or `localhost`. Anything else (`*`, 0.0.0.0, a LAN address, a host
 * name) is reachable from other machines.
 */
export function isLocalOnlyEndpoint(endpoint: string): boolean {
  const m = /^([a-z]+):\/\/(.*)$/.exec(endpoint);
  if (!m) return false;
  const [, transport, rest] = m;
  if (transport === 'ipc' || transport === 'inproc') return true;
  if (transport !== 'tcp' && transport !== 'ws') return false;
  // tcp://host:port, tcp://[v6]:port; a "source;host:port" form names the local address first.
  const target = rest!.includes(';') ? rest!.slice(rest!.indexOf(';') + 1) : rest!;
  const host = target.startsWith('[') ? target.slice(1, target.indexOf(']')) : target.slice(0, target.lastIndexOf(':'));
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}
