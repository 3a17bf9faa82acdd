import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort } from '../helpers/ports.ts';
import { stopAll, zibrato } from '../helpers/processes.ts';
import { isLocalOnlyEndpoint } from '../../src/security/endpoints.ts';

after(stopAll);

test('only loopback tcp, ipc and inproc endpoints count as local-only', () => {
  for (const e of ['tcp://127.0.0.1:5550', 'tcp://127.1.2.3:1', 'tcp://[::1]:5550', 'tcp://localhost:5550', 'ipc:///tmp/z.sock', 'inproc://x']) assert.ok(isLocalOnlyEndpoint(e), e);
  for (const e of ['tcp://0.0.0.0:5550', 'tcp://*:5550', 'tcp://[::]:5550', 'tcp://10.0.0.1:5550', 'tcp://eth0:5550', 'tcp://broker.example:5550', 'pgm://x']) assert.ok(!isLocalOnlyEndpoint(e), e);
});

test('zibrato broker refuses to bind 0.0.0.0 without keys, exiting 2 with ZIB_ERR_INSECURE_BIND', async () => {
  const port = await freeTcpPort();
  const p = zibrato(['broker', '--publish', `tcp://0.0.0.0:${port}`, '--subscribe', `tcp://127.0.0.1:${await freeTcpPort()}`]);
  assert.equal((await p.exited).code, 2);
  assert.match(p.lines.join('\n'), new RegExp(`ZIB_ERR_INSECURE_BIND: tcp://0\\.0\\.0\\.0:${port} can be reached from other machines`));
});

test('zibrato broker binds 0.0.0.0 without keys when given --insecure', async () => {
  const p = zibrato(['broker', '--publish', `tcp://0.0.0.0:${await freeTcpPort()}`, '--subscribe', `tcp://127.0.0.1:${await freeTcpPort()}`, '--insecure']);
  await p.waitFor(/broker up/);
  await p.stop('SIGTERM', 5000);
});

test('zibrato up refuses a config that binds 0.0.0.0 without keys, exiting 2 before starting anything', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-insecure-'));
  const config = join(dir, 'z.yaml');
  writeFileSync(config, `broker:\n  publish: [tcp://0.0.0.0:${await freeTcpPort()}]\n  subscribe: [tcp://127.0.0.1:${await freeTcpPort()}]\nbackends: []\n`);
  const p = zibrato(['up', '-c', config, '--check']);
  assert.equal((await p.exited).code, 2);
  assert.match(p.lines.join('\n'), /ZIB_ERR_INSECURE_BIND: .*security\.brokerKeyFile/);
  const insecure = zibrato(['up', '-c', config, '--check', '--insecure']);
  assert.equal((await insecure.exited).code, 0, insecure.lines.join('\n'));
});
