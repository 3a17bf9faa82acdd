import * as zmq from 'zeromq';
import { z85Decode, z85Encode } from './keys.js';

/** The ZAP domain the broker sets on its publisher side (XSUB). */
export const PUBLISHER_DOMAIN = 'zibrato-publishers';
/** The ZAP domain the broker sets on its subscriber side (XPUB). */
export const SUBSCRIBER_DOMAIN = 'zibrato-subscribers';
/** Where libzmq sends ZAP requests (RFC 27), per context. */
const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/** Which side of the broker a peer tried to join. */
export type BrokerSide = 'publisher' | 'subscriber';

/** One refused connection attempt. */
export interface Refusal {
  side: BrokerSide;
  /** The peer's IP address as libzmq reports it. */
  address: string;
  /** The peer's public key (Z85), or '' when it offered none (not CURVE). */
  publicKey: string;
}

function keySet(keys: readonly string[]): Set<string> {
  const set = new Set<string>();
  for (const k of keys) {
    const raw = z85Decode(k);
    if (raw) set.add(raw.toString('hex'));
  }
  return set;
}

/**
 * The broker's ZAP handler: without one, a CURVE server admits every client
 * that knows its public key. It admits a CURVE peer only if its public key is
 * on the allow-list of the side (domain) it connects to, so a subscriber key
 * cannot publish and a publisher key cannot subscribe. Anything else (another
 * mechanism, an unknown domain) is refused. libzmq then ends the handshake:
 * the peer never sends or receives a message.
 */
export class ZapHandler {
  private readonly socket: zmq.Reply;
  private publishers: Set<string>;
  private subscribers: Set<string>;
  private loop: Promise<void> | undefined;
  private closed = false;

  constructor(
    context: zmq.Context,
    allow: { publishers: readonly string[]; subscribers: readonly string[] },
    private readonly onRefuse: (refusal: Refusal) => void,
  ) {
    this.socket = new zmq.Reply({ context, linger: 0 });
    this.publishers = keySet(allow.publishers);
    this.subscribers = keySet(allow.subscribers);
  }

  /** Binds the handler; call before any CURVE socket of the context binds. */
  async start(): Promise<void> {
    await this.socket.bind(ZAP_ENDPOINT);
    this.loop = this.run();
  }

  /** Replaces both allow-lists (key rotation); connections already admitted stay. */
  setAllowLists(allow: { publishers: readonly string[]; subscribers: readonly string[] }): void {
    this.publishers = keySet(allow.publishers);
    this.subscribers = keySet(allow.subscribers);
  }

  private async run(): Promise<void> {
    try {
      for await (const request of this.socket) {
        // RFC 27: version, request id, domain, address, identity, mechanism, credentials...
        const [version, requestId, domain, address, , mechanism, credential] = request;
        const side: BrokerSide | undefined = domain?.toString() === PUBLISHER_DOMAIN ? 'publisher' : domain?.toString() === SUBSCRIBER_DOMAIN ? 'subscriber' : undefined;
        const isCurve = mechanism?.toString() === 'CURVE' && credential?.length === 32;
        const allowed = side === 'publisher' ? this.publishers : this.subscribers;
        const ok = side !== undefined && isCurve && allowed.has(credential.toString('hex'));
        await this.socket.send([version ?? '1.0', requestId ?? '', ok ? '200' : '400', ok ? 'OK' : 'key not on the allow-list', '', '']);
        if (!ok) this.onRefuse({ side: side ?? 'publisher', address: address?.toString() ?? '', publicKey: isCurve ? z85Encode(credential) : '' });
      }
    } catch (err) {
      if (!this.closed) throw err;
    }
  }

  /** Unbinds the handler. */
  async stop(): Promise<void> {
    this.closed = true;
    this.socket.close();
    await this.loop?.catch(() => undefined);
  }
}
