// The page at the sizes issue 12 names: 10,000 series in the store and 1 M
// points on screen (50 charts × top 20 series × 1,000 points, the API's caps),
// first against the API stub, then against the real store filled with them.
// Timings are reported as diagnostics, never asserted (shared, noisy machine).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page, Response } from 'playwright-core';
import type { StoreSink } from '../../src/store/store-sink.ts';
import { batch, startStoreSink } from '../helpers/store.ts';
import { StubStore } from './stub-store.ts';
import { launchBrowser, type TestBrowser } from './browser.ts';
import { dragAcross, openPage } from './page-helpers.ts';

const SERIES = 10_000;
const CHARTS = 50;
const PER_CHART = 20;
const POINTS = 1000;
const STEP_MS = 3_600_000 / POINTS;

/** One chart per name metric.000 … metric.049, as URL parameters. */
const CHART_PARAMS = Array.from({ length: CHARTS }, (_, i) => `c=${encodeURIComponent(`name=metric.${String(i).padStart(3, '0')}`)}`).join('&');
/** The first load fetches every chart, near the viewport or not. */
const ALL_CHARTS_READY = `[...document.querySelectorAll('.chart')].every((c) => c.dataset.state === 'ready')`;
/** After a zoom, charts far from the viewport are only marked stale; they are fetched when scrolled near. */
const NEAR_CHARTS_REFETCHED = `[...document.querySelectorAll('.chart')].every((c) => c.dataset.updates === (c.dataset.near === 'true' ? '2' : '1'))`;

let store: StubStore;
let browser: TestBrowser;
let page: Page;

describe('web page with 10,000 series and 1 M points on screen (API stub)', () => {
  before(async () => {
    store = await new StubStore().start();
    const now = Date.now();
    const times = Array.from({ length: POINTS }, (_, i) => now - (POINTS - 1 - i) * STEP_MS);
    for (let i = 0; i < SERIES; i++) {
      const chart = Math.floor(i / PER_CHART);
      const charted = chart < CHARTS;
      store.add({ name: `metric.${String(chart).padStart(3, '0')}`, type: 'gauge', level: 'info', source: `host${i % PER_CHART}`, tags: {}, points: charted ? times.map((t, j) => [t, (i % PER_CHART) * 10 + Math.sin(j / 30) * 5]) : [[now, i]] });
    }
    browser = await launchBrowser();
    page = browser.page;
  });
  after(async () => {
    await browser.close();
    await store.stop();
  });

  test('50 charts of 20 series × 1,000 points render, and the page still answers a search and a zoom', async (t) => {
    const started = Date.now();
    await openPage(page, `${store.url}/?${CHART_PARAMS}`);
    await page.waitForFunction(ALL_CHARTS_READY);
    const renderMs = Date.now() - started;
    const onScreen = await page.locator('.chart').evaluateAll((els) => els.reduce((n, el) => n + Number(el.getAttribute('data-shown')) * 1000, 0));
    assert.equal(onScreen, CHARTS * PER_CHART * POINTS);
    t.diagnostic(`load + render of 1 M points: ${renderMs} ms (noisy shared machine)`);

    const searchStarted = Date.now();
    await page.fill('#search-q', 'metric.049');
    await page.waitForSelector('#results-count:text("20 series")');
    t.diagnostic(`a search after that: ${Date.now() - searchStarted} ms (with the ${SEARCH_DEBOUNCE_LABEL} debounce)`);

    const zoomStarted = Date.now();
    const box = (await page.locator('.chart').first().locator('.u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.4, box.y + 50);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + 50, { steps: 4 });
    await page.mouse.up();
    await page.waitForURL(/from=/);
    await page.waitForFunction(NEAR_CHARTS_REFETCHED);
    const near = await page.locator('.chart[data-near=true]').count();
    t.diagnostic(`zoom (refetch + redraw of the ${near} charts near the viewport): ${Date.now() - zoomStarted} ms`);
    assert.deepEqual(browser.pageErrors, []);
  });
});

const SEARCH_DEBOUNCE_LABEL = '200 ms';

describe('web page with 10,000 series in the real store', () => {
  let sink: StoreSink;
  let url = '';
  before(async () => {
    ({ sink, url } = await startStoreSink());
    const points = Array.from({ length: SERIES }, (_, i) => ({ type: 'gauge' as const, name: `metric.${String(Math.floor(i / PER_CHART)).padStart(3, '0')}`, source: `host${i % PER_CHART}`, tags: {}, value: i }));
    await sink.export(batch(Math.floor(Date.now() / 10_000) * 10_000 - 60_000, 10_000, points));
    browser = await launchBrowser();
    page = browser.page;
  });
  after(async () => {
    await browser.close();
    await sink.stop();
  });

  test('the search lists the first 100 matches of 10,000 and the total, answered by the store', async (t) => {
    await openPage(page, `${url}/?q=metric`);
    assert.equal(await page.locator('#results li').count(), 100);
    assert.equal(await page.locator('#results-count').innerText(), `100 of ${SERIES} series (refine the search)`);
    const started = Date.now();
    await page.fill('#search-q', 'metric.12*');
    await page.waitForSelector(`#results-count:text("100 of 200 series")`);
    t.diagnostic(`a glob search over 10,000 series, typed to listed: ${Date.now() - started} ms (with the ${SEARCH_DEBOUNCE_LABEL} debounce)`);
  });

  test('a chart of one name among 10,000 series shows its top 20 of them', async () => {
    await openPage(page, `${url}/?since=5m&c=name%3Dmetric.*`);
    assert.equal(await page.locator('.chart .legend li').count(), 20);
    assert.match(await page.locator('.chart .info').innerText(), new RegExp(`top 20 of ${SERIES}`));
    assert.equal(await page.locator('.chart .legend li').first().getAttribute('data-last'), String(SERIES - 1));
  });
});

describe('web page with 10,000 series in the real store and 1 M of their points on screen', () => {
  /** 5 s flushes: a range of 1,000 of them gets an automatic step of 5 s, so 1,000 points per series. */
  const FLUSH_MS = 5_000;
  let sink: StoreSink;
  let url = '';
  let from = 0;
  let to = 0;
  before(async () => {
    ({ sink, url } = await startStoreSink());
    to = Math.floor(Date.now() / FLUSH_MS) * FLUSH_MS;
    from = to - POINTS * FLUSH_MS;
    // 50 names of 20 series each get a point every flush; the other 9,000 series one point, so the store holds 10,000.
    const charted = CHARTS * PER_CHART;
    const others = Array.from({ length: SERIES - charted }, (_, i) => ({ type: 'gauge' as const, name: `other.${String(i % 450).padStart(3, '0')}`, source: `host${i}`, tags: {}, value: i }));
    const deadline = Date.now() + 120_000;
    for (let f = 1; f <= POINTS; f++) {
      if (Date.now() > deadline) throw new Error(`filling the store took over 2 minutes (at flush ${f} of ${POINTS})`);
      const points = Array.from({ length: charted }, (_, i) => ({ type: 'gauge' as const, name: `metric.${String(Math.floor(i / PER_CHART)).padStart(3, '0')}`, source: `host${i % PER_CHART}`, tags: {}, value: (i % PER_CHART) * 10 + Math.round(Math.sin(f / 30) * 500) / 100 }));
      await sink.export(batch(from + f * FLUSH_MS, FLUSH_MS, f === 1 ? [...points, ...others] : points));
    }
    assert.equal(sink.store!.seriesCount, SERIES);
    browser = await launchBrowser();
    page = browser.page;
  });
  after(async () => {
    await browser.close();
    await sink.stop();
  });

  test('50 charts of 20 stored series × 1,000 points render, and a legend toggle and a zoom still complete', async (t) => {
    let pointsReceived = 0;
    const counting: Promise<void>[] = [];
    const count = (res: Response) => {
      if (!res.url().includes('/api/query?')) return;
      counting.push(
        res.json().then((body: { series: { points: [number, number | null][] }[] }) => {
          for (const s of body.series) pointsReceived += s.points.filter((p) => p[1] !== null).length;
        }),
      );
    };
    page.on('response', count);
    const started = Date.now();
    await openPage(page, `${url}/?from=${from}&to=${to}&${CHART_PARAMS}`);
    await page.waitForFunction(ALL_CHARTS_READY);
    const renderMs = Date.now() - started;
    page.off('response', count);
    await Promise.all(counting);
    assert.equal(pointsReceived, CHARTS * PER_CHART * POINTS);
    assert.equal(await page.locator('.chart[data-shown="20"]').count(), CHARTS);
    t.diagnostic(`load + render of 1 M stored points: ${renderMs} ms (noisy shared machine)`);

    const toggleStarted = Date.now();
    await page.locator('.chart').first().locator('.legend li').first().click();
    await page.waitForSelector('.chart[data-shown="19"]');
    t.diagnostic(`a legend toggle: ${Date.now() - toggleStarted} ms`);

    const zoomStarted = Date.now();
    await dragAcross(page, 0, 0.4, 0.6);
    await page.waitForFunction(NEAR_CHARTS_REFETCHED);
    const near = await page.locator('.chart[data-near=true]').count();
    t.diagnostic(`zoom (refetch from the store + redraw of the ${near} charts near the viewport): ${Date.now() - zoomStarted} ms`);
    assert.deepEqual(browser.pageErrors, []);
  });
});
