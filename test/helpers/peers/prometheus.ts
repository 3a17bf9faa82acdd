import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeTcpPort } from '../ports.js';
import { PeerProcess, waitFor } from './process.js';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

/** One instant-vector result of the HTTP API. */
export interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * A local peer serving the Prometheus HTTP API (`/api/v1/query`) and taking
 * remote write on `/api/v1/write`: Prometheus and VictoriaMetrics both do.
 * Holds the process, its port and what tests ask it.
 */
export abstract class PromApiPeer {
  protected proc: PeerProcess | undefined;
  protected constructor(readonly dir: string, readonly port: number) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get remoteWriteUrl(): string {
    return `${this.baseUrl}/api/v1/write`;
  }

  /** Spawns `bin` and waits until `readyPath` answers 200 (failing at once if it exits). */
  protected async launch(what: string, bin: string, args: string[], readyPath: string): Promise<void> {
    const proc = (this.proc = new PeerProcess(bin, args));
    await waitFor(`${what} to be ready (output: ${proc.log.slice(-1500)})`, async () => {
      if (!proc.running) throw new Error(`${what} exited: ${proc.log.slice(-2000)}`);
      const res = await fetch(`${this.baseUrl}${readyPath}`).catch(() => undefined);
      return res?.status === 200;
    }, 30_000, 200);
  }

  async stop(): Promise<void> {
    await this.proc?.kill();
  }

  get log(): string {
    return this.proc?.log ?? '';
  }

  /** Runs an instant query (at `timeSec` if given). */
  async query(expr: string, timeSec?: number): Promise<PromResult[]> {
    const params = new URLSearchParams({ query: expr });
    if (timeSec !== undefined) params.set('time', String(timeSec));
    const res = await fetch(`${this.baseUrl}/api/v1/query?${params}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: PromResult[] } };
    if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error}`);
    return body.data!.result;
  }

  /** The single value of `expr`, waiting until it equals `expected` (or failing with what it was). */
  async waitForValue(expr: string, expected: number, timeSec?: number, timeoutMs = 20_000): Promise<void> {
    let last: string = 'no result';
    await waitFor(`${expr} == ${expected}`, async () => {
      const r = await this.query(expr, timeSec);
      last = JSON.stringify(r);
      return r.length === 1 && Number(r[0]!.value[1]) === expected;
    }, timeoutMs, 250).catch((err) => {
      throw new Error(`${(err as Error).message}; last result: ${last}`);
    });
  }
}

/**
 * A real Prometheus on a free port with its own temporary TSDB, optionally
 * scraping one target every second, with the remote-write receiver enabled.
 */
export class PrometheusPeer extends PromApiPeer {
  private constructor(dir: string, port: number, private readonly scrapeTarget: string | undefined, private readonly features: readonly string[]) {
    super(dir, port);
  }

  /** `features`: values for `--enable-feature` (e.g. `native-histograms`). */
  static async create(dir: string, scrapeTarget?: string, features: readonly string[] = []): Promise<PrometheusPeer> {
    mkdirSync(join(dir, 'data'), { recursive: true });
    const peer = new PrometheusPeer(dir, await freeTcpPort(), scrapeTarget, features);
    const scrape = scrapeTarget
      ? `scrape_configs:\n  - job_name: zibrato\n    scrape_interval: 1s\n    scrape_timeout: 900ms\n    static_configs:\n      - targets: ['${scrapeTarget}']\n`
      : 'scrape_configs: []\n';
    writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n${scrape}`);
    return peer;
  }

  async start(): Promise<void> {
    await this.launch('prometheus', PROMETHEUS_BIN, [
      `--config.file=${join(this.dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(this.dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${this.port}`,
      '--web.enable-remote-write-receiver',
      '--log.level=warn',
      ...(this.features.length > 0 ? [`--enable-feature=${this.features.join(',')}`] : []),
    ], '/-/ready');
  }
}
