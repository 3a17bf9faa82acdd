import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoreSink } from '../../src/store/store-sink.ts';
import { ROOT } from '../helpers/processes.ts';
import { batch, startStoreSink } from '../helpers/store.ts';
import { parseConfig } from '../../src/config/config.ts';

const doc = readFileSync(join(ROOT, 'docs/http-api.md'), 'utf8');
/** Every GET of the API shown with curl in docs/http-api.md (not the SSE stream, which never ends). */
const examples = [...doc.matchAll(/curl -s "\$API(\/api\/[^"]+)"/g)].map((m) => m[1]!).filter((p) => !p.startsWith('/api/events'));

let sink: StoreSink;
let url = '';
before(async () => {
  ({ sink, url } = await startStoreSink());
  const t = Math.floor(Date.now() / 10_000) * 10_000;
  await sink.export(batch(t, 10_000, [{ type: 'counter', name: 'cache.hits', source: 'checkout-svc', tags: { cache: 'users' }, value: 1000, rate: 100 }]));
  // The doc's PUT example comes before its GET of the same dashboard.
  const put = /-X PUT "\$API(\/api\/dashboards\/\w+)"[\s\S]*?-d '(\{.*\})'/.exec(doc);
  assert.ok(put, 'docs/http-api.md shows a dashboard PUT');
  const res = await fetch(url + put[1], { method: 'PUT', body: put[2] });
  assert.equal(res.status, 200, await res.text());
});
after(async () => {
  await sink.stop();
});

test('docs/http-api.md shows curl examples of series, query, status and dashboards', () => {
  for (const path of ['/api/series', '/api/query', '/api/status', '/api/dashboards']) assert.ok(examples.some((e) => e.startsWith(path)), `no example of ${path}`);
});

test('every curl example in docs/http-api.md is answered as the doc says (200, or the 400 it shows)', async () => {
  for (const path of examples) {
    const res = await fetch(url + path);
    const expected = path.includes('step=often') ? 400 : 200;
    assert.equal(res.status, expected, `${path}: ${await res.text()}`);
  }
});

test('the config example of a Prometheus source in docs/http-api.md parses and validates', () => {
  const block = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('source: prometheus'));
  assert.ok(block, 'docs/http-api.md shows a store with source: prometheus');
  const config = parseConfig(block, 'docs/http-api.md');
  assert.deepEqual(config.backends.map((b) => b.sink), ['prometheus-remote-write', 'store']);
});
