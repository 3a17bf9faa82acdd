// Makes docs/img/dashboard.png: `zibrato up` with the store backend, two
// simulated services sending real measurements for ~5 min, a dashboard saved
// through the page's API, and chromium's screenshot of it.
// Usage: node --import tsx scripts/screenshot-dashboard.ts [seconds=280]
import { mkdirSync } from 'node:fs';
import { Zibrato } from '../src/index.ts';
import { stopAll } from '../test/helpers/processes.ts';
import { launchBrowser } from '../test/web/browser.ts';
import { openPage } from '../test/web/page-helpers.ts';
import { upWithStore } from '../test/helpers/up.ts';

const seconds = Math.min(600, Number(process.argv[2] ?? 280));
const out = new URL('../docs/img/dashboard.png', import.meta.url).pathname;

const pipe = await upWithStore();
try {
  const services = ['checkout-1', 'checkout-2'].map((source) => new Zibrato({ broker: pipe.publish, source, level: 'info' }));
  await Promise.all(services.map((z) => z.ready({ levels: ['info'] })));
  const routes = ['/cart', '/pay', '/search'];
  for (let s = 0; s < seconds; s++) {
    // Send mid-second, away from the 1 s flush boundaries, so each flush gets one second of data.
    await new Promise((r) => setTimeout(r, 1000 - ((Date.now() + 500) % 1000)));
    services.forEach((z, k) => {
      const load = 1 + 0.5 * Math.sin((s + k * 20) / 15);
      for (const [r, route] of routes.entries()) z.count({ name: 'http.requests', value: Math.round((40 - r * 10) * load * (1 + Math.random() * 0.2)), tags: { route } });
      for (let i = 0; i < 200; i++) z.timing({ name: 'db.query', ms: 2 + Math.random() * 8 * load + (Math.random() < 0.001 ? 30 : 0) });
      z.gauge({ name: 'queue.depth', value: Math.round(20 + 15 * Math.sin(s / 10 + k) + Math.random() * 5) });
      for (let u = 0; u < 30 * load; u++) z.emit('info', 'set', 'visitors', `user${Math.floor(Math.random() * 200)}`);
      z.flush();
    });
  }
  await Promise.all(services.map((z) => z.close()));
  // One more flush so the last second is stored.
  await new Promise((r) => setTimeout(r, 1500));

  const dashboard = {
    name: 'checkout',
    range: { since: '5m' },
    charts: [
      { title: 'Requests per route', query: { name: 'http.requests', groupBy: 'route' } },
      { title: 'DB query p99', query: { name: 'db.query' } },
      { title: 'Queue depth', query: { name: 'queue.depth' } },
      { title: 'Distinct visitors', query: { name: 'visitors' } },
    ],
  };
  const put = await fetch(`${pipe.url}/api/dashboards/checkout`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(dashboard) });
  if (!put.ok) throw new Error(`PUT dashboard: ${put.status} ${await put.text()}`);

  const browser = await launchBrowser();
  try {
    const { page } = browser;
    await page.setViewportSize({ width: 1600, height: 1000 });
    await openPage(page, `${pipe.url}/?view=dashboards`, '#dashboards tr[data-name=checkout]');
    await page.click('#dashboards tr[data-name=checkout] a.open');
    await page.waitForFunction(`document.querySelectorAll('.chart[data-state=ready]').length === 4`);
    await page.fill('#search-q', 'checkout');
    await page.fill('#search-q', '');
    await page.waitForSelector('#results li');
    await page.waitForSelector('#flush:not([data-count="0"])');
    mkdirSync(new URL('../docs/img/', import.meta.url).pathname, { recursive: true });
    await page.screenshot({ path: out });
    if (browser.pageErrors.length) throw new Error(`page errors: ${browser.pageErrors.join('\n')}`);
    console.log(`wrote ${out}`);
  } finally {
    await browser.close();
  }
} finally {
  await pipe.stop();
  await stopAll();
}
