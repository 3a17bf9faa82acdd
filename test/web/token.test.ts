// The page against the real store HTTP server when a token is configured:
// the page and its files load without it, every API request carries it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoreSink } from '../../src/store/store-sink.ts';
import { batch, startStoreSink } from '../helpers/store.ts';
import { launchBrowser, type TestBrowser } from './browser.ts';
import { openPage } from './page-helpers.ts';

const TOKEN = 's3cret';

describe('web page with a token (real store HTTP server)', () => {
  let sink: StoreSink;
  let url = '';
  let browser: TestBrowser;
  const flushAt = (i: number) => Math.floor(Date.now() / 10_000) * 10_000 - 60_000 + i * 10_000;

  before(async () => {
    ({ sink, url } = await startStoreSink({ token: TOKEN }));
    await sink.export(batch(flushAt(0), 10_000, [{ type: 'gauge', name: 'queue.depth', source: 'w', tags: {}, value: 5 }]));
    browser = await launchBrowser();
  });
  after(async () => {
    await browser.close();
    await sink.stop();
  });

  test('the token is read from the URL once, kept for the session and sent with every API request', async () => {
    const page = await browser.context.newPage();
    const sent = new Map<string, string>();
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith('/api/')) sent.set(u.pathname, r.headers().authorization ?? (u.searchParams.get('token') ? '?token' : 'none'));
    });
    await openPage(page, `${url}/?token=${TOKEN}&since=5m&c=name%3Dqueue.depth`);
    assert.equal(new URL(page.url()).searchParams.has('token'), false, 'the token left the address bar');
    await page.reload();
    await openPage(page, page.url());
    assert.equal(await page.locator('.chart .legend li').getAttribute('data-last'), '5');
    await sink.export(batch(flushAt(1), 10_000, [{ type: 'gauge', name: 'queue.depth', source: 'w', tags: {}, value: 6 }]));
    await page.waitForSelector('.chart .legend li[data-last="6"]');
    assert.deepEqual(Object.fromEntries(sent), { '/api/events': '?token', '/api/query': `Bearer ${TOKEN}`, '/api/series': `Bearer ${TOKEN}` });
    await page.close();
  });

  test('without the token the page loads and shows the store’s 401 message in place of the chart', async () => {
    const page = await browser.context.newPage();
    await openPage(page, `${url}/?c=name%3Dqueue.depth`, '.chart[data-state=error]');
    assert.match(await page.locator('.chart .error').innerText(), /requires a token/);
    await page.close();
  });
});
