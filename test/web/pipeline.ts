// A real pipeline for the browser tests: `zibrato up` (broker + store backend
// flushing every second) on free loopback ports, in a temporary directory.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort, tcpBrokerEndpoints } from '../helpers/ports.ts';
import { program, zibrato, type Proc } from '../helpers/processes.ts';

export interface UpWithStore {
  up: Proc;
  /** The broker's publisher endpoint (for clients). */
  publish: string;
  /** The store's web UI and API, without a trailing slash. */
  url: string;
  dir: string;
  /** Runs examples/quickstart.ts against this pipeline and resolves when it exits 0. */
  runQuickstart(): Promise<void>;
}

export async function upWithStore(flush = '1s'): Promise<UpWithStore> {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-web-'));
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
  const up = zibrato(['up', '--config', config], { cwd: dir, label: 'up' });
  const line = await up.waitFor(/web UI and API on http:\/\/\S+/);
  const url = /(http:\/\/\S+?)\/?$/.exec(line)![1]!;
  return {
    up,
    publish: ep.publish,
    url,
    dir,
    async runQuickstart() {
      const p = program(process.execPath, ['--import', 'tsx', 'examples/quickstart.ts'], 'quickstart', { ZIBRATO_BROKER: ep.publish });
      const { code } = await p.exited;
      if (code !== 0) throw new Error(`quickstart exited ${code}:\n${p.lines.join('\n')}`);
    },
  };
}
