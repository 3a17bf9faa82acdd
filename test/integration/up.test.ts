import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holdTcpPort, tcpBrokerEndpoints } from '../helpers/ports.ts';
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

/** A config with one file backend that flushes hourly: only a final flush can write the file before the test ends. */
function hourlyFileConfig(dir: string, ep: { publish: string; subscribe: string }, file: string): string {
  const config = join(dir, 'zibrato.config.yaml');
  writeFileSync(config, `broker:\n  publish: [${ep.publish}]\n  subscribe: [${ep.subscribe}]\nbackends:\n  - name: file\n    sink: file\n    levels: info+\n    flush: 1h\n    options:\n      path: ${file}\n`);
  return config;
}

for (const [signal, what] of [
  ['SIGINT', 'Ctrl-C (what a terminal sends)'],
  ['SIGTERM', 'SIGTERM (what systemd sends to every process of a service)'],
] as const) {
  test(`${what} to zibrato up's whole process group ends with every backend's final flush`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zibrato-up-group-'));
    const ep = await tcpBrokerEndpoints();
    const file = join(dir, 'metrics.jsonl');
    const up = zibrato(['up', '--config', hourlyFileConfig(dir, ep, file)], { cwd: dir, label: 'up', groupLeader: true });
    await up.waitFor(/\[backend:file\].*subscribed/);
    await publish(ep.publish, 'before.signal', 1000);

    // The signal reaches every process of the group at once: up and its children.
    process.kill(-up.pid, signal);
    const { code } = await up.exited;
    assert.equal(code, 0, up.lines.join('\n'));
    assert.equal(counterTotal(readRows(file), 'before.signal'), 1000, up.lines.join('\n'));
    assert.ok(up.lines.some((l) => /\[backend:file\].*stopped after a final flush/.test(l)), up.lines.join('\n'));
  });
}

test('when zibrato up is killed outright, its children still stop with a final flush instead of living on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-up-killed-'));
  const ep = await tcpBrokerEndpoints();
  const file = join(dir, 'metrics.jsonl');
  const up = zibrato(['up', '--config', hourlyFileConfig(dir, ep, file)], { cwd: dir, label: 'up' });
  const pids = await Promise.all(['broker', 'backend:file'].map(async (name) => Number(/pid (\d+)/.exec(await up.waitFor(new RegExp(`started ${name} \\(pid \\d+\\)`)))![1])));
  await up.waitFor(/\[backend:file\].*subscribed/);
  await publish(ep.publish, 'before.kill', 1000);

  await up.stop('SIGKILL');
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await eventually(() => pids.every((pid) => !alive(pid)), 'the orphaned children to stop');
  assert.equal(counterTotal(readRows(file), 'before.kill'), 1000);
});

test('zibrato up stops with exit code 3 and names the broker when its port is taken, instead of restarting it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-up-port-'));
  const ep = await tcpBrokerEndpoints();
  const holder = await holdTcpPort(ep.publish);
  try {
    const up = zibrato(['up', '--config', hourlyFileConfig(dir, ep, join(dir, 'm.jsonl'))], { cwd: dir, label: 'up' });
    const { code } = await up.exited;
    const out = up.lines.join('\n');
    assert.equal(code, 3, out);
    assert.match(out, /ZIB_ERR_CHILD_FAILED: broker cannot start: .*--publish tcp:\/\/127\.0\.0\.1:\d+: cannot bind: EADDRINUSE/);
    assert.doesNotMatch(out, /restart #1/);
  } finally {
    holder.close();
  }
});

test('zibrato up --publish/--subscribe replace the broker endpoints of the config', async () => {
  const ep = await tcpBrokerEndpoints();
  const check = zibrato(['up', '--check', '--publish', ep.publish, '--subscribe', ep.subscribe]);
  const { code } = await check.exited;
  const out = check.lines.join('\n');
  assert.equal(code, 0, out);
  assert.match(out, new RegExp(`broker: zibrato broker --publish ${ep.publish} --subscribe ${ep.subscribe}\\n`));
  assert.match(out, new RegExp(`backend:file: zibrato backend file .*--broker ${ep.subscribe}`));
});

test("zibrato up --check names a port in use (the broker's, a store API's) and a directory given as a file path", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-up-check-'));
  const ep = await tcpBrokerEndpoints();
  const holder = await holdTcpPort(ep.subscribe);
  try {
    const taken = zibrato(['up', '--check', '--config', hourlyFileConfig(dir, ep, join(dir, 'm.jsonl'))]);
    assert.equal((await taken.exited).code, 3, taken.lines.join('\n'));
    assert.match(taken.lines.join('\n'), new RegExp(`broker\\.subscribe\\[0\\]: ${ep.subscribe} cannot be bound: EADDRINUSE`));
  } finally {
    holder.close();
  }
  const apiHolder = await holdTcpPort((await tcpBrokerEndpoints()).publish);
  try {
    const storeConfig = join(dir, 'store.config.yaml');
    const sep = await tcpBrokerEndpoints();
    writeFileSync(storeConfig, `broker:\n  publish: [${sep.publish}]\n  subscribe: [${sep.subscribe}]\nbackends:\n  - sink: store\n    options: { path: ${join(dir, 'store')}, port: ${apiHolder.port} }\n`);
    const apiTaken = zibrato(['up', '--check', '--config', storeConfig]);
    assert.equal((await apiTaken.exited).code, 3, apiTaken.lines.join('\n'));
    assert.match(apiTaken.lines.join('\n'), new RegExp(`backends\\[0\\]\\.options\\.port: 127\\.0\\.0\\.1:${apiHolder.port} cannot be bound: EADDRINUSE`));
  } finally {
    apiHolder.close();
  }
  const asDir = zibrato(['up', '--check', '--config', hourlyFileConfig(dir, await tcpBrokerEndpoints(), dir)]);
  assert.equal((await asDir.exited).code, 2, asDir.lines.join('\n'));
  assert.match(asDir.lines.join('\n'), /backends\[0\]\.options\.path: ".*" is a directory/);
});

test('zibrato up with a store on port 0 names no :0 address, and the store says the port it got', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-up-port0-'));
  const ep = await tcpBrokerEndpoints();
  const config = join(dir, 'zibrato.config.yaml');
  writeFileSync(config, `broker:\n  publish: [${ep.publish}]\n  subscribe: [${ep.subscribe}]\nbackends:\n  - sink: store\n    options: { path: ${join(dir, 'store')}, port: 0 }\n`);
  const up = zibrato(['up', '--config', config], { cwd: dir, label: 'up-port0' });
  await up.waitFor(/web UI and API of backend store: on a free port/);
  const line = await up.waitFor(/\[backend:store\].*web UI and API on http:\/\/127\.0\.0\.1:\d+\//);
  assert.doesNotMatch(line, /:0\//);
  assert.doesNotMatch(up.lines.join('\n'), /http:\/\/127\.0\.0\.1:0\//);
  const { code } = await up.stop('SIGTERM', 20_000);
  assert.equal(code, 0, up.lines.join('\n'));
});
