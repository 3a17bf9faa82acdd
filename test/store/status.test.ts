import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricPoint } from '../../src/sinks/sink.ts';
import { api, batch, startStoreSink } from '../helpers/store.ts';

const stops: (() => Promise<void>)[] = [];
after(async () => {
  for (const s of stops) await s();
});

test('/api/status reports each backend\'s lost records summed over publishers and its spooled points (not bytes)', async () => {
  const { sink, url } = await startStoreSink();
  stops.push(() => sink.stop());
  const t = Math.floor(Date.now() / 10_000) * 10_000 - 60_000;
  const lost = (source: string, publisher: string, value: number): MetricPoint => ({ type: 'counter', name: 'zibrato.backend.lost', source, tags: { publisher }, value, rate: value / 10 });
  const spooled = (source: string, sinkName: string, value: number): MetricPoint => ({ type: 'gauge', name: 'zibrato.sink.spooled', source, tags: { sink: sinkName }, value });
  await sink.export(batch(t - 10_000, 10_000, [lost('file', 'app-1', 3), lost('file', 'app-2', 4), lost('console', 'app-1', 1), spooled('file', 'file', 90)]));
  await sink.export(batch(t, 10_000, [lost('file', 'app-1', 2), spooled('file', 'file', 25)]));
  const body = (await api(`${url}/api/status`)).body;
  const byName = Object.fromEntries(body.backends.map((b: { name: string }) => [b.name, b]));
  assert.equal(byName.file.lost, 9);
  assert.equal(byName.console.lost, 1);
  assert.equal(byName.file.spooled, 25, 'the last spool size, in points');
  assert.equal(byName.console.spooled, 0);
  assert.equal('spooledBytes' in byName.file, false);
});

test('/api/status reports the memory the newest rows take against their budget', async () => {
  const { sink, url } = await startStoreSink();
  stops.push(() => sink.stop());
  const before = (await api(`${url}/api/status`)).body.store.memory;
  // The default budget: 32 MiB of numbers for 1-minute rows, a quarter of it more for flush-resolution rows.
  assert.deepEqual(before, { recentRowsBytes: 0, recentRowsBudgetBytes: 40 * 1024 * 1024 });
  const t = Math.floor(Date.now() / 10_000) * 10_000 - 60_000;
  const gauges = Array.from({ length: 10 }, (_, i): MetricPoint => ({ type: 'gauge', name: 'memory.probe', source: '', tags: { i: String(i) }, value: i }));
  await sink.export(batch(t, 10_000, gauges));
  const after = (await api(`${url}/api/status`)).body.store.memory;
  assert.ok(after.recentRowsBytes > 0, JSON.stringify(after));
  assert.ok(after.recentRowsBytes <= after.recentRowsBudgetBytes, JSON.stringify(after));
});
