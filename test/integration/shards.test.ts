/**
 * Sharded backends with real processes (docs/delivery.md, "Sharded backends"):
 * a broker, two `--shard K/N` backends and one unsharded backend, fed by a
 * client that learns the shard count from their subscriptions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Zibrato } from '../../src/index.ts';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually, stopAll, zibrato, type Proc } from '../helpers/processes.ts';
import { counterTotal, readRows, type Row } from '../helpers/jsonl.ts';

const SERIES = 64;
const METRIC = 'shard.jobs';

/** Per series (tag `i`), the total of `METRIC` in a file sink's rows. */
function perSeries(rows: Row[], metric = METRIC): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) if (r.type === 'counter' && r.name === metric && r.value !== undefined && r.value !== 0) out.set(r.tags.i!, (out.get(r.tags.i!) ?? 0) + r.value);
  return out;
}

/** Starts `zibrato backend file` (shard `shard`, or unsharded) and waits until it has subscribed. */
async function fileBackend(subscribe: string, path: string, name: string, shard?: string, env?: Record<string, string>): Promise<Proc> {
  const args = ['backend', 'file', '--name', name, '--levels', 'info', '--flush', '300ms', '--broker', subscribe, '--path', path];
  if (shard) args.push('--shard', shard);
  const p = zibrato(args, { label: name, env });
  await p.waitFor(shard ? new RegExp(`subscribed to info shard ${shard}`) : /subscribed to info at/);
  return p;
}

/** `z.count` of `value` on each of the SERIES series of `METRIC` (tag i), then a flush; returns what was made. */
function countEach(z: Zibrato, value: number): number {
  for (let i = 0; i < SERIES; i++) z.count({ name: METRIC, value, tags: { i: String(i) } });
  z.flush();
  return SERIES * value;
}

describe('sharded backends: real broker and backend processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-shards-'));
  const stateDir = join(dir, 'state');
  const file = (name: string) => join(dir, `${name}.jsonl`);
  let pub = '';
  let sub = '';
  const procs = new Map<string, Proc>();
  let z: Zibrato;

  /** Starts `zibrato backend file` named `name` (shard `shard`, or unsharded) and waits for its subscription. */
  async function backend(name: string, shard?: string): Promise<Proc> {
    const p = await fileBackend(sub, file(name), name, shard, { ZIBRATO_BACKEND_STATE_DIR: stateDir });
    procs.set(name, p);
    return p;
  }

  /** Adds `by` to each of the SERIES series (tag i=0…63), `METRIC` by default, and flushes. */
  function make(by: (i: number) => number, metric = METRIC): number {
    let made = 0;
    for (let i = 0; i < SERIES; i++) {
      const c = z.counterHandle({ name: metric, tags: { i: String(i) } });
      for (let n = 0; n < by(i); n++) c.inc();
      made += by(i);
    }
    z.flush();
    return made;
  }

  before(async () => {
    ({ publish: pub, subscribe: sub } = await tcpBrokerEndpoints());
    const broker = zibrato(['broker', '--publish', pub, '--subscribe', sub], { label: 'broker' });
    await broker.waitFor(/broker up/);
    await Promise.all([backend('s1', '1/2'), backend('s2', '2/2'), backend('all')]);
    z = new Zibrato({ broker: pub, source: 'shard-app', log: () => undefined });
    assert.equal(await z.ready({ levels: ['info'], timeoutMs: 15_000 }), true);
  });

  after(async () => {
    await z?.close({ timeoutMs: 2000 });
    await stopAll();
  });

  test('two shard backends together count exactly what the unsharded backend counts, which is what was made', async () => {
    assert.equal(z.shardCount('info'), 2);
    const made = make((i) => 10 + i);
    await eventually(() => counterTotal(readRows(file('all')), METRIC) === made, `the unsharded backend to count ${made}`);
    await eventually(() => counterTotal(readRows(file('s1')), METRIC) + counterTotal(readRows(file('s2')), METRIC) === made, `the shards to count ${made} between them`);
    assert.equal(z.stats().dropped, 0);
    assert.equal(z.stats().unsubscribed, 0);
  });

  test('every series lands in exactly one shard, whole, and both shards get some', async () => {
    const made = make(() => 5, 'shard.placed');
    await eventually(() => counterTotal(readRows(file('s1')), 'shard.placed') + counterTotal(readRows(file('s2')), 'shard.placed') === made, 'both shards to flush');
    const a = perSeries(readRows(file('s1')), 'shard.placed');
    const b = perSeries(readRows(file('s2')), 'shard.placed');
    for (const i of a.keys()) assert.ok(!b.has(i), `series i=${i} is in both shards`);
    assert.equal(a.size + b.size, SERIES);
    for (const v of [...a.values(), ...b.values()]) assert.equal(v, 5);
    // 64 series over two shards: a hash that sent them all to one would fail here (odds 2^-63).
    assert.ok(a.size > 0 && b.size > 0, `split ${a.size}/${b.size}`);
  });

  test('a shard backend restarted with its state counts the records sent on its shard while it was down as lost', async () => {
    const before = counterTotal(readRows(file('all')), METRIC);
    await procs.get('s1')!.stop('SIGTERM');
    // While s1 is away the unsharded backend still subscribes to every shard, so the client goes on sending shard 1.
    const whileDown = make(() => 3);
    await eventually(() => counterTotal(readRows(file('all')), METRIC) === before + whileDown, 'the unsharded backend to count what was made while s1 was down');
    await backend('s1', '1/2');
    assert.equal(await z.ready({ levels: ['info'], timeoutMs: 15_000 }), true);
    const afterRestart = make(() => 1);
    const total = before + whileDown + afterRestart;
    await eventually(() => counterTotal(readRows(file('all')), METRIC) === total, `the unsharded backend to count ${total}`);
    // What s1 did not receive while down shows as its lost count; received + lost across the shards is exact.
    await eventually(
      () => counterTotal(readRows(file('s1')), METRIC) + counterTotal(readRows(file('s1')), 'zibrato.backend.lost') + counterTotal(readRows(file('s2')), METRIC) === total,
      `shard 1 received + shard 1 lost + shard 2 received to be ${total}`,
    );
    assert.ok(counterTotal(readRows(file('s1')), 'zibrato.backend.lost') > 0, 'the restart left a gap in shard 1');
    assert.equal(counterTotal(readRows(file('s2')), 'zibrato.backend.lost'), 0);
    assert.equal(counterTotal(readRows(file('all')), 'zibrato.backend.lost'), 0);
  });

  test('a new set of three shards takes over once complete, and the old set can then stop without a loss', async () => {
    const metric = 'shard.resharded';
    const before = make(() => 2, metric);
    await eventually(() => counterTotal(readRows(file('s1')), metric) + counterTotal(readRows(file('s2')), metric) === before, 'the two shards to count the first round');
    // The new set starts next to the old one; both are subscribed for a while.
    await Promise.all([backend('t1', '1/3'), backend('t2', '2/3'), backend('t3', '3/3')]);
    await eventually(() => z.shardCount('info') === 3, 'the client to use the complete set of three');
    const during = make(() => 3, metric);
    await procs.get('s1')!.stop('SIGTERM');
    await procs.get('s2')!.stop('SIGTERM');
    const afterStop = make(() => 4, metric);
    const total = before + during + afterStop;
    await eventually(() => counterTotal(readRows(file('all')), metric) === total, `the unsharded backend to count ${total}`);
    const threes = ['t1', 't2', 't3'];
    await eventually(() => threes.reduce((a, n) => a + counterTotal(readRows(file(n)), metric), 0) === during + afterStop, 'the set of three to count everything since it took over');
    // The old set got only the first round: after the switch nothing went to it.
    assert.equal(counterTotal(readRows(file('s1')), metric) + counterTotal(readRows(file('s2')), metric), before);
    // Each series in exactly one of the three, whole.
    const seen = new Map<string, string>();
    for (const n of threes) {
      for (const [i, v] of perSeries(readRows(file(n)), metric)) {
        assert.ok(!seen.has(i), `series i=${i} is in ${seen.get(i)} and ${n}`);
        seen.set(i, n);
        assert.equal(v, 7);
      }
    }
    assert.equal(seen.size, SERIES);
    assert.equal(z.shardCount('info'), 3, 'stopping the old set does not move the client off the complete new one');
    for (const n of [...threes, 'all']) assert.equal(counterTotal(readRows(file(n)), 'zibrato.backend.lost'), 0, `${n} lost nothing`);
    assert.equal(z.stats().unsubscribed, 0);
  });
});

describe('sharded backends and a client started during a broker outage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-shards-outage-'));
  const file = (name: string) => join(dir, `${name}.jsonl`);
  const clients: Zibrato[] = [];

  after(async () => {
    await Promise.all(clients.map((c) => c.close({ timeoutMs: 2000 })));
    await stopAll();
  });

  test('records made before the client heard of the shards reach the shard that owns each series, and a missing shard’s are counted as unsubscribed', async () => {
    const { publish, subscribe } = await tcpBrokerEndpoints();
    // The client starts while there is no broker: what it makes is held on the unsharded topic.
    const z = new Zibrato({ broker: publish, source: 'early-app', log: () => undefined });
    clients.push(z);
    const made = countEach(z, 2);
    const shards = await Promise.all([1, 2].map((k) => fileBackend(subscribe, file(`o${k}`), `o${k}`, `${k}/2`)));
    const broker = zibrato(['broker', '--publish', publish, '--subscribe', subscribe], { label: 'broker-shards-only' });
    await broker.waitFor(/broker up/);
    assert.equal(await z.ready({ levels: ['info'], timeoutMs: 15_000 }), true);
    const both = () => counterTotal(readRows(file('o1')), METRIC) + counterTotal(readRows(file('o2')), METRIC);
    await eventually(() => both() === made, `the two shards to count the ${made} records made during the outage`);
    const a = perSeries(readRows(file('o1')));
    const b = perSeries(readRows(file('o2')));
    assert.equal(a.size + b.size, SERIES);
    for (const i of a.keys()) assert.ok(!b.has(i), `series i=${i} is in both shards`);

    // Shard 2 goes away for good: its series' records have no subscriber and are counted by the client, never sent into the void.
    await shards[1]!.stop('SIGTERM');
    await eventually(() => z.ready({ levels: ['info'], timeoutMs: 0 }).then((r) => !r), 'the client to see shard 2 gone');
    const received2 = counterTotal(readRows(file('o2')), METRIC);
    const later = countEach(z, 1);
    await eventually(() => counterTotal(readRows(file('o1')), METRIC) + received2 + z.stats().unsubscribed === made + later, 'shard 1 + shard 2 (before it left) + unsubscribed to be everything made');
    assert.equal(z.stats().unsubscribed, b.size, 'exactly shard 2’s series were let go, one record each');
    assert.equal(z.shardCount('info'), 2, 'a missing shard does not change the count the others rely on');
  });

  test('records held while the broker was away reach the shards and the unsharded backend alike', async () => {
    const { publish, subscribe } = await tcpBrokerEndpoints();
    const z = new Zibrato({ broker: publish, source: 'outage-app', log: () => undefined });
    clients.push(z);
    const made = countEach(z, 3);
    await Promise.all([fileBackend(subscribe, file('u1'), 'u1', '1/2'), fileBackend(subscribe, file('u2'), 'u2', '2/2'), fileBackend(subscribe, file('uall'), 'uall')]);
    const broker = zibrato(['broker', '--publish', publish, '--subscribe', subscribe], { label: 'broker-outage' });
    await broker.waitFor(/broker up/);
    assert.equal(await z.ready({ levels: ['info'], timeoutMs: 15_000 }), true);
    await eventually(() => counterTotal(readRows(file('uall')), METRIC) === made, `the unsharded backend to count ${made}`);
    await eventually(() => counterTotal(readRows(file('u1')), METRIC) + counterTotal(readRows(file('u2')), METRIC) === made, `the two shards to count ${made} between them`);
  });
});
