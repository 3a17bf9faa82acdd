import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { node, ROOT, stopAll, zibrato } from '../helpers/processes.ts';

after(stopAll);

test('zibrato tail --levels debug turns debug on in a running app, and stopping it turns it off', async () => {
  const ep = await tcpBrokerEndpoints();
  const broker = zibrato(['broker', '--publish', ep.publish, '--subscribe', ep.subscribe]);
  await broker.waitFor(/broker up/);
  const backend = zibrato(['backend', 'memory', '--levels', 'info', '--flush', '1s', '--broker', ep.subscribe]);
  await backend.waitFor(/subscribed/);
  const app = node(join(ROOT, 'test/fixtures/level-watcher.mjs'), [ep.publish, '30'], 'app');
  // Only info is subscribed: once the app has settled, debug is off.
  await app.waitFor(/debug off/, 10_000);

  const mark = app.lines.length;
  const tail = zibrato(['tail', '--levels', 'debug', '--json', '--broker', ep.subscribe], { label: 'tail' });
  const turnedOnAt = Date.now();
  await app.waitFor(/debug on/, 5_000, mark);
  const latency = Date.now() - turnedOnAt;
  const line = await tail.waitFor(/watcher\.tick/, 5_000);
  const rec = JSON.parse(line);
  assert.equal(rec.level, 'debug');
  assert.equal(rec.source, 'watcher');
  assert.equal(rec.type, 'counter');

  const beforeStop = app.lines.length;
  await tail.stop('SIGINT');
  await app.waitFor(/debug off/, 5_000, beforeStop);
  // Reported, not asserted (timing is not tested): how fast the level turned on.
  process.stderr.write(`# debug turned on ${latency} ms after tail started\n`);
});
