import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually, node, Proc, ROOT, stopAll, zibrato } from '../helpers/processes.ts';
import { counterTotal, readRows } from '../helpers/jsonl.ts';
import { backendCounts, publisherResult, settled, startBackend, startBroker, startPublisher } from '../../faults/lib/delivery.ts';

const apps: Proc[] = [];
after(async () => {
  // The interactive apps are spawned here, not by the helpers, so stopAll does not know them.
  for (const a of apps) await a.stop('SIGKILL');
  await stopAll();
});

/** A central broker, a host broker forwarding to it, and the endpoints of both. */
async function chain(hostArgs: string[] = []) {
  const central = await tcpBrokerEndpoints();
  const host = await tcpBrokerEndpoints();
  const centralBroker = await startBroker(central, 'central');
  const hostBroker = await startBroker(host, 'host', ['--upstream', central.publish, ...hostArgs]);
  return { central, host, centralBroker, hostBroker };
}

/** The interactive publisher (test/fixtures) connected to `endpoint`. */
async function interactiveApp(endpoint: string): Promise<{ app: Proc; send(name: string, count: number): Promise<ClientStats>; close(): Promise<ClientStats> }> {
  const child = spawn(process.execPath, [join(ROOT, 'test/fixtures/interactive-publisher.mjs'), endpoint], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const app = new Proc(child, 'app');
  apps.push(app);
  await app.waitFor(/ready/);
  return {
    app,
    async send(name, count) {
      const mark = app.lines.length;
      child.stdin.write(`send ${name} ${count}\n`);
      return JSON.parse((await app.waitFor(new RegExp(`^sent ${name} `), 10_000, mark)).slice(`sent ${name} `.length)) as ClientStats;
    },
    async close() {
      child.stdin.write('close\n');
      return JSON.parse((await app.waitFor(/^closed /, 20_000)).slice('closed '.length)) as ClientStats;
    },
  };
}

/** The part of `z.stats()` these tests read. */
interface ClientStats {
  sent: number;
  dropped: number;
  unsubscribed: number;
  buffered: number;
}

const scratch = (label: string) => mkdtempSync(join(tmpdir(), `zibrato-federation-${label}-`));

test('records an app sends to a host broker reach a backend behind the central broker, exactly', async () => {
  const { central, host } = await chain();
  const file = join(scratch('exact'), 'b.jsonl');
  await startBackend(central, file, 'central-backend');
  const app = await interactiveApp(host.publish);
  await app.send('through', 5000);
  await eventually(() => counterTotal(readRows(file), 'through') === 5000, 'the records at the central backend');
  const closed = await app.close();
  assert.equal(closed.sent, 5000);
  assert.equal(closed.dropped, 0);
  assert.equal(counterTotal(readRows(file), 'through'), 5000);
});

test('a host broker also serves its own subscribers: a backend on the host and one behind the central broker both get every record', async () => {
  const { central, host } = await chain();
  const dir = scratch('local');
  const centralFile = join(dir, 'central.jsonl');
  const localFile = join(dir, 'local.jsonl');
  await startBackend(central, centralFile, 'behind-central');
  await startBackend(host, localFile, 'on-host');
  const app = await interactiveApp(host.publish);
  await app.send('both', 3000);
  await eventually(() => counterTotal(readRows(centralFile), 'both') === 3000 && counterTotal(readRows(localFile), 'both') === 3000, 'the records at both backends');
  const closed = await app.close();
  assert.equal(closed.dropped, 0);
});

test('a level no backend subscribes to anywhere is off in an app behind a host broker, and a tail at the central broker turns it on', async () => {
  const { central, host } = await chain();
  await startBackend(central, join(scratch('levels'), 'b.jsonl'), 'info-only');
  const app = node(join(ROOT, 'test/fixtures/level-watcher.mjs'), [host.publish, '30'], 'app');
  await app.waitFor(/debug off/, 15_000);
  const mark = app.lines.length;
  const tail = zibrato(['tail', '--levels', 'debug', '--json', '--broker', central.subscribe], { label: 'tail' });
  await app.waitFor(/debug on/, 10_000, mark);
  await tail.waitFor(/watcher\.tick/, 10_000);
  const beforeStop = app.lines.length;
  await tail.stop('SIGINT');
  await app.waitFor(/debug off/, 10_000, beforeStop);
});

test('a host broker tells its apps the subscriptions are complete only after it has learned the central broker\'s, so nothing is discarded while the central broker is not up yet', async () => {
  const central = await tcpBrokerEndpoints();
  const host = await tcpBrokerEndpoints();
  const hostBroker = await startBroker(host, 'host', ['--upstream', central.publish, '--stats-interval', '500ms']);
  const app = await interactiveApp(host.publish);
  await app.send('early', 1000);
  // Past the host broker's own settle time (3 s): a host broker that settled on it alone would
  // have told the app that nobody wants info, and the app would have discarded the 1000 records.
  await eventually(() => hostBroker.lines.filter((l) => l.includes('upstream: forwarded')).length >= 8, 'eight 500 ms status lines of the host broker', 20_000);
  await startBroker(central, 'central');
  const file = join(scratch('late'), 'b.jsonl');
  await startBackend(central, file, 'late-backend');
  await eventually(() => counterTotal(readRows(file), 'early') === 1000, 'the held records at the central backend', 30_000);
  const closed = await app.close();
  assert.equal(closed.unsubscribed, 0);
  assert.equal(closed.dropped, 0);
});

test('a host broker holds what its apps send while the central broker is killed, and delivers it all when it restarts', async () => {
  const { central, host, centralBroker } = await chain();
  const file = join(scratch('restart'), 'b.jsonl');
  await startBackend(central, file, 'restart-backend');
  const app = await interactiveApp(host.publish);
  await app.send('before', 1000);
  await eventually(() => counterTotal(readRows(file), 'before') === 1000, 'the records before the outage');
  await centralBroker.stop('SIGKILL');
  const during = await app.send('during', 5000);
  // The app is not the one holding them: its host broker is up and takes everything.
  await eventually(async () => (await app.send('probe', 0)).sent >= 6000, 'the app handing every record to its host broker');
  assert.ok(during.dropped === 0);
  await startBroker(central, 'central-2');
  await eventually(() => counterTotal(readRows(file), 'during') === 5000, 'the held records after the central broker returns', 30_000);
  const closed = await app.close();
  assert.equal(closed.dropped, 0);
  assert.equal(counterTotal(readRows(file), 'zibrato.backend.lost'), 0);
});

test('a central broker stopped cleanly (SIGTERM) under load behind a host broker loses nothing, not even what was in flight', async () => {
  const central = await tcpBrokerEndpoints();
  const host = await tcpBrokerEndpoints();
  let centralBroker = await startBroker(central, 'central');
  await startBroker(host, 'host', ['--upstream', central.publish]);
  const file = join(scratch('sigterm'), 'b.jsonl');
  await startBackend(central, file, 'sigterm-backend');
  const pub = startPublisher(host, 20_000, 5000);
  await pub.waitFor(/^made /, 15_000);
  await centralBroker.stop('SIGTERM');
  // The host broker answered the central broker's BROKER_STOPPING, so the central broker waited for its last batch.
  assert.ok(!centralBroker.lines.some((l) => l.includes('stopped waiting')), centralBroker.lines.join('\n'));
  centralBroker = await startBroker(central, 'central-2');
  const result = await publisherResult(pub, 60_000);
  await settled(() => backendCounts(file).received);
  const got = backendCounts(file);
  assert.deepEqual({ received: got.received, lost: got.lost }, { received: result.made, lost: 0 });
});

test('past its bound a host broker drops what it cannot hold for the central broker, and counts every record it dropped', async () => {
  const { central, host, centralBroker } = await chain(['--upstream-buffer', '2000', '--stats-interval', '500ms']);
  const file = join(scratch('bound'), 'b.jsonl');
  await startBackend(central, file, 'bound-backend');
  const app = await interactiveApp(host.publish);
  await app.send('before', 100);
  await eventually(() => counterTotal(readRows(file), 'before') === 100, 'the records before the outage');
  await centralBroker.stop('SIGKILL');
  for (let i = 0; i < 10; i++) await app.send('during', 1000);
  await eventually(async () => (await app.send('probe', 0)).sent >= 10_100, 'the app handing every record to its host broker');
  await startBroker(central, 'central-2');
  await app.send('after', 100);
  await eventually(() => counterTotal(readRows(file), 'after') === 100, 'records after the central broker returns', 30_000);
  // The host broker names its host as the source of its self-metrics, so the central backends can tell whose buffer dropped.
  const dropped = await eventually(() => counterTotal(readRows(file), 'zibrato.broker.upstream.dropped', hostname()), 'the host broker\'s dropped self-metric at the central backend', 20_000);
  const received = counterTotal(readRows(file), 'during');
  assert.ok(received <= 2000, `at most the bound was held (received ${received})`);
  assert.ok(dropped > 0);
  assert.equal(received + dropped, 10_000, `received ${received} + dropped ${dropped}`);
  await app.close();
});
