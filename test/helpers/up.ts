// A real pipeline: `zibrato up` (broker + store backend flushing every second)
// on free loopback ports instead of 5550/5551/5580 (others run tests at the
// same time), in a temporary directory.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeTcpPort, tcpBrokerEndpoints } from './ports.ts';
import { program, ROOT, zibrato, type Proc } from './processes.ts';
import { tempStoreDir } from './store.ts';

export interface UpWithStore {
  up: Proc;
  /** The broker's publisher endpoint (for clients). */
  publish: string;
  /** The store's web UI and API, without a trailing slash. */
  url: string;
  dir: string;
  /** Runs examples/quickstart.ts against this pipeline and resolves when it exits 0. */
  runQuickstart(): Promise<void>;
  /** Stops `zibrato up` with SIGTERM, which stops its children first (a SIGKILL would orphan them). */
  stop(): Promise<void>;
}

/** Writes a `zibrato up` config with only a store backend (free ports, data under `dir`); returns its path and the broker's endpoints. */
export async function writeStoreUpConfig(dir: string, flush = '1s'): Promise<{ config: string; publish: string }> {
  const ep = await tcpBrokerEndpoints();
  const port = await freeTcpPort();
  const config = join(dir, 'zibrato.config.yaml');
  writeFileSync(
    config,
    `broker:
  publish: [${ep.publish}]
  subscribe: [${ep.subscribe}]
backends:
  - name: store
    sink: store
    levels: debug+
    flush: ${flush}
    options:
      path: ${join(dir, 'data')}
      port: ${port}
`,
  );
  return { config, publish: ep.publish };
}

/** Starts `zibrato up` with only a store backend and waits for its web UI address. */
export async function upWithStore(flush = '1s'): Promise<UpWithStore> {
  const dir = tempStoreDir('up');
  const { config, publish } = await writeStoreUpConfig(dir, flush);
  const up = zibrato(['up', '--config', config], { cwd: dir, label: 'up' });
  const line = await up.waitFor(/web UI and API on http:\/\/\S+/);
  const url = /(http:\/\/\S+?)\/?$/.exec(line)![1]!;
  return {
    up,
    publish,
    url,
    dir,
    async stop() {
      const { code, signal } = await up.stop('SIGTERM', 20_000);
      if (code !== 0) throw new Error(`zibrato up exited ${code ?? signal} on SIGTERM:\n${up.lines.join('\n')}`);
    },
    async runQuickstart() {
      const p = program(process.execPath, ['--import', 'tsx', join(ROOT, 'examples/quickstart.ts')], 'quickstart', { ZIBRATO_BROKER: publish });
      const { code } = await p.exited;
      if (code !== 0) throw new Error(`quickstart exited ${code}:\n${p.lines.join('\n')}`);
    },
  };
}
