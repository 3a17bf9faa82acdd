import { createServer, type Server } from 'node:http';
import { closeServer, listenLocal } from './http-server.js';

/** A request a receiver accepted. */
export interface AcceptedRequest<T> {
  body: T;
  authorization: string;
}

/**
 * The shared shell of the Librato and AppOptics stand-ins: one POST path,
 * Basic auth checked, JSON parsed, then a validator that returns the list of
 * violations (400 when any). Forced failures let tests script outages.
 */
export class JsonApiReceiver<T> {
  readonly accepted: AcceptedRequest<T>[] = [];
  readonly refused: { status: number; errors: string[] }[] = [];
  readonly failures: { status: number; headers?: Record<string, string> }[] = [];
  private server: Server | undefined;
  port = 0;

  constructor(
    private readonly path: string,
    private readonly user: string,
    private readonly password: string,
    private readonly validate: (body: unknown) => string[],
  ) {}

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const reply = (status: number, errors: string[] = [], headers: Record<string, string> = {}): void => {
          if (status >= 400) this.refused.push({ status, errors });
          res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(status >= 400 ? { errors } : {}));
        };
        if (req.method !== 'POST' || req.url !== this.path) return reply(404, [`no route ${req.method} ${req.url}`]);
        const forced = this.failures.shift();
        if (forced) return reply(forced.status, ['forced failure'], forced.headers);
        const expected = `Basic ${Buffer.from(`${this.user}:${this.password}`).toString('base64')}`;
        if (req.headers.authorization !== expected) return reply(401, ['authorization required']);
        if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return reply(415, ['content-type must be application/json']);
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return reply(400, ['body is not JSON']);
        }
        const errors = this.validate(body);
        if (errors.length > 0) return reply(400, errors);
        this.accepted.push({ body: body as T, authorization: req.headers.authorization });
        reply(200);
      });
    });
    this.port = await listenLocal(server, port);
    this.server = server;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await closeServer(s);
  }
}

/** Shared checks. */
export function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export function unknownKeys(obj: Record<string, unknown>, allowed: readonly string[]): string[] {
  return Object.keys(obj).filter((k) => !allowed.includes(k));
}
