// The page's behaviours, against the stub of the store's HTTP API (so each
// test controls the data and the flush events exactly). The same page against
// the real `zibrato` processes: test/web/e2e.test.ts.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { eventually } from '../helpers/processes.ts';
import { StubStore, type StubSeries } from './stub-store.ts';
import { launchBrowser, type TestBrowser } from './browser.ts';
import { chartValues, dragAcross, openPage, searchAndChart } from './page-helpers.ts';

const STEP_MS = 10_000;
const POINTS = 60;

let store: StubStore;
let browser: TestBrowser;
let page: Page;
let web: StubSeries[];

function seed(s: StubStore): StubSeries[] {
  const now = Math.floor(Date.now() / STEP_MS) * STEP_MS;
  const pts = (f: (i: number) => number | null) => Array.from({ length: POINTS }, (_, i) => [now - (POINTS - 1 - i) * STEP_MS, f(i)] as [number, number | null]);
  const timers = ['web1', 'web2', 'web3'].map((source, j) => s.add({ name: 'db.query', type: 'timer', level: 'info', source, tags: { route: '/a' }, points: pts((i) => 10 * (j + 1) + (i % 7) + 0.25) }));
  s.add({ name: 'http.requests', type: 'counter', level: 'info', source: null, tags: {}, points: pts((i) => (i % 5 === 0 ? null : 100 + i)) });
  s.add({ name: 'queue.depth', type: 'gauge', level: 'warn', source: 'worker', tags: { queue: 'mail' }, points: pts((i) => i) });
  return timers;
}

describe('web page (against the API stub)', () => {
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser.close();
  });
  beforeEach(async () => {
    store = await new StubStore().start();
    web = seed(store);
    page = await browser.context.newPage();
    browser.pageErrors.length = 0;
    page.on('pageerror', (e) => browser.pageErrors.push(e.message));
  });
  afterEach(async () => {
    await page.close();
    await store.stop();
    assert.deepEqual(browser.pageErrors, [], 'the page logged no errors');
  });

  test('searching lists the matching series and a click charts exactly the stored values', async () => {
    await openPage(page, store.url);
    await searchAndChart(page, 'db.qu', 'db.query');
    const values = await chartValues(page, 0);
    for (const s of web) assert.deepEqual(values.get(s.key), new Map(s.points.filter((p) => p[1] !== null)), `values of ${s.key}`);
  });

  test('a counter is charted as a rate in /s and a timer as p99 in ms by default', async () => {
    await openPage(page, `${store.url}/?c=name%3Dhttp.requests&c=name%3Ddb.query`);
    await page.waitForSelector('.chart:nth-child(2)[data-state=ready]');
    assert.match(await page.locator('.chart').nth(0).locator('.info').innerText(), /^rate \(\/s\)/);
    assert.match(await page.locator('.chart').nth(1).locator('.info').innerText(), /^p99 \(ms\)/);
    assert.match(await page.locator('.chart').nth(0).locator('.legend li .last').innerText(), /\/s$/);
    assert.deepEqual(await page.locator('.chart').nth(1).locator('select.stat option').allInnerTexts(), ['p99', 'p50', 'p90', 'p95', 'mean', 'max', 'min', 'count']);
  });

  test('the search filters by level, source and tag on the server and shows the total', async () => {
    await openPage(page, store.url);
    const shows = (keys: string[]) => page.waitForFunction(`[...document.querySelectorAll('#results li')].map((li) => li.dataset.key).join(' ') === ${JSON.stringify(keys.join(' '))}`);
    await page.selectOption('#search-level', 'warn');
    await shows(['queue.depth|warn|worker|{"queue":"mail"}']);
    await page.selectOption('#search-level', '');
    await page.fill('#search-source', 'web2');
    await shows([web[1]!.key]);
    await page.fill('#search-source', '');
    await page.fill('#search-tag', 'queue:mail');
    await shows(['queue.depth|warn|worker|{"queue":"mail"}']);
    assert.equal(await page.locator('#results-count').innerText(), '1 series');
    assert.match(page.url(), /tag=queue%3Amail/);
  });

  test('a glob search can be charted as one chart of every matching series', async () => {
    await openPage(page, store.url);
    await page.fill('#search-q', 'db.*');
    await page.click('#chart-glob');
    await page.waitForSelector('.chart[data-state=ready]');
    assert.equal(await page.locator('.chart').getAttribute('data-name'), 'db.*');
    assert.deepEqual((await page.locator('.chart .legend li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-key')))).sort(), web.map((s) => s.key).sort());
  });

  test('a time-range preset asks the store for that range and is kept in the URL', async () => {
    await openPage(page, `${store.url}/?c=name%3Ddb.query`);
    await page.click('button[data-preset="24h"]');
    await page.waitForURL(/since=24h/);
    await waitFor(() => store.queries.some((q) => q.searchParams.get('since') === '24h'), 'a query with since=24h');
    assert.equal(await page.locator('button.preset.active').innerText(), '24h');
  });

  test('dragging across a chart zooms every chart to that window and pauses live', async () => {
    await openPage(page, `${store.url}/?c=name%3Ddb.query&c=name%3Dqueue.depth`);
    await page.waitForSelector('.chart:nth-child(2)[data-state=ready]');
    await dragAcross(page, 0, 0.25, 0.75);
    await page.waitForSelector('#resume');
    const url = new URL(page.url());
    const from = Number(url.searchParams.get('from'));
    const to = Number(url.searchParams.get('to'));
    assert.ok(from < to && to - from < 3_600_000 * 0.6, `zoomed window ${from}..${to}`);
    await waitFor(() => store.queries.filter((q) => q.searchParams.get('from') === String(from) && q.searchParams.get('to') === String(to)).length === 2, 'both charts queried for the window');
    for (const n of [1, 2]) await page.waitForSelector(`.chart:nth-child(${n})[data-to="${to}"]`);
    const updates = await page.locator('.chart').first().getAttribute('data-updates');
    store.flush();
    await page.waitForSelector('#flush[data-count="1"]');
    assert.equal(await page.locator('.chart').first().getAttribute('data-updates'), updates, 'a flush does not move a zoomed chart');
  });

  test('one click on Resume live returns to the moving window and flushes update the chart again', async () => {
    await openPage(page, `${store.url}/?c=name%3Ddb.query&from=${Date.now() - 600_000}&to=${Date.now() - 300_000}&resume=5m`);
    await page.click('#resume');
    await page.waitForSelector('#live[data-live=true]');
    assert.match(page.url(), /since=5m/);
    assert.doesNotMatch(page.url(), /from=/);
    await page.waitForSelector('.chart[data-updates="2"]');
    await waitFor(() => store.eventClients === 1, 'the page listening to /api/events');
    store.flush();
    await page.waitForSelector('.chart[data-updates="3"]');
  });

  test('a flush event brings the new value into the chart without a reload', async () => {
    await openPage(page, `${store.url}/?c=name%3Dqueue.depth`);
    const points = store.series.get('queue.depth|warn|worker|{"queue":"mail"}')!.points;
    const ts = points.at(-1)![0];
    points[points.length - 1] = [ts, 4242];
    await waitFor(() => store.eventClients === 1, 'the page listening to /api/events');
    store.flush(ts);
    await page.waitForSelector('.chart .legend li[data-last="4242"]');
    assert.equal((await chartValues(page, 0)).get('queue.depth|warn|worker|{"queue":"mail"}')?.get(ts), 4242);
  });

  test('after the store restarts the page reconnects and fetches what was stored meanwhile', async () => {
    await openPage(page, `${store.url}/?c=name%3Dqueue.depth`);
    await waitFor(() => store.eventClients === 1, 'the page listening to /api/events');
    await store.stop();
    await page.waitForSelector('#flush.down');
    const points = store.series.get('queue.depth|warn|worker|{"queue":"mail"}')!.points;
    points[points.length - 1] = [points.at(-1)![0], 777];
    await store.start(store.port);
    await page.waitForSelector('#flush:not(.down)', { timeout: 15_000 });
    await page.waitForSelector('.chart .legend li[data-last="777"]');
  });

  test('a flush refetches only the charts near the viewport; a stale one scrolled near catches up', async () => {
    const charts = Array.from({ length: 12 }, (_, i) => `c=${encodeURIComponent(`name=queue.depth&title=Q${i}`)}`).join('&');
    await openPage(page, `${store.url}/?${charts}`);
    await page.waitForSelector('.chart:last-child[data-near=false]', { state: 'attached' });
    await waitFor(() => store.eventClients === 1, 'the page listening to /api/events');
    const near = await page.locator('.chart[data-near=true]').count();
    assert.ok(near > 0 && near < 12, `${near} of 12 charts near the viewport`);
    const asked = store.queries.length;
    store.flush();
    await page.waitForFunction(`document.querySelectorAll('.chart[data-near=true][data-updates="2"]').length === ${near}`);
    assert.equal(store.queries.length - asked, near, 'one query per chart near the viewport');
    assert.equal(await page.locator('.chart:last-child').getAttribute('data-updates'), '1');
    await page.locator('.chart:last-child').scrollIntoViewIfNeeded();
    await page.waitForSelector('.chart:last-child[data-updates="2"]');
  });

  test('reloading the URL shows the same charts, range, search and chart settings', async () => {
    await openPage(page, store.url);
    await searchAndChart(page, 'queue', 'queue.depth');
    await page.click('button[data-preset="5m"]');
    await page.locator('.chart select.stat').selectOption('max');
    await page.waitForURL(/stat%3Dmax/);
    await page.locator('.chart input.title').fill('Mail queue');
    await page.locator('.chart input.title').press('Enter');
    await page.waitForURL(/Mail/);
    // The search box writes q= to the URL after its typing debounce: wait for it, or `before` may predate it.
    await page.waitForURL(/[?&]q=queue/);
    const before = page.url();
    await page.reload();
    await page.waitForSelector('.chart[data-state=ready]');
    assert.equal(page.url(), before);
    assert.equal(await page.locator('.chart input.title').inputValue(), 'Mail queue');
    assert.equal(await page.locator('.chart select.stat').inputValue(), 'max');
    assert.equal(await page.locator('button.preset.active').innerText(), '5m');
    assert.equal(await page.locator('#search-q').inputValue(), 'queue');
  });

  test('the legend lists the top series and a click hides and shows one', async () => {
    for (let i = 0; i < 30; i++) store.add({ name: 'many', type: 'gauge', level: 'info', source: `s${i}`, tags: {}, points: [[Date.now() - 1000, i]] });
    await openPage(page, `${store.url}/?c=name%3Dmany`);
    const items = page.locator('.chart .legend li');
    assert.equal(await items.count(), 20);
    assert.match(await page.locator('.chart .info').innerText(), /top 20 of 30/);
    await items.first().click();
    assert.equal(await items.first().getAttribute('class'), 'off');
    assert.equal(await page.locator('.chart').getAttribute('data-shown'), '19');
    await items.first().click();
    assert.equal(await page.locator('.chart').getAttribute('data-shown'), '20');
  });

  test('hovering a chart shows the values under the cursor in the legend, and the last values after', async () => {
    await openPage(page, `${store.url}/?c=name%3Dqueue.depth`);
    const box = (await page.locator('.chart .u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.95, box.y + box.height / 2);
    await page.waitForSelector('.chart .hover-time[data-ts]:not([data-ts=""])');
    const ts = Number(await page.locator('.chart .hover-time').getAttribute('data-ts'));
    const points = store.series.get('queue.depth|warn|worker|{"queue":"mail"}')!.points;
    const hovered = points.find((p) => p[0] === ts);
    assert.ok(hovered && hovered !== points.at(-1), `a point before the last one is under the cursor (${ts})`);
    assert.equal(await page.locator('.chart .legend .last').innerText(), String(hovered[1]));
    await page.mouse.move(0, 0);
    await page.waitForSelector('.chart .hover-time[data-ts=""]', { state: 'attached' });
    assert.equal(await page.locator('.chart .legend .last').innerText(), String(points.at(-1)![1]));
  });

  test('a dashboard is saved under a name and reopens with its charts and range', async () => {
    await openPage(page, `${store.url}/?c=name%3Ddb.query&c=name%3Dhttp.requests%26title%3DRequests&since=24h`);
    await page.fill('#dash-saveas-name', 'ops');
    await page.click('#dash-saveas button');
    await page.waitForSelector('#dash-msg[data-saved=ops]');
    await page.click('#nav-dashboards');
    await page.click('#dash-new');
    await page.waitForSelector('#charts-empty:visible');
    await page.click('#nav-dashboards');
    await page.click('#dashboards tr[data-name=ops] a.open');
    await page.waitForSelector('.chart:nth-child(2)[data-state=ready]');
    assert.equal(await page.locator('#dash-name').innerText(), 'Dashboard: ops');
    assert.equal(await page.locator('.chart').nth(1).locator('input.title').inputValue(), 'Requests');
    assert.equal(await page.locator('button.preset.active').innerText(), '24h');
  });

  test('editing an open dashboard and saving it replaces its charts', async () => {
    store.dashboards.set('ops', { updated: 1, body: { name: 'ops', range: { since: '1h' }, charts: [{ title: '', query: { name: 'db.query' } }] } });
    await openPage(page, `${store.url}/?view=dashboards`);
    await page.click('#dashboards tr[data-name=ops] a.open');
    await searchAndChart(page, 'queue', 'queue.depth');
    await page.waitForSelector('#dash-dirty:visible');
    await page.locator('.chart').first().locator('button.remove').click();
    await page.locator('.chart').nth(1).waitFor({ state: 'detached' });
    await page.click('#dash-save');
    await page.waitForSelector('#dash-msg[data-saved=ops]');
    await page.waitForSelector('#dash-dirty', { state: 'hidden' });
    assert.deepEqual((store.dashboards.get('ops')!.body as { charts: unknown[] }).charts, [{ title: '', query: { name: 'queue.depth' } }]);
  });

  test('a reloaded dashboard link knows which changes are not saved yet', async () => {
    store.dashboards.set('ops', { updated: 1, body: { name: 'ops', range: { since: '1h' }, charts: [{ title: '', query: { name: 'db.query' } }] } });
    await openPage(page, `${store.url}/?d=ops&c=name%3Ddb.query`);
    await page.waitForSelector('#dash-dirty', { state: 'hidden' });
    assert.equal(await page.locator('#dash-name').innerText(), 'Dashboard: ops');
    await openPage(page, `${store.url}/?d=ops&c=name%3Dqueue.depth`);
    await page.waitForSelector('#dash-dirty:visible');
  });

  test('a dashboard is exported as JSON, deleted, and imported back from the file', async () => {
    const body = { name: 'ops', range: { since: '5m' }, charts: [{ title: 'Q', query: { name: 'queue.depth', stat: 'max' } }] };
    store.dashboards.set('ops', { updated: Date.now(), body });
    await openPage(page, `${store.url}/?view=dashboards`);
    const download = page.waitForEvent('download');
    await page.click('#dashboards tr[data-name=ops] button.export');
    const file = await (await download).path();
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), body);
    page.once('dialog', (d) => void d.accept());
    await page.click('#dashboards tr[data-name=ops] button.delete');
    await page.waitForSelector('#dashboards tr[data-name=ops]', { state: 'detached' });
    assert.equal(store.dashboards.has('ops'), false);
    await page.setInputFiles('#dash-import', file);
    await page.waitForSelector('#dashboards tr[data-name=ops]');
    assert.deepEqual(store.dashboards.get('ops')!.body, body);
  });

  test('opening a dashboard deleted meanwhile says so instead of failing silently', async () => {
    store.dashboards.set('gone', { updated: Date.now(), body: { name: 'gone', charts: [] } });
    await openPage(page, `${store.url}/?view=dashboards`, '#dashboards tr[data-name=gone]');
    store.dashboards.delete('gone');
    await page.click('#dashboards tr[data-name=gone] a.open');
    await page.waitForSelector('#dash-list-msg:text("no dashboard gone")');
  });

  test('an imported file that is not a dashboard is refused with a message and nothing is stored', async () => {
    await openPage(page, `${store.url}/?view=dashboards`);
    await page.setInputFiles('#dash-import', { name: 'x.json', mimeType: 'application/json', buffer: Buffer.from('{"charts": 3}') });
    await page.waitForSelector('#dash-list-msg:text("Not imported: not a dashboard")');
    assert.equal(store.dashboards.size, 0);
  });

  test('the status page shows the broker, each backend and sink, the store size, its memory and retention', async () => {
    store.status = {
      uptimeMs: 3_723_000,
      store: { path: './zibrato-data/store.duckdb', bytes: 5 * 1024 * 1024, series: 1234, rows: 56789, memory: { recentRowsBytes: 3 * 1024 * 1024, recentRowsBudgetBytes: 40 * 1024 * 1024 }, retention: { raw: '2d', '1m': '30d', '1h': '1y' } },
      backends: [{ name: 'store', received: 1000, invalid: 2, dropped: 3, lost: 4, flushed: 50, sinkErrors: 5, spooled: 2048 }],
      broker: { forwarded: 999, dropped: 7 },
      sinks: [{ backend: 'console', sink: 'console', sent: 10, failed: 1, dropped: 0, spooled: 0 }],
    };
    await openPage(page, `${store.url}/?view=status`, '#status[data-state=ready]');
    const text = await page.locator('#status').innerText();
    for (const want of ['1 h 2 min', './zibrato-data/store.duckdb', '5.0 MiB', '1,234', '56,789', '3.0 MiB of 40.0 MiB', 'raw: 2d, 1m: 30d, 1h: 1y']) assert.ok(text.includes(want), `status shows ${want}`);
    assert.deepEqual(await page.locator('table.backends tr[data-name=store] td').allInnerTexts(), ['store', '1,000', '2', '3', '4', '50', '5', '2,048']);
    assert.deepEqual(await page.locator('table.broker tbody td').allInnerTexts(), ['999', '7']);
    assert.deepEqual(await page.locator('table.sinks tr[data-name="console/console"] td').allInnerTexts(), ['console', 'console', '10', '1', '0', '0']);
  });

  test('a bad query shows the store message naming the parameter in place of the chart', async () => {
    await openPage(page, `${store.url}/?c=name%3Ddb.query%26stat%3Dp99`, '.chart');
    // The store's 400 for a statistic the type does not have.
    await page.route('**/api/query?*', (route) => route.fulfill({ status: 400, contentType: 'application/json', body: JSON.stringify({ error: { code: 'ZIB_ERR_BAD_QUERY', param: 'stat', message: 'stat: "p99" is not a statistic of gauge' } }) }));
    await page.reload();
    await page.waitForSelector('.chart[data-state=error]');
    assert.equal(await page.locator('.chart .error').innerText(), 'stat: "p99" is not a statistic of gauge');
  });
});

async function waitFor(check: () => boolean, what: string): Promise<void> {
  await eventually(check, what, 10_000, 50);
}
