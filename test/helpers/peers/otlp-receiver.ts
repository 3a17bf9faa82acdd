import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { closeServer, listenLocal } from './http-server.js';

/** The generated message class's static API (protobufjs static module). */
interface GeneratedType {
  decode(bytes: Uint8Array): object;
  fromObject(obj: object): object;
  toObject(msg: object, opts: { longs: StringConstructor; enums?: NumberConstructor; defaults?: boolean }): Record<string, unknown>;
  verify(msg: object): string | null;
  encode(msg: object): { finish(): Uint8Array };
}

const require = createRequire(import.meta.url);
/**
 * The official OTLP schema, compiled by the OpenTelemetry JS project from
 * opentelemetry-proto (devDependency @opentelemetry/otlp-transformer 0.212.0).
 */
const root = require(join(dirname(require.resolve('@opentelemetry/otlp-transformer')), 'generated', 'root.js')) as {
  opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: GeneratedType } } } } };
};
export const ExportMetricsServiceRequest = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

/** One request as received: its headers and its body decoded through the official schema. */
export interface OtlpReceived {
  contentType: string;
  headers: IncomingMessage['headers'];
  /** protojson-style object: longs as strings, enums as numbers. */
  request: Record<string, unknown>;
}

/**
 * A local OTLP/HTTP metrics receiver. Protobuf bodies are decoded with the
 * official schema; JSON bodies must survive a round trip through it unchanged
 * (an unknown or mistyped field fails with 400). It can be told to fail.
 */
export class OtlpReceiver {
  readonly received: OtlpReceived[] = [];
  /** Next responses to force (status, headers), consumed in order. */
  readonly failures: { status: number; headers?: Record<string, string>; body?: string }[] = [];
  private server: Server | undefined;
  port = 0;

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const reply = (status: number, body: string, headers: Record<string, string> = {}): void => {
          res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(body);
        };
        if (req.method !== 'POST' || req.url !== '/v1/metrics') return reply(404, '{}');
        const forced = this.failures.shift();
        if (forced) return reply(forced.status, forced.body ?? '{"message":"forced failure"}', forced.headers);
        const body = Buffer.concat(chunks);
        const contentType = req.headers['content-type'] ?? '';
        try {
          let request: Record<string, unknown>;
          if (contentType === 'application/x-protobuf') {
            request = ExportMetricsServiceRequest.toObject(ExportMetricsServiceRequest.decode(body), { longs: String });
          } else if (contentType === 'application/json') {
            const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
            const msg = ExportMetricsServiceRequest.fromObject(json);
            const err = ExportMetricsServiceRequest.verify(msg);
            if (err) throw new Error(err);
            request = ExportMetricsServiceRequest.toObject(msg, { longs: String });
            if (!isDeepStrictEqual(JSON.parse(JSON.stringify(request)), json)) throw new Error(`JSON does not round-trip through the schema: ${JSON.stringify(request)}`);
          } else return reply(415, `{"message":"unsupported content-type ${contentType}"}`);
          this.received.push({ contentType, headers: req.headers, request: JSON.parse(JSON.stringify(request)) as Record<string, unknown> });
          reply(200, '{}');
        } catch (err) {
          reply(400, JSON.stringify({ message: (err as Error).message }));
        }
      });
    });
    this.port = await listenLocal(server, port);
    this.server = server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/v1/metrics`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await closeServer(s);
  }
}
