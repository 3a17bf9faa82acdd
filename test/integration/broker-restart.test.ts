import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually, Proc, ROOT, stopAll, zibrato } from '../helpers/processes.ts';
import { counterTotal, readRows } from '../helpers/jsonl.ts';

after(stopAll);

test('records made while the broker is away are buffered and delivered when it returns', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-restart-'));
  const ep = await tcpBrokerEndpoints();
  const file = join(dir, 'm.jsonl');
  let broker = zibrato(['broker', '--publish', ep.publish, '--subscribe', ep.subscribe], { label: 'broker-1' });
  await broker.waitFor(/broker up/);
  const backend = zibrato(['backend', 'file', '--levels', 'info', '--flush', '1s', '--broker', ep.subscribe, '--path', file]);
  await backend.waitFor(/subscribed/);

  const child = spawn(process.execPath, [join(ROOT, 'test/fixtures/interactive-publisher.mjs'), ep.publish], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const app = new Proc(child, 'app');
  await app.waitFor(/ready/);
  await new Promise((r) => setTimeout(r, 500)); // let the client learn the subscriptions
  child.stdin.write('send before 1000\n');
  await eventually(() => counterTotal(readRows(file), 'before') === 1000, 'records before the outage');

  await broker.stop('SIGKILL');
  await new Promise((r) => setTimeout(r, 500)); // the client notices the broker is gone
  const mark = app.lines.length;
  child.stdin.write('send during 5000\n');
  const line = await app.waitFor(/^sent during/, 5000, mark);
  const during = JSON.parse(line.slice('sent during '.length));
  assert.ok(during.buffered >= 5000, `held while the broker is away (buffered ${during.buffered})`);

  broker = zibrato(['broker', '--publish', ep.publish, '--subscribe', ep.subscribe], { label: 'broker-2' });
  await broker.waitFor(/broker up/);
  await eventually(() => counterTotal(readRows(file), 'during') === 5000, 'the buffered records after the broker returns', 30_000);

  child.stdin.write('close\n');
  const closed = JSON.parse((await app.waitFor(/^closed/)).slice('closed '.length));
  assert.equal(closed.dropped, 0);
  assert.equal(closed.sent, 6000);
});
