import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { ROOT, stopAll, zibrato } from '../helpers/processes.ts';
import { tempStoreDir } from '../helpers/store.ts';
import { writeStoreUpConfig } from '../helpers/up.ts';

after(stopAll);

// Without the fix up restarts the store forever and never exits: the timeout turns that into a failure.
test('zibrato up without DuckDB installed stops with exit code 2 and the install hint instead of restarting the store', { timeout: 30_000 }, async () => {
  const dir = tempStoreDir('up-nodb');
  const { config } = await writeStoreUpConfig(dir);
  const noDuckDb = join(ROOT, 'test/store/fixtures/no-duckdb.mjs');
  const up = zibrato(['up', '--config', config], { cwd: dir, label: 'up', env: { NODE_OPTIONS: `--import ${noDuckDb}` } });
  const { code } = await up.exited;
  const out = up.lines.join('\n');
  assert.equal(code, EXIT.usage, out);
  assert.match(out, /ZIB_ERR_CHILD_FAILED: backend:store cannot start: .*ZIB_ERR_STORE_DEPENDENCY_MISSING.*npm install @duckdb\/node-api/);
  assert.equal(out.match(/started backend:store/g)?.length, 1, `the store was started once, not restarted:\n${out}`);
});
