import { spawnSync } from 'node:child_process';
import { requirePeer } from './process.js';

export const PROMTOOL_BIN = '/usr/bin/promtool';

/** Runs `promtool check metrics` on an exposition; exit 0 means it parsed and passed every lint. */
export function promtoolCheckMetrics(exposition: string): { status: number | null; output: string } {
  requirePeer(PROMTOOL_BIN, 'promtool (Debian package prometheus)');
  const r = spawnSync(PROMTOOL_BIN, ['check', 'metrics'], { input: exposition, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
