import type * as zmq from 'zeromq';
import { NO_BROKER_NOTICE_MS } from '../defaults.js';

/**
 * Says once when the broker at `endpoint` answers a socket's connect, or, after
 * {@link NO_BROKER_NOTICE_MS}, that none has yet: ZeroMQ retries a connect
 * silently, so a wrong endpoint would otherwise print nothing at all. Call it
 * before `connect`, or the observer can miss a local broker's handshake.
 * Returns a function that stops the pending notice (on close).
 */
export function announceBrokerAnswer(socket: zmq.Socket, endpoint: string, say: (line: string) => void): () => void {
  let answered = false;
  socket.events.on('handshake', () => {
    if (answered) return;
    answered = true;
    say(`the broker at ${endpoint} answered`);
  });
  const timer = setTimeout(() => {
    if (!answered) say(`no broker has answered at ${endpoint} yet (is \`zibrato up\` or \`zibrato broker\` running? with CURVE, are the keys right?); still trying`);
  }, NO_BROKER_NOTICE_MS);
  timer.unref();
  return () => clearTimeout(timer);
}
