/**
 * Zibrato across hosts: three app hosts, each with a host broker
 * (`--upstream`) and an app, send to a central host that runs the central
 * broker and the backends: two sharded file backends (`--shard 1/2`, `2/2`)
 * and one unsharded, plus two sharded remote-write backends with native
 * histograms into Prometheus on a store host. Every host is a Linux network
 * namespace (test/helpers/netns.ts); the test needs root and `ip`, and fails
 * (never skips) without them.
 *
 * Each phase runs its own publishers with its own metric name and source, so
 * what each phase made, received and counted is read apart from the others.
 * Ports are fixed (5550/5551): each namespace has a network stack of its own,
 * so nothing else on the machine can hold them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Network, removeLeftoverNamespaces, requireNetns } from '../helpers/netns.ts';
import { eventually, ROOT, stopAll, type Proc } from '../helpers/processes.ts';
import { counterTotal, readRows } from '../helpers/jsonl.ts';
import { publisherResult, settled, type PublisherResult } from '../../faults/lib/delivery.ts';
import { PROMETHEUS_BIN } from '../helpers/peers/prometheus.ts';

const APP_HOSTS = ['app1', 'app2', 'app3'] as const;
const CENTRAL = 'central';
const CENTRAL_ADDRESS = '10.77.0.10';
const CENTRAL_PUBLISH = `tcp://${CENTRAL_ADDRESS}:5550`;
const CENTRAL_SUBSCRIBE = `tcp://${CENTRAL_ADDRESS}:5551`;
const HOST_PUBLISH = 'tcp://127.0.0.1:5550';
const HOST_SUBSCRIBE = 'tcp://127.0.0.1:5551';
const STORE = 'store';
const STORE_ADDRESS = '10.77.0.20';
const PROMETHEUS = `http://${STORE_ADDRESS}:9090`;
/** The file backends: the unsharded one and the two shards, whose sum must equal it. */
const SHARDS = { 'shard-1': '1/2', 'shard-2': '2/2' } as const;
/** Records per second of each app; three apps at once. Bounded: every phase ends by itself. */
const RATE = 5000;

let net: Network | undefined;
const dir = mkdtempSync(join(tmpdir(), 'zibrato-multihost-'));
let centralBroker: Proc;
const hostBrokers = new Map<string, Proc>();
/** Backend name → its JSONL file. */
const backendFiles = new Map<string, string>();
const backends = new Map<string, Proc>();

function startCentralBroker(label: string): Proc {
  // A non-loopback bind without keys needs --insecure; the network is this test's own.
  return net!.zibrato(CENTRAL, ['broker', '--publish', CENTRAL_PUBLISH, '--subscribe', CENTRAL_SUBSCRIBE, '--insecure', '--stats-interval', '1s'], label);
}

/** A file backend on the central host; `shard` K/N makes it a shard backend. Its state dir keeps its sequence positions across a restart. */
async function startBackend(name: string, shard?: string): Promise<Proc> {
  const file = join(dir, `${name}.jsonl`);
  backendFiles.set(name, file);
  const p = net!.zibrato(CENTRAL, ['backend', 'file', '--name', name, '--levels', 'info', '--flush', '1s', '--broker', CENTRAL_SUBSCRIBE, '--path', file, ...(shard ? ['--shard', shard] : [])], `backend ${name}`, { ZIBRATO_BACKEND_STATE_DIR: join(dir, 'state') });
  await p.waitFor(/subscribed/, 20_000);
  backends.set(name, p);
  return p;
}

/** A remote-write backend for shard `shard` at level warn (the timers), native histograms into the store host's Prometheus. */
async function startRemoteWriteBackend(shard: string): Promise<Proc> {
  const name = `rw-${shard.replace('/', '-')}`;
  const p = net!.zibrato(
    CENTRAL,
    ['backend', 'prometheus-remote-write', '--name', name, '--levels', 'warn', '--shard', shard, '--flush', '1s', '--broker', CENTRAL_SUBSCRIBE, '--url', `${PROMETHEUS}/api/v1/write`, '--namespace', 'mh_', '--native-histograms', '--spool-dir', join(dir, `spool-${name}`)],
    `backend ${name}`,
    { ZIBRATO_BACKEND_STATE_DIR: join(dir, 'state') },
  );
  await p.waitFor(/subscribed/, 20_000);
  return p;
}

/** An instant query to the store host's Prometheus (the test runs outside the namespaces, so a Node inside fetches for it). */
function promQuery(expr: string): { metric: Record<string, string>; value: [number, string] }[] {
  const url = `${PROMETHEUS}/api/v1/query?${new URLSearchParams({ query: expr })}`;
  const script = 'fetch(process.argv[1]).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, () => process.exit(2))';
  const r = spawnSync('ip', ['netns', 'exec', net!.host(STORE).ns, process.execPath, '-e', script, url], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`query ${expr}: exit ${r.status} ${r.stdout} ${r.stderr}`);
  const body = JSON.parse(r.stdout) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return body.data.result;
}

/** The q-quantile of `values` by the nearest-rank rule. */
function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** What one phase's apps made and what one backend received and counted of it. */
interface Account {
  made: number;
  received: number;
  /** The backend's sequence gaps for this phase's apps (`zibrato.backend.lost`). */
  lost: number;
  /** What the apps counted themselves: dropped and unsubscribed records. */
  appCounted: number;
  /** made − received − lost − appCounted (meaningful for a backend that is owed every record). */
  silentlyLost: number;
}

const timerFile = (metric: string, host: string) => join(dir, `${metric}-${host}.json`);

/** Each app's source in a phase: the `publisher` tag of the gaps a backend counts for it. */
const sourceOf = (metric: string, host: string) => `${metric.replace(/\./g, '-')}-${host}`;

/**
 * Runs one phase: every app host publishes `metric` at {@link RATE} for
 * `durationMs`, over 16 series (so both shards get some); `during` injects
 * the fault. With `timers`, each app also records timers (one per 10
 * increments, a different distribution per host) and writes their values to
 * `<dir>/<metric>-<host>.json`.
 */
async function phase(metric: string, durationMs: number, during?: (pubs: Proc[]) => Promise<void>, timers = false): Promise<PublisherResult[]> {
  const pubs = APP_HOSTS.map((h, i) =>
    net!.node(h, join(ROOT, 'faults/lib/rate-publisher.mjs'), [HOST_PUBLISH, metric, String(RATE), String(durationMs), '', sourceOf(metric, h), '16', ...(timers ? [timerFile(metric, h), String(i)] : [])], `publisher ${h}`),
  );
  await Promise.all(pubs.map((p) => p.waitFor(/^made /, 20_000)));
  await during?.(pubs);
  return Promise.all(pubs.map((p) => publisherResult(p, durationMs + 60_000)));
}

/** The records a rate publisher has made so far, from its last `made N` progress line. */
function madeSoFar(p: Proc): number {
  const last = p.lines.filter((l) => l.startsWith('made ')).at(-1);
  return Number(last?.slice(5) ?? 0);
}

/**
 * Holds a fault until every app has made `seconds` worth of records at
 * {@link RATE} since it began: the outage spans that much traffic however
 * loaded the machine is, rather than a fixed span of wall time.
 */
async function whileAppsMake(pubs: Proc[], seconds: number): Promise<void> {
  const from = pubs.map(madeSoFar);
  await eventually(() => pubs.every((p, i) => madeSoFar(p) >= from[i]! + RATE * seconds), `every app made ${seconds} s of records during the fault`, seconds * 1000 + 20_000, 100);
}

/** Waits until a backend's count of `metric` plus its gaps stop changing, then accounts. */
async function account(backend: string, metric: string, results: PublisherResult[]): Promise<Account> {
  const file = backendFiles.get(backend)!;
  const sources = new Set(APP_HOSTS.map((h) => sourceOf(metric, h)));
  const read = () => {
    const rows = readRows(file);
    const lost = rows.filter((r) => r.name === 'zibrato.backend.lost' && sources.has(r.tags.publisher ?? '')).reduce((a, r) => a + (r.value ?? 0), 0);
    return { received: counterTotal(rows, metric), lost };
  };
  await settled(() => {
    const x = read();
    return x.received + x.lost;
  });
  const { received, lost } = read();
  const made = results.reduce((a, r) => a + r.made, 0);
  const appCounted = results.reduce((a, r) => a + r.stats.dropped + r.stats.unsubscribed, 0);
  return { made, received, lost, appCounted, silentlyLost: made - received - lost - appCounted };
}

/** The last `dropped N` a host broker logged for its upstream (its buffer overflowed), 0 when none. */
function upstreamDropped(p: Proc): number {
  const last = p.lines.filter((l) => l.includes('upstream: forwarded') || l.includes('upstream stopped:')).at(-1);
  return Number(/dropped (\d+)/.exec(last ?? '')?.[1] ?? 0);
}

describe('three hosts, each with a host broker, send to a central broker and its backends', () => {
  before(async () => {
    requireNetns();
    removeLeftoverNamespaces();
    net = new Network([{ name: CENTRAL, address: CENTRAL_ADDRESS }, { name: STORE, address: STORE_ADDRESS }, ...APP_HOSTS.map((name, i) => ({ name, address: `10.77.1.${i + 1}` }))]);
    writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1s\nscrape_configs: []\n');
    const prometheus = net.program(STORE, PROMETHEUS_BIN, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prometheus')}`, `--web.listen-address=${STORE_ADDRESS}:9090`, '--web.enable-remote-write-receiver', '--enable-feature=native-histograms', '--log.level=warn'], 'prometheus');
    centralBroker = startCentralBroker('central broker');
    await centralBroker.waitFor(/broker up/);
    await startBackend('all');
    for (const [name, shard] of Object.entries(SHARDS)) await startBackend(name, shard);
    await eventually(() => {
      if (prometheus.child.exitCode !== null) throw new Error(`prometheus exited: ${prometheus.lines.join('\n')}`);
      return promQuery('vector(1)').length === 1;
    }, 'Prometheus on the store host', 30_000, 250);
    for (const shard of Object.values(SHARDS)) await startRemoteWriteBackend(shard);
    for (const h of APP_HOSTS) {
      const p = net.zibrato(h, ['broker', '--publish', HOST_PUBLISH, '--subscribe', HOST_SUBSCRIBE, '--upstream', CENTRAL_PUBLISH, '--stats-interval', '1s'], `host broker ${h}`);
      hostBrokers.set(h, p);
    }
    for (const p of hostBrokers.values()) await p.waitFor(/learned the central broker's subscriptions/, 30_000);
  });

  after(async () => {
    try {
      await stopAll();
    } finally {
      net?.destroy();
    }
  });

  test('every record the apps make reaches the unsharded backend exactly, and the two shard backends split it exactly', async () => {
    const results = await phase('mh.steady', 3000);
    const all = await account('all', 'mh.steady', results);
    assert.ok(all.made > 0);
    assert.deepEqual(all, { made: all.made, received: all.made, lost: 0, appCounted: 0, silentlyLost: 0 });
    const shards = await Promise.all(Object.keys(SHARDS).map((name) => account(name, 'mh.steady', results)));
    for (const s of shards) assert.ok(s.received > 0 && s.lost === 0, `each shard gets some series, and no gap (${JSON.stringify(s)})`);
    assert.equal(shards.reduce((a, s) => a + s.received, 0), all.received, 'the shards add up to the unsharded backend');
  });

  test('percentiles of timers recorded on three hosts and split over two shards, merged by Prometheus from native histograms, are within 1 % of the exact value', async () => {
    await phase('mh.pct', 4000, undefined, true);
    const values = APP_HOSTS.flatMap((h) => JSON.parse(readFileSync(timerFile('mh.pct', h), 'utf8')) as number[]);
    // The backends remote-write cumulative histograms every second; wait until every timer is in.
    await eventually(() => {
      const r = promQuery('sum(histogram_count(mh_mh_pct_latency_seconds))');
      return r.length === 1 && Number(r[0]!.value[1]) === values.length;
    }, `all ${values.length} timers counted in Prometheus`, 30_000, 500);
    const series = promQuery('count(mh_mh_pct_latency_seconds)');
    assert.equal(Number(series[0]!.value[1]), APP_HOSTS.length, 'one series per host');
    for (const q of [0.5, 0.9, 0.99]) {
      const got = Number(promQuery(`histogram_quantile(${q}, sum(mh_mh_pct_latency_seconds))`)[0]!.value[1]);
      const want = exactQuantile(values, q) / 1000;
      assert.ok(Math.abs(got - want) / want <= 0.01, `p${q * 100}: merged ${got} s vs exact ${want} s`);
    }
  });

  test('a central broker killed and restarted is bridged by the host brokers, and every record is delivered or counted', async () => {
    const results = await phase('mh.central-restart', 8000, async (pubs) => {
      await centralBroker.stop('SIGKILL');
      // Down for 2 s of traffic: the host brokers hold what their apps send meanwhile.
      await whileAppsMake(pubs, 2);
      centralBroker = startCentralBroker('central broker (restarted)');
      await centralBroker.waitFor(/broker up/);
    });
    const a = await account('all', 'mh.central-restart', results);
    assert.equal(a.silentlyLost, 0, JSON.stringify(a));
    assert.ok(a.received > 0);
    // Whatever a host broker had to drop, the backend counted as a gap.
    const hostDropped = [...hostBrokers.values()].reduce((s, p) => s + upstreamDropped(p), 0);
    assert.ok(hostDropped <= a.lost, `host brokers dropped ${hostDropped}, the backend counted ${a.lost} as lost`);
    process.stderr.write(`# central restart: ${JSON.stringify(a)}, host brokers dropped ${hostDropped}\n`);
  });

  test("one host's link cut for 10 s and restored is bridged by its host broker, and every record is delivered or counted", async () => {
    const results = await phase('mh.link-cut', 14_000, async (pubs) => {
      const app1 = () => counterTotal(readRows(backendFiles.get('all')!), 'mh.link-cut', sourceOf('mh.link-cut', 'app1'));
      net!.cut('app1');
      const outage = whileAppsMake(pubs, 10);
      // The outage spans 10 s of traffic. Within it, once what was in flight has landed
      // (app1's total holds still), nothing more of app1 arrives: the cut is real.
      const early = await settled(app1, 1500, 8000);
      await outage;
      const late = app1();
      net!.restore('app1');
      assert.equal(late, early, 'nothing of app1 arrives while its link is cut');
    });
    const a = await account('all', 'mh.link-cut', results);
    assert.equal(a.silentlyLost, 0, JSON.stringify(a));
    assert.ok(a.received > 0);
    process.stderr.write(`# link cut: ${JSON.stringify(a)}, app1 host broker dropped ${upstreamDropped(hostBrokers.get('app1')!)}\n`);
  });

  test('a shard backend restarted under load misses only what it was away for, and counts it', async () => {
    const results = await phase('mh.shard-restart', 9000, async (pubs) => {
      // A clean restart (a deploy): the backend saves its publishers' sequence positions on stop (state dir), so
      // the restarted one counts what it missed. (After a SIGKILL only the write-ahead log keeps them: docs/delivery.md.)
      await backends.get('shard-2')!.stop('SIGTERM');
      // Away for 2 s of traffic.
      await whileAppsMake(pubs, 2);
      await startBackend('shard-2', SHARDS['shard-2']);
    });
    const all = await account('all', 'mh.shard-restart', results);
    assert.deepEqual(all, { made: all.made, received: all.made, lost: 0, appCounted: 0, silentlyLost: 0 }, 'the unsharded backend got everything');
    const shard1 = await account('shard-1', 'mh.shard-restart', results);
    const shard2 = await account('shard-2', 'mh.shard-restart', results);
    assert.ok(shard2.received > 0, 'the restarted shard receives again');
    assert.equal(shard1.lost, 0, 'the shard that stayed up missed nothing');
    // What the shards received plus the restarted shard's counted gaps is what the apps made.
    assert.equal(shard1.received + shard2.received + shard2.lost, all.made, JSON.stringify({ shard1, shard2 }));
    // Per shard only what it received and counted: "made" is every shard's, so a shard's own silentlyLost means nothing.
    const own = (a: typeof shard1) => JSON.stringify({ received: a.received, lost: a.lost });
    process.stderr.write(`# shard restart: made ${all.made}, shard-1 ${own(shard1)}, shard-2 ${own(shard2)}\n`);
  });
});

// Keeps the namespaces from outliving a run interrupted between `before` and `after`.
process.once('exit', () => {
  try {
    net?.destroy();
  } catch {
    // already gone
  }
});
