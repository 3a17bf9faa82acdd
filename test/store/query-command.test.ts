import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoreSink } from '../../src/store/store-sink.ts';
import { zibrato } from '../helpers/processes.ts';
import { freeTcpPort } from '../helpers/ports.ts';
import { batch, startStoreSink } from '../helpers/store.ts';
import fc from 'fast-check';
import { apiTag } from '../../src/cli/query-command.ts';

describe('zibrato query: the store API from the terminal', () => {
  let sink: StoreSink;
  let url = '';
  const t = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;

  before(async () => {
    ({ sink, url } = await startStoreSink());
    await sink.export(batch(t, 10_000, [{ type: 'gauge', name: 'db.pool', source: 'api', tags: {}, value: 12 }]));
    await sink.export(
      batch(t, 10_000, [
        { type: 'gauge', name: 'db.conns', source: 'api', tags: { pool: 'a' }, value: 1 },
        { type: 'gauge', name: 'db.conns', source: 'api', tags: { pool: 'b' }, value: 2 },
      ]),
    );
  });
  after(async () => {
    await sink.stop();
  });

  test('--json prints the API response', async () => {
    const p = zibrato(['query', '--url', url, '--name', 'db.pool', '--stat', 'max', '--since', '1h', '--step', '1m', '--json']);
    assert.equal((await p.exited).code, 0, p.lines.join('\n'));
    const body = JSON.parse(p.lines.join(''));
    assert.equal(body.stat, 'max');
    assert.equal(body.step, 60_000);
    assert.deepEqual(
      body.series[0].points.filter((x: [number, number | null]) => x[1] !== null),
      [[t - 60_000, 12]],
    );
  });

  test('without --json it prints a table with a row per step that has a value', async () => {
    const p = zibrato(['query', '--url', url, '--name', 'db.pool', '--since', '1h', '--step', '1m']);
    assert.equal((await p.exited).code, 0, p.lines.join('\n'));
    assert.match(p.lines[0]!, /^last, step 60s, 1 of 1 series/);
    assert.match(p.lines[1]!, /^time\s+gauge:db\.pool@api$/);
    assert.equal(p.lines.length, 3);
    assert.match(p.lines[2]!, new RegExp(`^${new Date(t - 60_000).toISOString().replace('.000Z', 'Z')}\\s+12$`));
  });

  test('--tag takes k=v like send --tag, and k:v like the API', async () => {
    for (const tag of ['pool=a', 'pool:a']) {
      const p = zibrato(['query', '--url', url, '--name', 'db.conns', '--tag', tag, '--since', '1h', '--step', '1m', '--json']);
      assert.equal((await p.exited).code, 0, p.lines.join('\n'));
      assert.deepEqual(
        JSON.parse(p.lines.join('')).series.map((x: { tags: Record<string, string> }) => x.tags),
        [{ pool: 'a' }],
        tag,
      );
    }
  });

  test('a bad parameter exits 2 with ZIB_ERR_BAD_QUERY naming it', async () => {
    const p = zibrato(['query', '--url', url, '--name', 'db.pool', '--step', 'often']);
    assert.equal((await p.exited).code, 2);
    assert.match(p.lines.join('\n'), /ZIB_ERR_BAD_QUERY: step:/);
  });

  test('--help does not print the token taken from ZIBRATO_TOKEN', async () => {
    const p = zibrato(['query', '--help'], { env: { ZIBRATO_TOKEN: 'do-not-print-me' } });
    assert.equal((await p.exited).code, 0);
    assert.match(p.lines.join('\n'), /--token <token>\s+bearer token \(env ZIBRATO_TOKEN\)/);
    assert.doesNotMatch(p.lines.join('\n'), /do-not-print-me/);
  });

  test('a store nobody answers on exits 3 with ZIB_ERR_ENDPOINT naming --url', async () => {
    const port = await freeTcpPort();
    const p = zibrato(['query', '--url', `http://127.0.0.1:${port}`, '--name', 'db.pool']);
    assert.equal((await p.exited).code, 3, p.lines.join('\n'));
    assert.match(p.lines.join('\n'), new RegExp(`ZIB_ERR_ENDPOINT: --url: cannot reach the store at http://127\\.0\\.0\\.1:${port}`));
  });
});

test('zibrato query sends the token from ZIBRATO_TOKEN to a store that requires one', async () => {
  const { sink, url } = await startStoreSink({ token: 's3cret' });
  try {
    const withToken = zibrato(['query', '--url', url, '--name', 'db.pool', '--json'], { env: { ZIBRATO_TOKEN: 's3cret' } });
    assert.equal((await withToken.exited).code, 0, withToken.lines.join('\n'));
    const without = zibrato(['query', '--url', url, '--name', 'db.pool', '--json'], { env: { ZIBRATO_TOKEN: '' } });
    assert.equal((await without.exited).code, 2);
    assert.match(without.lines.join('\n'), /ZIB_ERR_UNAUTHORIZED/);
  } finally {
    await sink.stop();
  }
});

test('apiTag turns k=v into the API\'s k:v and leaves k:v as it is, whatever the value holds', () => {
  const key = fc.stringMatching(/^[a-z_][a-z0-9_.]{0,15}$/);
  fc.assert(
    fc.property(key, fc.string(), (k, v) => {
      assert.equal(apiTag(`${k}=${v}`), `${k}:${v}`);
      assert.equal(apiTag(`${k}:${v}`), `${k}:${v}`);
    }),
  );
});
