import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleCpuQuotas } from '../../bench/app/cpu-quota.ts';

test("the CPU-quota cgroups of stopped runs are removed; a live run's, one still in use and others' are kept", () => {
  // A directory stands in for the cgroup root: rmdir removes an empty one and refuses one with content, as the kernel does a cgroup with a process.
  const root = mkdtempSync(join(tmpdir(), 'zibrato-cgroups-'));
  const gone = spawnSync(process.execPath, ['-e', '']).pid!;
  const dead = join(root, `zibrato-bench-app-${gone}`);
  const live = join(root, `zibrato-bench-app-${process.pid}`);
  const busy = join(root, `zibrato-bench-app-${gone + 1_000_000}`);
  const other = join(root, `someone-else-${gone}`);
  for (const d of [dead, live, busy, other]) mkdirSync(d);
  writeFileSync(join(busy, 'tasks'), '1\n');
  assert.deepEqual(removeStaleCpuQuotas('zibrato-bench-app-', [root, join(root, 'missing')]), [dead]);
  assert.deepEqual([dead, live, busy, other].map(existsSync), [false, true, true, true]);
});
