import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freeTcpPort, tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually, program, ROOT, stopAll, zibrato } from '../helpers/processes.ts';
import { api, tempStoreDir } from '../helpers/store.ts';

after(stopAll);

test('zibrato up with a store backend + examples/quickstart.ts: the API returns exactly the values sent', async () => {
  const dir = tempStoreDir('up-quickstart');
  const ep = await tcpBrokerEndpoints();
  const port = await freeTcpPort();
  // The embedded defaults with free ports instead of 5550/5551/5580 (others run tests at the same time).
  const config = join(dir, 'zibrato.yaml');
  writeFileSync(
    config,
    `broker:\n  publish: [${ep.publish}]\n  subscribe: [${ep.subscribe}]\nbackends:\n  - name: store\n    sink: store\n    levels: debug+\n    flush: 1s\n    options: { path: ${join(dir, 'data')}, port: ${port} }\n`,
  );
  const up = zibrato(['up', '--config', config], { cwd: dir, label: 'up' });
  await up.waitFor(new RegExp(`web UI and API of backend store: http://127\\.0\\.0\\.1:${port}/`));
  await up.waitFor(/subscribed/);
  const url = `http://127.0.0.1:${port}`;
  const run = program(process.execPath, ['--import', 'tsx', join(ROOT, 'examples/quickstart.ts')], 'example', { ZIBRATO_BROKER: ep.publish });
  assert.equal((await run.exited).code, 0, run.lines.join('\n'));
  const value = async (params: string): Promise<number | null> => {
    const { body } = await api(`${url}/api/query?${params}&since=1h&step=1h`);
    return body.series?.[0]?.points.find((p: [number, number | null]) => p[1] !== null)?.[1] ?? null;
  };
  await eventually(async () => (await value('name=cache.hits&stat=sum')) === 1000, 'cache.hits to reach 1000 in the store');
  assert.equal(await value('name=jobs.done&stat=sum'), 5);
  assert.equal(await value('name=queue.depth&stat=last'), 123);
  assert.equal(await value('name=db.query&stat=count'), 1);
  assert.equal(await value('name=db.query&stat=max'), 12.5);
  assert.equal(await value('name=repo.save&stat=sum'), 1);
  assert.equal(await value('name=block.runs&stat=sum'), 1);
  const series = (await api(`${url}/api/series?q=jobs.done`)).body.series[0];
  assert.equal(series.source, 'checkout-svc');
  assert.deepEqual(series.tags, { region: 'eu' });
  const status = (await api(`${url}/api/status`)).body;
  assert.ok(status.store.bytes > 0);
  assert.deepEqual(status.store.retention, { raw: '2d', '1m': '30d', '1h': '1y' });
  await eventually(async () => (await api(`${url}/api/status`)).body.backends.some((b: { name: string; received: number }) => b.name === 'store' && b.received >= 1000), 'the backend self-metrics in /api/status');
  await up.stop('SIGTERM');
});
