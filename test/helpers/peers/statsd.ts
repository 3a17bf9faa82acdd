import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeTcpPort, freeUdpPort } from '../ports.js';
import { PeerProcess, waitForTcp } from './process.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The etsy statsd daemon's entry point (npm devDependency `statsd`). */
export const STATSD_BIN = join(dirname(createRequire(import.meta.url).resolve('statsd/package.json')), 'stats.js');

/** What one statsd flush handed to its backends. */
export interface StatsdFlush {
  timestamp: number;
  counters: Record<string, number>;
  gauges: Record<string, number>;
}

/**
 * The real etsy statsd, listening on UDP and TCP on free ports, with a test
 * backend (statsd-json-backend.cjs) that writes every flush to a file.
 */
export class StatsdPeer {
  private proc: PeerProcess | undefined;
  private constructor(readonly dir: string, readonly udpPort: number, readonly tcpPort: number, private readonly mgmtPort: number) {}

  static async create(dir: string): Promise<StatsdPeer> {
    return new StatsdPeer(dir, await freeUdpPort(), await freeTcpPort(), await freeTcpPort());
  }

  get outFile(): string {
    return join(this.dir, 'flushes.jsonl');
  }

  async start(): Promise<void> {
    const config = {
      servers: [
        { server: './servers/udp', address: '127.0.0.1', port: this.udpPort },
        { server: './servers/tcp', address: '127.0.0.1', port: this.tcpPort },
      ],
      mgmt_address: '127.0.0.1',
      mgmt_port: this.mgmtPort,
      flushInterval: 250,
      backends: [join(here, 'statsd-json-backend.cjs')],
      zibratoOutFile: this.outFile,
      deleteIdleStats: true,
    };
    const file = join(this.dir, 'statsd-config.js');
    writeFileSync(file, JSON.stringify(config, null, 2));
    this.proc = new PeerProcess(process.execPath, [STATSD_BIN, file], { cwd: this.dir });
    await waitForTcp(this.tcpPort, this.proc);
    await waitForTcp(this.mgmtPort, this.proc);
  }

  async stop(): Promise<void> {
    await this.proc?.kill();
  }

  get log(): string {
    return this.proc?.log ?? '';
  }

  /** Every flush so far. */
  flushes(): StatsdFlush[] {
    if (!existsSync(this.outFile)) return [];
    return readFileSync(this.outFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as StatsdFlush);
  }

  /** Counters summed over all flushes and the last value of each gauge, keys starting with `prefix` only. */
  totals(prefix: string): { counters: Record<string, number>; gauges: Record<string, number> } {
    const counters: Record<string, number> = {};
    const gauges: Record<string, number> = {};
    for (const f of this.flushes()) {
      for (const [k, v] of Object.entries(f.counters)) if (k.startsWith(prefix)) counters[k] = (counters[k] ?? 0) + v;
      for (const [k, v] of Object.entries(f.gauges)) if (k.startsWith(prefix)) gauges[k] = v;
    }
    for (const [k, v] of Object.entries(counters)) if (v === 0) delete counters[k];
    return { counters, gauges };
  }
}
