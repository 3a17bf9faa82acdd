/**
 * Zibrato across hosts: three app hosts, each with a host broker
 * (`--upstream`) and an app, send to a central host that runs the central
 * broker and the backends. Every host is a Linux network namespace
 * (test/helpers/netns.ts); the test needs root and `ip`, and fails (never
 * skips) without them.
 *
 * Each phase runs its own publishers with its own metric name and source, so
 * what each phase made, received and counted is read apart from the others.
 * Ports are fixed (5550/5551): each namespace has a network stack of its own,
 * so nothing else on the machine can hold them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Network, removeLeftoverNamespaces, requireNetns } from '../helpers/netns.ts';
import { ROOT, stopAll, type Proc } from '../helpers/processes.ts';
import { counterTotal, readRows } from '../helpers/jsonl.ts';
import { publisherResult, settled, type PublisherResult } from '../../faults/lib/delivery.ts';

const APP_HOSTS = ['app1', 'app2', 'app3'] as const;
const CENTRAL = 'central';
const CENTRAL_ADDRESS = '10.77.0.10';
const CENTRAL_PUBLISH = `tcp://${CENTRAL_ADDRESS}:5550`;
const CENTRAL_SUBSCRIBE = `tcp://${CENTRAL_ADDRESS}:5551`;
const HOST_PUBLISH = 'tcp://127.0.0.1:5550';
const HOST_SUBSCRIBE = 'tcp://127.0.0.1:5551';
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

async function startBackend(name: string, extraArgs: string[] = []): Promise<Proc> {
  const file = join(dir, `${name}.jsonl`);
  backendFiles.set(name, file);
  const p = net!.zibrato(CENTRAL, ['backend', 'file', '--name', name, '--levels', 'info', '--flush', '1s', '--broker', CENTRAL_SUBSCRIBE, '--path', file, ...extraArgs], `backend ${name}`, { ZIBRATO_BACKEND_STATE_DIR: join(dir, 'state') });
  await p.waitFor(/subscribed/, 20_000);
  backends.set(name, p);
  return p;
}

/** What one phase's apps made and what one backend received and counted of it. */
interface Account {
  made: number;
  received: number;
  /** Counted losses: the apps' own drops and unsubscribed records, and the backend's sequence gaps. */
  counted: number;
  silentlyLost: number;
}

/** Each app's source in a phase: the `publisher` tag of the gaps a backend counts for it. */
const sourceOf = (metric: string, host: string) => `${metric.replace(/\./g, '-')}-${host}`;

/** Runs one phase: every app host publishes `metric` at {@link RATE} for `durationMs`; `during` injects the fault. */
async function phase(metric: string, durationMs: number, during?: () => Promise<void>): Promise<PublisherResult[]> {
  const pubs = APP_HOSTS.map((h) => net!.node(h, join(ROOT, 'faults/lib/rate-publisher.mjs'), [HOST_PUBLISH, metric, String(RATE), String(durationMs), '', sourceOf(metric, h)], `publisher ${h}`));
  await Promise.all(pubs.map((p) => p.waitFor(/^made /, 20_000)));
  await during?.();
  return Promise.all(pubs.map((p) => publisherResult(p, durationMs + 60_000)));
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
  const counted = lost + results.reduce((a, r) => a + r.stats.dropped + r.stats.unsubscribed, 0);
  return { made, received, counted, silentlyLost: made - received - counted };
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
    net = new Network([{ name: CENTRAL, address: CENTRAL_ADDRESS }, ...APP_HOSTS.map((name, i) => ({ name, address: `10.77.1.${i + 1}` }))]);
    centralBroker = startCentralBroker('central broker');
    await centralBroker.waitFor(/broker up/);
    await startBackend('all');
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

  test('every record the apps make reaches the backend behind the central broker, exactly', async () => {
    const results = await phase('mh.steady', 3000);
    const a = await account('all', 'mh.steady', results);
    assert.ok(a.made > 0);
    assert.deepEqual(a, { made: a.made, received: a.made, counted: 0, silentlyLost: 0 });
  });

  test('a central broker killed and restarted is bridged by the host brokers, and every record is delivered or counted', async () => {
    const results = await phase('mh.central-restart', 8000, async () => {
      await centralBroker.stop('SIGKILL');
      // The fault lasts 2 s: the host brokers hold what their apps send meanwhile.
      await new Promise((r) => setTimeout(r, 2000));
      centralBroker = startCentralBroker('central broker (restarted)');
      await centralBroker.waitFor(/broker up/);
    });
    const a = await account('all', 'mh.central-restart', results);
    assert.equal(a.silentlyLost, 0, JSON.stringify(a));
    assert.ok(a.received > 0);
    // Whatever a host broker had to drop, the backend counted as a gap.
    const hostDropped = [...hostBrokers.values()].reduce((s, p) => s + upstreamDropped(p), 0);
    assert.ok(hostDropped <= a.counted, `host brokers dropped ${hostDropped}, counted ${a.counted}`);
    process.stderr.write(`# central restart: ${JSON.stringify(a)}, host brokers dropped ${hostDropped}\n`);
  });

  test("one host's link cut for 10 s and restored is bridged by its host broker, and every record is delivered or counted", async () => {
    const results = await phase('mh.link-cut', 14_000, async () => {
      const app1 = () => counterTotal(readRows(backendFiles.get('all')!), 'mh.link-cut', sourceOf('mh.link-cut', 'app1'));
      net!.cut('app1');
      // The fault itself is a fixed 10 s outage. Within it, once what was in flight has been
      // flushed (1 s flushes), nothing more of app1 arrives: the cut is real.
      await new Promise((r) => setTimeout(r, 3000));
      const early = app1();
      await new Promise((r) => setTimeout(r, 7000));
      const late = app1();
      net!.restore('app1');
      assert.equal(late, early, 'nothing of app1 arrives while its link is cut');
    });
    const a = await account('all', 'mh.link-cut', results);
    assert.equal(a.silentlyLost, 0, JSON.stringify(a));
    assert.ok(a.received > 0);
    process.stderr.write(`# link cut: ${JSON.stringify(a)}, app1 host broker dropped ${upstreamDropped(hostBrokers.get('app1')!)}\n`);
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
