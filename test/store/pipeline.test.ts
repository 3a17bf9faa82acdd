import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Zibrato } from '../../src/index.ts';
import type { StoreSink } from '../../src/store/store-sink.ts';
import { inProcessPipeline } from '../helpers/in-process.ts';
import { api, storeSink } from '../helpers/store.ts';

describe('store behind a real broker and backend: the API returns exactly what the client sent', () => {
  let pipe: Awaited<ReturnType<typeof inProcessPipeline>>;
  let store: StoreSink;
  let url = '';

  before(async () => {
    store = storeSink();
    pipe = await inProcessPipeline(undefined, { extraSink: store });
    url = store.http!.url.replace(/\/$/, '');
    const z = new Zibrato({ broker: pipe.publish, source: 'svc', level: 'info' });
    await z.ready({ levels: ['info'] });
    for (let i = 0; i < 40; i++) z.count({ name: 'orders', value: 2, tags: { shop: 'a' } });
    for (const v of [5, 9, 3]) z.gauge({ name: 'queue.depth', value: v });
    for (let i = 1; i <= 100; i++) z.timing({ name: 'db.query', ms: i });
    for (const u of ['ann', 'bob', 'ann', 'cid']) z.emit('info', 'set', 'visitors', u);
    await z.close();
    const points = await pipe.points(z);
    assert.equal(points.length, 4, JSON.stringify(points.map((p) => p.name)));
  });
  after(async () => {
    await pipe.stop();
  });

  const value = async (params: string): Promise<number[]> => {
    const body = (await api(`${url}/api/query?${params}&since=1h&step=1h`)).body;
    return body.series.flatMap((s: { points: [number, number | null][] }) => s.points.filter((p) => p[1] !== null).map((p) => p[1]));
  };

  test('a counter sums to exactly what was counted', async () => {
    assert.deepEqual(await value('name=orders&stat=sum'), [80]);
  });
  test('a gauge keeps its last, min and max value', async () => {
    assert.deepEqual(await value('name=queue.depth&stat=last'), [3]);
    assert.deepEqual(await value('name=queue.depth&stat=min'), [3]);
    assert.deepEqual(await value('name=queue.depth&stat=max'), [9]);
  });
  test('a timer answers exact count, mean, min and max and a p99 within 1 %', async () => {
    assert.deepEqual(await value('name=db.query&stat=count'), [100]);
    assert.deepEqual(await value('name=db.query&stat=mean'), [50.5]);
    assert.deepEqual(await value('name=db.query&stat=min'), [1]);
    assert.deepEqual(await value('name=db.query&stat=max'), [100]);
    const [p99] = await value('name=db.query&stat=p99');
    assert.ok(Math.abs(p99! - 99) / 99 <= 0.01, `p99 ${p99}`);
  });
  test('a set counts distinct members', async () => {
    assert.deepEqual(await value('name=visitors'), [3]);
  });
  test('the series carry their source, tags and level', async () => {
    const { body } = await api(`${url}/api/series?q=orders`);
    assert.equal(body.series[0].source, 'svc');
    assert.deepEqual(body.series[0].tags, { shop: 'a' });
    assert.equal(body.series[0].level, 'info');
  });
  test('a level filter keeps only the series of that level', async () => {
    assert.equal((await api(`${url}/api/series?level=info`)).body.total, 4);
    assert.equal((await api(`${url}/api/series?level=debug`)).body.total, 0);
  });
});
