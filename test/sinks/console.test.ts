import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConsoleSink, IDLE_HEARTBEAT_MS } from '../../src/sinks/console-sink.js';
import { batchAt, counter, gauge, timer } from './fixtures.js';

const T = 1_700_000_010_000;

function sink(): { s: ConsoleSink; out: string[] } {
  const out: string[] = [];
  return { s: new ConsoleSink((text) => out.push(text)), out };
}

describe('console sink', () => {
  test('each row shows the series level in its own column, - when unknown', async () => {
    const { s, out } = sink();
    await s.export(batchAt([counter('jobs.done', 3, { level: 'warn' }), gauge('queue.depth', 2)], T));
    const lines = out.join('').split('\n');
    assert.match(lines[1]!, /^level\s+type\s+series\s+values$/);
    assert.match(lines.find((l) => l.includes('jobs.done'))!, /^warn\s+counter\s+jobs\.done\s+value=3/);
    assert.match(lines.find((l) => l.includes('queue.depth'))!, /^-\s+gauge\s+queue\.depth\s+value=2/);
  });

  test('self-metrics are grouped under their own heading after the app’s series', async () => {
    const { s, out } = sink();
    await s.export(batchAt([counter('zibrato.backend.received', 5, { level: 'warn' }), timer('db.query', { level: 'info' }), counter('zibrato.client.invalid', 1), gauge('pool.size', 4)], T));
    const lines = out.join('').split('\n');
    const heading = lines.findIndex((l) => l.startsWith('── self-metrics'));
    assert.ok(heading > 0, out.join(''));
    const before = lines.slice(0, heading).join('\n');
    const after = lines.slice(heading).join('\n');
    assert.match(before, /db\.query/);
    assert.match(before, /pool\.size/);
    assert.doesNotMatch(before, /zibrato\./);
    assert.match(after, /zibrato\.backend\.received/);
    assert.match(after, /zibrato\.client\.invalid/);
    assert.match(lines[0]!, /2 series, 2 self-metrics/);
  });

  test('an idle flush prints no table, one heartbeat line when the app goes quiet, then at most one a minute', async () => {
    const { s, out } = sink();
    await s.export(batchAt([gauge('pool.size', 4)], T));
    out.length = 0;
    const idle = (t: number) => s.export(batchAt([counter('zibrato.backend.received', 0)], t));
    await idle(T + 10_000);
    await idle(T + 20_000);
    await s.export(batchAt([], T + 30_000));
    await idle(T + 10_000 + IDLE_HEARTBEAT_MS);
    assert.equal(out.length, 2, out.join(''));
    for (const line of out) {
      assert.equal(line.split('\n').length, 2, 'one line each');
      assert.match(line, /idle: no app records/);
    }
    assert.match(out[0]!, /1 self-metrics not shown/);
  });
});
