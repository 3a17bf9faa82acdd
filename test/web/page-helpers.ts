// What the browser tests do on the page, in one place for the stub and the end-to-end tests.
import type { Page } from 'playwright-core';

// The page's globals, as far as these helpers use them: the type-check runs
// without the DOM lib (its fetch types clash with Node's).
interface PageElement {
  dataset: Record<string, string | undefined>;
  hidden: boolean;
  parentElement: PageElement | null;
}
declare const document: { querySelectorAll(selector: string): Iterable<PageElement>; getElementById(id: string): PageElement | null };

/** Opens `url` and waits until the view has loaded: every chart near the viewport answered (or failed) and the search listed. */
export async function openPage(page: Page, url: string, readySelector?: string): Promise<void> {
  await page.goto(url);
  if (readySelector) await page.waitForSelector(readySelector);
  else await page.waitForFunction(() => [...document.querySelectorAll('.chart')].every((c) => c.dataset.state !== 'loading' || c.dataset.near === 'false') && (document.getElementById('view-explore')!.hidden || document.getElementById('results')!.dataset.state === 'ready'));
}

/** Types `q` in the search box, waits for the series `name` in the results and clicks it to add its chart. */
export async function searchAndChart(page: Page, q: string, name: string): Promise<void> {
  const charts = await page.locator('.chart').count();
  await page.fill('#search-q', q);
  await page.click(`#results li[data-name="${name}"] >> nth=0`);
  await page.waitForSelector(`.chart:nth-child(${charts + 1})[data-state=ready]`);
}

/** The values a chart plots, read from its table view: series key → (time ms → value). */
export async function chartValues(page: Page, index: number): Promise<Map<string, Map<number, number>>> {
  const chart = page.locator('.chart').nth(index);
  if (await chart.locator('.table').isHidden()) await chart.locator('button.table-toggle').click();
  const cells = await chart.locator('.table td').evaluateAll((tds) => (tds as unknown as PageElement[]).map((td) => [td.dataset.key!, Number(td.parentElement!.dataset.ts), td.dataset.value!] as const));
  const out = new Map<string, Map<number, number>>();
  for (const [key, ts, value] of cells) {
    if (value === '') continue;
    if (!out.has(key)) out.set(key, new Map());
    out.get(key)!.set(ts, Number(value));
  }
  return out;
}

/** Drags the mouse across chart `index` from `fromFraction` to `toFraction` of its plot width (uPlot's zoom gesture). */
export async function dragAcross(page: Page, index: number, fromFraction: number, toFraction: number): Promise<void> {
  const box = await page.locator('.chart').nth(index).locator('.u-over').boundingBox();
  if (!box) throw new Error(`chart ${index} has no plot area`);
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * fromFraction, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * toFraction, y, { steps: 8 });
  await page.mouse.up();
}
