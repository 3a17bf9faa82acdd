import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CARBON_CACHE, CarbonPeer } from '../helpers/peers/carbon.js';
import { requirePeer } from '../helpers/peers/process.js';
import { tcpBrokerEndpoints } from '../helpers/ports.js';
import { eventually, node, ROOT, stopAll, zibrato } from '../helpers/processes.js';
import { tempDir } from './fixtures.js';

const PUBLISHER = join(ROOT, 'test/fixtures/publisher.mjs');

async function publish(endpoint: string, name: string, count: number): Promise<void> {
  const p = node(PUBLISHER, [endpoint, 'counter', name, String(count), 'info'], `publisher ${name}`);
  const { code } = await p.exited;
  assert.equal(code, 0, `publisher exited ${code}:\n${p.lines.join('\n')}`);
}

const tmp = tempDir('graphite-stop');
let carbon: CarbonPeer | undefined;
after(async () => {
  await stopAll();
  await carbon?.stop();
  tmp.remove();
});

test('a clean stop right after a scheduled flush loses nothing in Carbon: the final flush does not overwrite its bucket', async () => {
  requirePeer(CARBON_CACHE, 'the Debian package graphite-carbon');
  // 5-second buckets for a 5-second flush interval (long enough that the stop lands in the same interval), as Carbon should be set up.
  carbon = await CarbonPeer.create(join(tmp.dir, 'carbon'), '[bucket5s]\npattern = ^bucket5s\\.\nretentions = 5s:6h\n');
  await carbon.start();
  const startSec = Math.floor(Date.now() / 1000);
  const { publish: pub, subscribe: sub } = await tcpBrokerEndpoints();
  const broker = zibrato(['broker', '--publish', pub, '--subscribe', sub], { label: 'broker' });
  await broker.waitFor(/broker up/);
  const backend = zibrato(['backend', 'graphite', '--name', 'g', '--levels', 'info+', '--flush', '5s', '--broker', sub, '--port', String(carbon.linePort), '--tags', 'path', '--spool-dir', join(tmp.dir, 'spool'), '--no-self-metrics'], { label: 'backend graphite' });
  await backend.waitFor(/subscribed/);
  const stored = (): Promise<number> => carbon!.sumRange('bucket5s', 'count', startSec - 5, Math.floor(Date.now() / 1000) + 10);

  await publish(pub, 'bucket5s.stop', 500);
  await eventually(async () => (await stored()) === 500, 'a scheduled flush to store the first 500');
  // More records, then SIGTERM within the same interval: the final flush carries them.
  await publish(pub, 'bucket5s.stop', 500);
  const { code } = await backend.stop('SIGTERM');
  assert.equal(code, 0, backend.lines.join('\n'));
  await eventually(async () => (await stored()) === 1000, 'Carbon to hold all 1,000 increments');
});
