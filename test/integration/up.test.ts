import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually, node, ROOT, stopAll, zibrato } from '../helpers/processes.ts';
import { counterTotal, readRows } from '../helpers/jsonl.ts';

after(stopAll);

const PUBLISHER = join(ROOT, 'test/fixtures/publisher.mjs');

async function publish(endpoint: string, name: string, count: number): Promise<void> {
  const p = node(PUBLISHER, [endpoint, 'counter', name, String(count), 'info'], 'publisher');
  const { code } = await p.exited;
  assert.equal(code, 0, p.lines.join('\n'));
}

test('zibrato up restarts a killed backend and makes a final flush on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-up-'));
  const ep = await tcpBrokerEndpoints();
  const file = join(dir, 'metrics.jsonl');
  const config = join(dir, 'zibrato.config.yaml');
  writeFileSync(
    config,
    `broker:
  publish: [${ep.publish}]
  subscribe: [${ep.subscribe}]
backends:
  - name: file
    sink: file
    levels: info+
    flush: 1h
    options:
      path: ${file}
restart:
  initialDelay: 200ms
`,
  );
  const up = zibrato(['up', '--config', config], { cwd: dir, label: 'up' });
  const started = await up.waitFor(/started backend:file \(pid (\d+)\)/);
  const firstPid = Number(/pid (\d+)/.exec(started)![1]);
  await up.waitFor(/\[backend:file\].*subscribed/);

  process.kill(firstPid, 'SIGKILL');
  await up.waitFor(/backend:file exited \(SIGKILL\); restart #1/);
  const restarted = await up.waitFor(/started backend:file \(pid (\d+)\)/, 10_000, up.lines.findIndex((l) => /restart #1/.test(l)));
  const secondPid = Number(/pid (\d+)/.exec(restarted)![1]);
  assert.notEqual(secondPid, firstPid);
  await eventually(() => up.lines.filter((l) => /\[backend:file\].*subscribed/.test(l)).length === 2, 'the restarted backend to subscribe');

  await publish(ep.publish, 'after.restart', 2500);
  // The backend flushes hourly: only the final flush on SIGTERM can write this.
  const { code } = await up.stop('SIGTERM', 20_000);
  assert.equal(code, 0, up.lines.join('\n'));
  assert.equal(counterTotal(readRows(file), 'after.restart'), 2500);
  assert.ok(up.lines.some((l) => /\[backend:file\].*stopped after a final flush/.test(l)));
});

test('zibrato up rejects a bad config with an error naming the key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-up-bad-'));
  const config = join(dir, 'bad.yaml');
  writeFileSync(config, 'backends:\n  - sink: file\n    levels: info+\n    flush: 10 parsecs\n');
  const up = zibrato(['up', '--config', config], { cwd: dir });
  const { code } = await up.exited;
  assert.equal(code, 2);
  assert.match(up.lines.join('\n'), /ZIB_ERR_INVALID_CONFIG: config backends\[0\]\.flush: .*"10 parsecs" is not a duration/);
});
