// The page against the real processes: `zibrato up` (broker + store backend),
// fed by examples/quickstart.ts and by a client in this test. The values the
// page plots are compared with what was sent, and with what the API answers.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { Zibrato } from '../../src/index.ts';
import { eventually, stopAll } from '../helpers/processes.ts';
import { api } from '../helpers/store.ts';
import { launchBrowser, type TestBrowser } from './browser.ts';
import { chartValues, dragAcross, openPage, searchAndChart } from './page-helpers.ts';
import { upWithStore, type UpWithStore } from '../helpers/up.ts';

let pipe: UpWithStore;
let browser: TestBrowser;
let page: Page;
let z: Zibrato;

/** The non-null values of one chart (all its series), oldest first. */
async function plotted(index: number): Promise<number[]> {
  const byKey = await chartValues(page, index);
  return [...byKey.values()].flatMap((m) => [...m].sort((a, b) => a[0] - b[0]).map(([, v]) => v));
}
const sum = (vs: number[]) => vs.reduce((a, b) => a + b, 0);

/** Values of a query through the API (non-null points of every series). */
async function apiValues(params: string): Promise<number[]> {
  const { status, body } = await api(`${pipe.url}/api/query?${params}&since=5m`);
  assert.equal(status, 200, JSON.stringify(body));
  return body.series.flatMap((s: { points: [number, number | null][] }) => s.points.flatMap(([, v]) => (v === null ? [] : [v])));
}

/** Sends one gauge value and waits until the store has it (so the next flush event carries it). */
async function sendGauge(name: string, value: number): Promise<void> {
  z.gauge({ name, value });
  z.flush();
  await eventually(async () => (await apiValues(`name=${name}`)).at(-1) === value, `${name}=${value} stored`);
}

describe('web page against zibrato up with the store backend', () => {
  before(async () => {
    pipe = await upWithStore();
    await pipe.runQuickstart();
    z = new Zibrato({ broker: pipe.publish, source: 'e2e', level: 'info' });
    await z.ready({ levels: ['info'] });
    await eventually(async () => sum(await apiValues('name=cache.hits&stat=sum')) === 1000, 'the quickstart stored');
    browser = await launchBrowser();
  });
  after(async () => {
    await z?.close();
    await browser?.close();
    await pipe?.stop();
    await stopAll();
  });
  beforeEach(async () => {
    page = await browser.context.newPage();
    browser.pageErrors.length = 0;
    page.on('pageerror', (e) => browser.pageErrors.push(e.message));
  });
  afterEach(async () => {
    await page.close();
    assert.deepEqual(browser.pageErrors, [], 'the page logged no errors');
  });

  test('a searched and clicked counter is charted as a rate in /s whose sum per step adds up to what was counted', async () => {
    await openPage(page, `${pipe.url}/?since=5m`);
    await searchAndChart(page, 'jobs', 'jobs.done');
    assert.match(await page.locator('.chart .info').innerText(), /^rate \(\/s\)/);
    await page.locator('.chart select.stat').selectOption('sum');
    await page.waitForSelector('.chart[data-state=ready] .info:text("sum")');
    assert.equal(sum(await plotted(0)), 5);
    assert.deepEqual(await plotted(0), await apiValues('name=jobs.done&stat=sum'));
  });

  test('the level filter lists only the series sent at that level', async () => {
    await openPage(page, `${pipe.url}/?level=crit`);
    assert.deepEqual(await page.locator('#results li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-name'))), ['queue.depth']);
  });

  test('every type of the quickstart shows exactly the values sent', async () => {
    const c = (q: string) => `c=${encodeURIComponent(q)}`;
    await openPage(page, `${pipe.url}/?since=5m&${c('name=queue.depth')}&${c('name=db.query&stat=max')}&${c('name=cache.hits&stat=sum')}&${c('name=db.query')}`);
    assert.deepEqual(await plotted(0), [123]);
    assert.deepEqual(await plotted(1), [12.5]);
    assert.equal(sum(await plotted(2)), 1000);
    const [p99] = await plotted(3);
    assert.ok(Math.abs(p99! - 12.5) / 12.5 <= 0.01, `p99 of one 12.5 ms sample: ${p99}`);
    assert.match(await page.locator('.chart').nth(3).locator('.info').innerText(), /^p99 \(ms\)/);
  });

  test('a value sent while the page is open arrives with the next flush, without a reload', async () => {
    await sendGauge('e2e.live', 7);
    await openPage(page, `${pipe.url}/?since=5m&c=name%3De2e.live`);
    assert.equal(await page.locator('.chart .legend li').getAttribute('data-last'), '7');
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    await sendGauge('e2e.live', 8);
    await page.waitForSelector('.chart .legend li[data-last="8"]');
    assert.deepEqual(navigations, []);
  });

  test('dragging across a chart zooms to that window, and flushes no longer move it until Resume live', async () => {
    await openPage(page, `${pipe.url}/?since=5m&c=name%3Dqueue.depth`);
    await dragAcross(page, 0, 0.5, 0.99);
    await page.waitForSelector('#resume');
    const url = new URL(page.url());
    assert.ok(Number(url.searchParams.get('to')) - Number(url.searchParams.get('from')) < 160_000, page.url());
    await page.waitForSelector(`.chart[data-to="${url.searchParams.get('to')}"]`);
    const updates = Number(await page.locator('.chart').getAttribute('data-updates'));
    const flushes = Number(await page.locator('#flush').getAttribute('data-count'));
    await page.waitForSelector(`#flush[data-count="${flushes + 2}"]`);
    assert.equal(Number(await page.locator('.chart').getAttribute('data-updates')), updates, 'a zoomed chart stays put');
    await page.click('#resume');
    await page.waitForSelector('#live[data-live=true]');
    await page.waitForSelector(`.chart[data-updates="${updates + 2}"]`);
  });

  test('reloading the URL shows the same charts with the same values', async () => {
    await openPage(page, `${pipe.url}/`);
    await searchAndChart(page, 'queue', 'queue.depth');
    await searchAndChart(page, 'cache', 'cache.hits');
    await page.click('button[data-preset="5m"]');
    await page.waitForURL(/since=5m/);
    await openPage(page, page.url());
    const before = [page.url(), await plotted(0), await plotted(1)];
    await page.reload();
    await openPage(page, page.url());
    assert.deepEqual([page.url(), await plotted(0), await plotted(1)], before);
    assert.deepEqual(await page.locator('.chart input.title').evaluateAll((els) => els.map((e) => e.getAttribute('placeholder'))), ['queue.depth', 'cache.hits']);
  });

  test('a dashboard saved in the store reopens with its charts and values', async () => {
    await openPage(page, `${pipe.url}/?since=24h&c=${encodeURIComponent('name=queue.depth&title=Queue')}&c=${encodeURIComponent('name=db.query&stat=max')}`);
    await page.fill('#dash-saveas-name', 'quickstart');
    await page.click('#dash-saveas button');
    await page.waitForSelector('#dash-msg[data-saved=quickstart]');
    const { body } = await api(`${pipe.url}/api/dashboards/quickstart`);
    assert.deepEqual(body.charts, [
      { title: 'Queue', query: { name: 'queue.depth' } },
      { title: '', query: { name: 'db.query', stat: 'max' } },
    ]);
    await page.click('#nav-dashboards');
    await page.click('#dash-new');
    await page.click('#nav-dashboards');
    await page.click('#dashboards tr[data-name=quickstart] a.open');
    await page.waitForSelector('.chart:nth-child(2)[data-state=ready]');
    assert.equal(await page.locator('.chart').first().locator('input.title').inputValue(), 'Queue');
    assert.equal(await page.locator('button.preset.active').innerText(), '24h');
    assert.deepEqual(await plotted(0), [123]);
    assert.deepEqual(await plotted(1), [12.5]);
  });

  test('a dashboard exported as JSON, deleted and imported back is stored as before', async () => {
    const body = { name: 'roundtrip', range: { since: '5m' }, charts: [{ title: 'Q', query: { name: 'queue.depth', stat: 'max' } }] };
    assert.equal((await api(`${pipe.url}/api/dashboards/roundtrip`, { method: 'PUT', body: JSON.stringify(body) })).status, 200);
    await openPage(page, `${pipe.url}/?view=dashboards`, '#dashboards tr[data-name=roundtrip]');
    const download = page.waitForEvent('download');
    await page.click('#dashboards tr[data-name=roundtrip] button.export');
    const file = await (await download).path();
    page.once('dialog', (d) => void d.accept());
    await page.click('#dashboards tr[data-name=roundtrip] button.delete');
    await page.waitForSelector('#dashboards tr[data-name=roundtrip]', { state: 'detached' });
    assert.equal((await api(`${pipe.url}/api/dashboards/roundtrip`)).status, 404);
    await page.setInputFiles('#dash-import', file);
    await page.waitForSelector('#dashboards tr[data-name=roundtrip]');
    const { body: stored } = await api(`${pipe.url}/api/dashboards/roundtrip`);
    assert.deepEqual({ name: stored.name, range: stored.range, charts: stored.charts }, body);
  });

  test('the status page shows the store backend with what it received, the database and its retention', async () => {
    await openPage(page, `${pipe.url}/?view=status`, '#status[data-state=ready]');
    const { body } = await api(`${pipe.url}/api/status`);
    const row = await page.locator('table.backends tr[data-name=store] td').allInnerTexts();
    assert.equal(row[0], 'store');
    assert.ok(Number(row[1]!.replace(/,/g, '')) >= 1009, `received ${row[1]}`);
    const text = await page.locator('#status').innerText();
    assert.ok(text.includes(body.store.path), 'the database path');
    assert.ok(text.includes('raw: 2d, 1m: 30d, 1h: 1y'), 'the retention');
    assert.ok(await page.locator('table.sinks tr[data-name="store/store"]').count(), 'the store sink');
  });
});
