import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ZibratoError } from '../../src/errors.ts';
import { StoreHttpServer } from '../../src/store/http-server.ts';
import { parseTime } from '../../src/store/query-params.ts';
import type { StoreSink } from '../../src/store/store-sink.ts';
import { api, batch, startStoreSink } from '../helpers/store.ts';

/** An API server with no store behind it (enough for the listen rules). */
function storelessServer(host: string, port: number): StoreHttpServer {
  return new StoreHttpServer({ host, port, store: () => undefined, status: { storeError: () => undefined, retention: () => ({ raw: '2d', '1m': '30d', '1h': '1y' }) }, log: () => undefined });
}

describe('store HTTP API: parameters, search, grouping, dashboards', () => {
  let sink: StoreSink;
  let url = '';
  const t = Math.floor(Date.now() / 10_000) * 10_000 - 60_000;

  before(async () => {
    ({ sink, url } = await startStoreSink());
    const points = [];
    for (let i = 0; i < 30; i++) points.push({ type: 'counter' as const, name: `http.requests`, source: `web${i}`, tags: { route: i % 3 === 0 ? '/a' : '/b' }, value: i * 10, rate: i });
    points.push({ type: 'gauge' as const, name: 'db.pool.size', source: '', tags: {}, value: 3 });
    await sink.export(batch(t, 10_000, points));
  });
  after(async () => {
    await sink.stop();
  });

  const badParams: [string, string][] = [
    ['/api/query', 'name'],
    ['/api/query?name=x&stat=p42', 'stat'],
    ['/api/query?name=x&step=fast', 'step'],
    ['/api/query?name=x&step=1ms&since=7d', 'step'],
    ['/api/query?name=x&from=yesterday', 'from'],
    ['/api/query?name=x&from=now&to=-1h', 'from'],
    ['/api/query?name=x&to=soon', 'to'],
    ['/api/query?name=x&since=forever', 'since'],
    ['/api/query?name=x&top=0', 'top'],
    ['/api/query?name=x&tag=route', 'tag'],
    ['/api/query?name=db.pool.size&stat=p99', 'stat'],
    ['/api/series?limit=5000', 'limit'],
    ['/api/series?type=histogram', 'type'],
  ];
  for (const [path, param] of badParams) {
    test(`${path} answers 400 ZIB_ERR_BAD_QUERY naming "${param}"`, async () => {
      const { status, body } = await api(url + path);
      assert.equal(status, 400);
      assert.equal(body.error.code, 'ZIB_ERR_BAD_QUERY');
      assert.equal(body.error.param, param);
      assert.match(body.error.message, new RegExp(`^${param}:`));
    });
  }

  test('series search caps the list at limit, counts every match in total and sorts by name', async () => {
    const { body } = await api(`${url}/api/series?q=http.*&limit=5`);
    assert.equal(body.total, 30);
    assert.equal(body.series.length, 5);
    const all = (await api(`${url}/api/series?limit=1000`)).body;
    assert.deepEqual(
      all.series.map((s: { name: string }) => s.name),
      [...all.series.map((s: { name: string }) => s.name)].sort(),
    );
    assert.equal((await api(`${url}/api/series?q=pool&type=gauge`)).body.total, 1);
    assert.equal((await api(`${url}/api/series?tag=route:/a`)).body.total, 10);
    assert.equal((await api(`${url}/api/series?source=web7`)).body.total, 1);
  });

  test('top keeps the N series with the highest mean and total counts them all', async () => {
    const { body } = await api(`${url}/api/query?name=http.requests&stat=sum&from=${t - 10_000}&to=${t}&step=10s&top=3`);
    assert.equal(body.total, 30);
    assert.deepEqual(
      body.series.map((s: { source: string }) => s.source),
      ['web29', 'web28', 'web27'],
    );
  });

  test('groupBy sums the series of each tag value', async () => {
    const { body } = await api(`${url}/api/query?name=http.*&stat=sum&from=${t - 10_000}&to=${t}&step=10s&groupBy=route`);
    const byRoute = Object.fromEntries(body.series.map((s: { tags: { route: string }; points: [number, number | null][] }) => [s.tags.route, s.points.find((p) => p[1] !== null)![1]]));
    const expectA = [0, 3, 6, 9, 12, 15, 18, 21, 24, 27].reduce((a, i) => a + i * 10, 0);
    assert.deepEqual(byRoute, { '/a': expectA, '/b': 4350 - expectA });
  });

  test('an automatic step keeps at most about 1000 points per series', async () => {
    const { body } = await api(`${url}/api/query?name=http.requests&since=7d&top=1`);
    assert.ok(body.series[0].points.length <= 1001, `${body.series[0].points.length} points`);
    assert.ok(body.step >= 600_000);
  });

  test('dashboards are saved, listed, read and deleted', async () => {
    const dash = { name: 'ops', range: { since: '1h' }, charts: [{ title: 'Requests', query: { name: 'http.requests', stat: 'rate' } }] };
    assert.deepEqual((await api(`${url}/api/dashboards/ops`, { method: 'PUT', body: JSON.stringify(dash) })).body, { ok: true });
    const list = (await api(`${url}/api/dashboards`)).body;
    assert.equal(list.length, 1);
    assert.equal(list[0].name, 'ops');
    assert.equal(list[0].charts, 1);
    assert.deepEqual((await api(`${url}/api/dashboards/ops`)).body, dash);
    assert.equal((await api(`${url}/api/dashboards/ops`, { method: 'DELETE' })).status, 204);
    assert.equal((await api(`${url}/api/dashboards/ops`)).status, 404);
  });

  test('a dashboard without a charts list is refused with 400 naming charts', async () => {
    const { status, body } = await api(`${url}/api/dashboards/bad`, { method: 'PUT', body: JSON.stringify({ name: 'bad' }) });
    assert.equal(status, 400);
    assert.equal(body.error.param, 'charts');
  });

  test('unknown paths answer 404', async () => {
    assert.equal((await api(`${url}/api/nothing`)).status, 404);
    assert.equal((await fetch(`${url}/../../etc/passwd`)).status, 404);
  });

  test('uPlot is served from node_modules under /vendor', async () => {
    const res = await fetch(`${url}/vendor/uPlot.iife.min.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /javascript/);
    assert.equal((await fetch(`${url}/vendor/uPlot.min.css`)).status, 200);
  });
});

describe('store HTTP API: the token rule', () => {
  test('listening on a non-loopback address without a token is refused with ZIB_ERR_TOKEN_REQUIRED', () => {
    assert.throws(() => storelessServer('0.0.0.0', 0), (err: unknown) => err instanceof ZibratoError && err.code === 'ZIB_ERR_TOKEN_REQUIRED');
  });

  test('with a token, requests without it get 401 ZIB_ERR_UNAUTHORIZED; a bearer header or ?token= passes', async () => {
    const { sink, url } = await startStoreSink({ token: 's3cret' });
    try {
      const denied = await api(`${url}/api/series`);
      assert.equal(denied.status, 401);
      assert.equal(denied.body.error.code, 'ZIB_ERR_UNAUTHORIZED');
      assert.equal((await api(`${url}/api/series`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
      assert.equal((await api(`${url}/api/series`, { headers: { authorization: 'Bearer s3cret' } })).status, 200);
      assert.equal((await api(`${url}/api/series?token=s3cret`)).status, 200);
      // The page's static files carry no data: a browser cannot send a header with <script src>.
      assert.equal((await fetch(`${url}/vendor/uPlot.min.css`)).status, 200);
    } finally {
      await sink.stop();
    }
  });
});

describe('query times', () => {
  test('relative, absolute and RFC 3339 times parse to the same instant', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.integer({ min: 1, max: 100_000 }), (ms, minutes) => {
        const now = ms + minutes * 60_000;
        assert.equal(parseTime('from', String(ms), now), ms);
        assert.equal(parseTime('from', new Date(ms).toISOString(), now), ms);
        assert.equal(parseTime('from', `-${minutes}m`, now), ms);
        assert.equal(parseTime('from', `now-${minutes}m`, now), ms);
      }),
    );
  });

  test('text that is no time is refused naming the parameter', () => {
    fc.assert(
      fc.property(fc.string().filter((s) => !/^\s*(now|\d+|-.*|now-.*|\d{4}-\d{2}-\d{2}T.*)\s*$/.test(s)), (s) => {
        assert.throws(() => parseTime('to', s, 0), /^BadQueryError: to:|to:/);
      }),
    );
  });
});

describe('store HTTP API: listening', () => {
  test('a port already in use is ZIB_ERR_ENDPOINT (exit 3, so zibrato up does not restart into it) naming the address', async () => {
    const { sink, url } = await startStoreSink();
    try {
      const port = Number(new URL(url).port);
      await assert.rejects(storelessServer('127.0.0.1', port).start(), (err: unknown) => err instanceof ZibratoError && err.code === 'ZIB_ERR_ENDPOINT' && err.message.includes(`127.0.0.1:${port}`));
    } finally {
      await sink.stop();
    }
  });
});
