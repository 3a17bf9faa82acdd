import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually, program, ROOT, stopAll, zibrato } from '../helpers/processes.ts';
import { counterTotal, readRows } from '../helpers/jsonl.ts';

after(stopAll);

test('the README quick-start example runs as written and its records arrive', async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const example = readFileSync(join(ROOT, 'examples/quickstart.ts'), 'utf8');
  // The README shows the example's API calls verbatim.
  for (const line of ["z.count({ level: 'info', name: 'jobs.done', value: 5 });", "@z.timeMe({ level: 'debug', name: 'repo.load' })", "using _t = z.timer({ level: 'debug', name: 'block' });"]) {
    assert.ok(example.includes(line) && readme.includes(line), `README and example both show: ${line}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-readme-'));
  const ep = await tcpBrokerEndpoints();
  const file = join(dir, 'm.jsonl');
  const broker = zibrato(['broker', '--publish', ep.publish, '--subscribe', ep.subscribe]);
  await broker.waitFor(/broker up/);
  const backend = zibrato(['backend', 'file', '--levels', 'debug+', '--flush', '1s', '--broker', ep.subscribe, '--path', file]);
  await backend.waitFor(/subscribed/);
  const run = program(process.execPath, ['--import', 'tsx', join(ROOT, 'examples/quickstart.ts')], 'example', { ZIBRATO_BROKER: ep.publish });
  const { code } = await run.exited;
  assert.equal(code, 0, run.lines.join('\n'));
  const stats = JSON.parse(run.lines.at(-1)!);
  assert.equal(stats.result, 42);
  assert.equal(stats.dropped, 0);
  assert.equal(stats.invalid, 0);
  await eventually(() => counterTotal(readRows(file), 'cache.hits') === 1000, 'the example records in the backend');
  const rows = readRows(file);
  assert.equal(counterTotal(rows, 'jobs.done', 'checkout-svc'), 5);
  for (const name of ['queue.depth', 'db.query', 'repo.load', 'repo.save', 'block', 'block.runs', 'fetch', 'job']) assert.ok(rows.some((r) => r.name === name), `${name} arrived`);
});

test('the README says how to add Zibrato to an app, run up on other ports, and run the fast tests', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const text of ['## Add Zibrato to your app', "require('zibrato')", 'ZIBRATO_BROKER', 'experimentalDecorators', 'zibrato up --publish tcp://127.0.0.1:6550 --subscribe tcp://127.0.0.1:6551', 'npm run test:unit', 'zibrato/backend']) {
    assert.ok(readme.includes(text), `README mentions ${text}`);
  }
  // The example reads the variable the README names.
  assert.match(readFileSync(join(ROOT, 'examples/quickstart.ts'), 'utf8'), /process\.env\.ZIBRATO_BROKER/);
});
