import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freeTcpPort } from '../ports.js';
import { PromApiPeer } from './prometheus.js';

export const VICTORIA_METRICS_BIN = '/usr/bin/victoria-metrics';

/**
 * A real single-node VictoriaMetrics (Debian `victoria-metrics`) on a free
 * port with its own data directory. It takes Prometheus remote write on
 * `/api/v1/write` and answers the Prometheus query API.
 */
export class VictoriaMetricsPeer extends PromApiPeer {
  static async create(dir: string): Promise<VictoriaMetricsPeer> {
    mkdirSync(join(dir, 'data'), { recursive: true });
    return new VictoriaMetricsPeer(dir, await freeTcpPort());
  }

  async start(): Promise<void> {
    await this.launch('victoria-metrics', VICTORIA_METRICS_BIN, [
      `-storageDataPath=${join(this.dir, 'data')}`,
      `-httpListenAddr=127.0.0.1:${this.port}`,
      // By default queries ignore the last minute (samples may still be arriving); tests write in the past and ask at once.
      '-search.latencyOffset=0s',
      '-search.disableCache',
      '-loggerLevel=WARN',
    ], '/health');
  }
}
