import { ZibratoError } from '../errors.js';

/** What libzmq's errno means for someone starting a process, in words. */
const REASONS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use (another broker, or a process still stopping?)',
  EADDRNOTAVAIL: 'the address is not one of this machine\'s',
  EACCES: 'permission denied (ports below 1024 need privileges; check the ipc path\'s directory)',
  ENODEV: 'the host or interface name cannot be resolved',
  EINVAL: 'the endpoint is not valid (tcp://host:port, ipc:///path)',
  EPROTONOSUPPORT: 'the transport is not supported (use tcp:// or ipc://)',
  ENOENT: 'the ipc path\'s directory does not exist',
};

/**
 * Turns a zeromq.js bind/connect error (it carries `code` and `address`) into
 * a `ZIB_ERR_ENDPOINT` error that names the endpoint and the option that
 * chose it, e.g. `--publish tcp://127.0.0.1:5550: cannot bind: EADDRINUSE …`.
 * `optionFor` maps the failing address to the option name.
 */
export function endpointError(err: unknown, action: 'bind' | 'connect', optionFor: (address: string) => string, fallbackAddress: string): Error {
  if (err instanceof ZibratoError) return err;
  // zeromq.js puts the whole endpoint in `address`; Node's net/dgram put the host there and the port beside it.
  const e = err as { code?: unknown; address?: unknown; port?: unknown; message?: unknown };
  const address = typeof e.address !== 'string' ? fallbackAddress : typeof e.port === 'number' ? `${e.address}:${e.port}` : e.address;
  const code = typeof e.code === 'string' ? e.code : 'error';
  const reason = REASONS[code] ?? String(e.message ?? err);
  return new ZibratoError('ZIB_ERR_ENDPOINT', `${optionFor(address)} ${address}: cannot ${action}: ${code}: ${reason}`, { cause: err });
}

/** Runs `f` (a bind or connect) and rethrows its failure as {@link endpointError}. */
export async function withEndpoint<T>(action: 'bind' | 'connect', option: string, address: string, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw endpointError(err, action, () => option, address);
  }
}
