import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freeTcpPort } from '../ports.js';
import { PeerProcess, waitFor } from './process.js';
import { PromQueryApi } from './prometheus.js';

export const VICTORIA_METRICS_BIN = '/usr/bin/victoria-metrics';

/**
 * A real single-node VictoriaMetrics (Debian `victoria-metrics`) on a free
 * port with its own data directory. It takes Prometheus remote write on
 * `/api/v1/write` and answers the Prometheus query API.
 */
export class VictoriaMetricsPeer extends PromQueryApi {
  private proc: PeerProcess | undefined;
  private constructor(readonly dir: string, readonly port: number) {
    super();
  }

  static async create(dir: string): Promise<VictoriaMetricsPeer> {
    mkdirSync(join(dir, 'data'), { recursive: true });
    return new VictoriaMetricsPeer(dir, await freeTcpPort());
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get remoteWriteUrl(): string {
    return `${this.baseUrl}/api/v1/write`;
  }

  async start(): Promise<void> {
    this.proc = new PeerProcess(VICTORIA_METRICS_BIN, [
      `-storageDataPath=${join(this.dir, 'data')}`,
      `-httpListenAddr=127.0.0.1:${this.port}`,
      // By default queries ignore the last minute (samples may still be arriving); tests write in the past and ask at once.
      '-search.latencyOffset=0s',
      '-search.disableCache',
      '-loggerLevel=WARN',
    ]);
    const proc = this.proc;
    await waitFor(`victoria-metrics to be ready (output: ${proc.log.slice(-1500)})`, async () => {
      if (!proc.running) throw new Error(`victoria-metrics exited: ${proc.log.slice(-2000)}`);
      const res = await fetch(`${this.baseUrl}/health`).catch(() => undefined);
      return res?.status === 200;
    }, 30_000, 200);
  }

  async stop(): Promise<void> {
    await this.proc?.kill();
  }

  get log(): string {
    return this.proc?.log ?? '';
  }
}
