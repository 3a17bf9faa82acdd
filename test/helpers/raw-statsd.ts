import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

/** Sends one UDP datagram to 127.0.0.1:`port`. */
export function sendUdp(port: number, text: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.send(text, port, '127.0.0.1', (err) => {
      s.close();
      if (err) reject(err);
      else resolve();
    });
  });
}

/** Writes `text` over TCP and resolves once the server has read it all and closed its side. */
export function sendTcp(port: number, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1', () => c.end(text));
    c.on('close', () => resolve());
    c.on('error', reject);
  });
}
