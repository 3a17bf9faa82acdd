import { connect } from 'node:net';
import { DeliveryError } from './delivery-error.js';

/**
 * Delivers bytes over a fresh TCP connection: connect, write, half-close,
 * then wait for the peer to close its side. Succeeds only when the peer
 * closes within `timeoutMs` of the start.
 *
 * Line protocols (Carbon, StatsD over TCP) have no acknowledgement. A
 * long-lived socket would accept writes into the kernel buffer after the peer
 * died and lose them silently; a connection per flush turns "peer down" into a
 * connect error we can retry and spool. The peer's close after our FIN is the
 * only sign it read everything: the kernel buffers on both sides take a flush
 * from a peer that accepts but never reads (hung), so a write that "finished"
 * proves nothing. A peer that keeps the socket open past the timeout is
 * therefore a failed (retryable) delivery, never a delivered one. Carbon and
 * StatsD close on end of stream, as Node servers do by default.
 */
export function tcpSend(host: string, port: number, body: Buffer, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let settled = false;
    let stage = 'connecting';
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(new DeliveryError(`tcp ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { retryable: true, cause: err }));
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms while ${stage}`)), timeoutMs);
    socket.setNoDelay(true);
    socket.on('error', (err) => finish(err));
    socket.on('close', () => {
      // A close before all our bytes (and FIN) went out means they may not have been read.
      if (socket.writableFinished) finish();
      else finish(new Error(`closed by the peer while ${stage}`));
    });
    socket.on('connect', () => {
      stage = 'writing (the peer is not reading)';
      socket.end(body, () => {
        stage = 'waiting for the peer to read and close';
      });
    });
    socket.on('data', () => undefined);
  });
}
