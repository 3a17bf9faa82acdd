import { connect } from 'node:net';
import { DeliveryError } from './delivery-error.js';

/**
 * Delivers bytes over a fresh TCP connection: connect, write, half-close,
 * then wait for the peer to close its side.
 *
 * Line protocols (Carbon, StatsD over TCP) have no acknowledgement. A
 * long-lived socket would accept writes into the kernel buffer after the peer
 * died and lose them silently; a connection per flush turns "peer down" into a
 * connect error we can retry and spool, and the peer's close after our FIN
 * shows it read everything. A peer that keeps the socket open past
 * `closeWaitMs` is assumed to have read the data (it was fully written).
 */
export function tcpSend(host: string, port: number, body: Buffer, timeoutMs: number, closeWaitMs = 2_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(new DeliveryError(`tcp ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { retryable: true, cause: err }));
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.setNoDelay(true);
    socket.on('error', (err) => finish(err));
    socket.on('connect', () => {
      socket.end(body, () => {
        // Everything is written; now give the peer a moment to read and close.
        const grace = setTimeout(() => finish(), closeWaitMs);
        grace.unref();
        socket.on('close', () => {
          clearTimeout(grace);
          finish();
        });
      });
    });
    socket.on('data', () => undefined);
  });
}
