import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A UDP port that was free a moment ago on 127.0.0.1, and free for TCP too:
 * a StatsD listener (ours, etsy's) binds both on one port, and a UDP port the
 * kernel hands out can be the local port of another test's TCP connection.
 */
export async function freeUdpPort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    const tcpFree = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (tcpFree) return port;
  }
  throw new Error('no port free for both UDP and TCP on 127.0.0.1 in 100 attempts');
}

/** A pair of broker endpoints on fresh tcp ports. */
export async function tcpBrokerEndpoints(): Promise<{ publish: string; subscribe: string }> {
  return { publish: `tcp://127.0.0.1:${await freeTcpPort()}`, subscribe: `tcp://127.0.0.1:${await freeTcpPort()}` };
}

/** Occupies the tcp port of `endpoint` (tcp://127.0.0.1:N) until `close()`, to test what happens when a port is taken. */
export async function holdTcpPort(endpoint: string): Promise<{ port: number; close(): void }> {
  const srv = createServer();
  const port = Number(new URL(endpoint).port);
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', resolve);
  });
  return { port, close: () => void srv.close() };
}
