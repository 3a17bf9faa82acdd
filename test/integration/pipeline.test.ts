import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { freeTcpPort } from '../helpers/ports.ts';
import { eventually, node, ROOT, stopAll, zibrato, type Proc } from '../helpers/processes.ts';
import { counterTotal, readRows } from '../helpers/jsonl.ts';

/**
 * A raw publisher connected to the broker, returned once the broker has passed
 * it a subscription: a publisher drops what it sends before then, so this
 * waits on that event instead of a fixed delay.
 */
async function publisherWithSubscriptions(endpoint: string): Promise<zmq.XPublisher> {
  const p = new zmq.XPublisher();
  p.connect(endpoint);
  p.receiveTimeout = 15_000;
  await p.receive();
  return p;
}

const PUBLISHER = join(ROOT, 'test/fixtures/publisher.mjs');

async function runPublisher(endpoint: string, kind: string, name: string, count: number, level: string, source = '', valuesFile = ''): Promise<{ sent: number; dropped: number; invalid: number }> {
  const p = node(PUBLISHER, [endpoint, kind, name, String(count), level, source, valuesFile], `publisher ${name}`);
  const { code } = await p.exitWithin();
  assert.equal(code, 0, `publisher exited ${code}:\n${p.lines.join('\n')}`);
  return JSON.parse(p.lines.at(-1)!);
}

/** Exact percentile by the nearest-rank rule DDSketch follows (rank = q·(n−1)). */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

for (const transport of ['tcp', 'ipc'] as const) {
  describe(`pipeline over ${transport}: real broker, backends and publisher processes`, () => {
    const dir = mkdtempSync(join(tmpdir(), `zibrato-pipeline-${transport}-`));
    let pub = '';
    let sub = '';
    let broker: Proc;
    let infoWarn: Proc;
    let everything: Proc;
    const infoWarnFile = join(dir, 'info-warn.jsonl');
    const everythingFile = join(dir, 'everything.jsonl');

    before(async () => {
      if (transport === 'tcp') {
        pub = `tcp://127.0.0.1:${await freeTcpPort()}`;
        sub = `tcp://127.0.0.1:${await freeTcpPort()}`;
      } else {
        pub = `ipc://${dir}/pub.sock`;
        sub = `ipc://${dir}/sub.sock`;
      }
      broker = zibrato(['broker', '--publish', pub, '--subscribe', sub], { label: `broker-${transport}` });
      await broker.waitFor(/broker up/);
      infoWarn = zibrato(['backend', 'file', '--name', 'iw', '--levels', 'info,warn', '--flush', '1s', '--broker', sub, '--path', infoWarnFile]);
      everything = zibrato(['backend', 'file', '--name', 'all', '--levels', 'debug+', '--flush', '1s', '--broker', sub, '--path', everythingFile]);
      await Promise.all([infoWarn.waitFor(/subscribed/), everything.waitFor(/subscribed/)]);
    });

    after(async () => {
      await stopAll();
    });

    test('4 publisher processes × 10,000 increments are counted exactly 40,000', async () => {
      const stats = await Promise.all([0, 1, 2, 3].map((i) => runPublisher(pub, 'counter', 'jobs.done', 10_000, 'info', `worker-${i}`)));
      for (const s of stats) assert.deepEqual([s.sent, s.dropped, s.invalid], [10_000, 0, 0]);
      await eventually(() => counterTotal(readRows(infoWarnFile), 'jobs.done') === 40_000, 'info,warn backend to count 40,000');
      await eventually(() => counterTotal(readRows(everythingFile), 'jobs.done') === 40_000, 'debug+ backend to count 40,000');
      for (let i = 0; i < 4; i++) assert.equal(counterTotal(readRows(infoWarnFile), 'jobs.done', `worker-${i}`), 10_000);
    });

    test('debug records reach a debug+ backend and never an info,warn backend', async () => {
      await runPublisher(pub, 'counter', 'debug.only', 500, 'debug');
      await eventually(() => counterTotal(readRows(everythingFile), 'debug.only') === 500, 'debug+ backend to count 500 debug records');
      // The info,warn backend flushed at least once since (its own health row proves it).
      const flushedAfter = Date.now();
      await eventually(() => readRows(infoWarnFile).some((r) => r.time > flushedAfter), 'info,warn backend to flush again');
      assert.equal(readRows(infoWarnFile).filter((r) => r.name === 'debug.only').length, 0);
    });

    test('timer percentiles are within 1 % of the true values', async () => {
      // A skewed distribution: 20,000 log-normal-ish samples from a fixed seed.
      let seed = 42;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const values = Array.from({ length: 20_000 }, () => Math.round(Math.exp(rand() * 6) * 1000) / 1000);
      const valuesFile = join(dir, 'values.json');
      writeFileSync(valuesFile, JSON.stringify(values));
      await runPublisher(pub, 'timer', 'db.query', values.length, 'warn', '', valuesFile);
      const row = await eventually(() => readRows(infoWarnFile).find((r) => r.name === 'db.query' && r.count === values.length), 'one timer row with all 20,000 samples', 20_000);
      assert.ok(row);
      const sorted = [...values].sort((a, b) => a - b);
      assert.equal(row.min, sorted[0]);
      assert.equal(row.max, sorted.at(-1));
      assert.ok(Math.abs(row.sum! - values.reduce((a, b) => a + b, 0)) < 1e-6 * row.sum!);
      for (const [q, key] of [[0.5, 'p50'], [0.9, 'p90'], [0.95, 'p95'], [0.99, 'p99']] as const) {
        const exact = exactQuantile(sorted, q);
        const got = row[key]!;
        assert.ok(Math.abs(got - exact) / exact <= 0.01, `${key}: got ${got}, exact ${exact}`);
      }
    });

    test('malformed messages are counted and the pipeline keeps going', async () => {
      const raw = await publisherWithSubscriptions(pub);
      await raw.send(['info|', Buffer.from([9, 9, 9])]); // too short, wrong version
      await raw.send(['info|', Buffer.alloc(16, 0xff)]); // bad version
      await raw.send('info|NotAType|x|1'); // legacy with an unknown type
      await raw.send(['info|', Buffer.from([1]), Buffer.from([2])]); // three frames
      await raw.send('info|Counter|legacy.ok|7|1700000000|cron'); // a good legacy record after the bad ones
      await raw.send('warn|Timer|legacy.timer|0.25'); // 0.25 s → 250 ms
      raw.close();
      await eventually(() => counterTotal(readRows(infoWarnFile), 'zibrato.backend.invalid', 'iw') === 4, 'info,warn backend to count 4 invalid messages');
      await eventually(() => counterTotal(readRows(infoWarnFile), 'legacy.ok', 'cron') === 7, 'the legacy counter after the bad messages');
      const timer = await eventually(() => readRows(infoWarnFile).find((r) => r.name === 'legacy.timer'), 'the legacy timer');
      assert.ok(timer);
      assert.equal(timer.p50, 250);
      assert.ok(infoWarn.lines.some((l) => /ZIB_ERR_MALFORMED_FRAME/.test(l)), 'the backend logged why');
      // A frame over ZeroMQ's maxMessageSize (4 MiB) never gets past the broker: its sender is cut off.
      const huge = await publisherWithSubscriptions(pub);
      await huge.send(['info|', Buffer.alloc(5 * 1024 * 1024, 1)]);
      huge.close();
      // And the native path still works afterwards, through the same broker.
      await runPublisher(pub, 'counter', 'after.bad', 100, 'info');
      await eventually(() => counterTotal(readRows(infoWarnFile), 'after.bad') === 100, 'records after the malformed ones');
      assert.equal(counterTotal(readRows(infoWarnFile), 'zibrato.backend.invalid', 'iw'), 4, 'the oversized frame never reached the backend');
    });

    test('SIGTERM makes a final flush: nothing received is lost on a clean stop', async () => {
      const file = join(dir, 'final.jsonl');
      const slow = zibrato(['backend', 'file', '--name', 'slow', '--levels', 'crit', '--flush', '1h', '--broker', sub, '--path', file]);
      await slow.waitFor(/subscribed/);
      await runPublisher(pub, 'counter', 'final.flush', 1234, 'crit');
      const { code } = await slow.stop('SIGTERM');
      assert.equal(code, 0);
      assert.equal(counterTotal(readRows(file), 'final.flush'), 1234);
    });
  });
}
