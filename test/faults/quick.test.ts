import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('every fault scenario, short version, loses nothing without a count', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'faults/run.ts', '--quick'], { cwd: root, encoding: 'utf8', timeout: 15 * 60_000 });
  assert.equal(r.status, 0, `npm run faults -- --quick failed:\n${r.stdout}\n${r.stderr}`);
});
