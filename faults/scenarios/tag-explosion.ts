import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Zibrato } from '../../src/client/zibrato.js';
import { tcpBrokerEndpoints } from '../../test/helpers/ports.js';
import { Proc, ROOT, zibrato } from '../../test/helpers/processes.js';
import { silentlyLost, type Scenario } from '../scenario.js';

/** The metric every record of the scenario is counted under, one distinct `user` tag value per record. */
const NAME = 'fault.tags';

/** What the publisher process prints when it is done. */
interface PublisherReport {
  made: number;
  /** Calls per second of time spent inside `z.count` (the app's own cost, pacing excluded). */
  callsPerSecond: number;
  elapsedMs: number;
  peakRssMiB: number;
  sent: number;
  dropped: number;
  invalid: number;
  unsubscribed: number;
  buffered: number;
}

/**
 * The app: one client making `values` calls of `z.count({ name, tags: { user } })`,
 * each with a tag value never seen before, paced over `durationMs` in slices
 * that yield to the event loop (as an app does). Runs in a child process
 * started from this file, so its memory is the client's and the app's alone.
 */
async function publish(o: { endpoint: string; values: number; durationMs: number }): Promise<void> {
  const z = new Zibrato({ broker: o.endpoint, source: 'tag-explosion', log: (l) => process.stderr.write(`${l}\n`) });
  if (!(await z.ready({ levels: ['info'], timeoutMs: 15_000 }))) throw new Error('publisher: no subscriber for info');
  const t0 = performance.now();
  let made = 0;
  let busyMs = 0;
  let peak = process.memoryUsage().rss;
  const slice = Math.max(100, Math.round(o.values / (o.durationMs / 5)));
  while (made < o.values) {
    const due = Math.min(o.values, Math.ceil((o.values * (performance.now() - t0)) / o.durationMs), made + slice);
    const s = performance.now();
    for (; made < due; made++) z.count({ name: NAME, tags: { user: `user-${made}` } });
    busyMs += performance.now() - s;
    peak = Math.max(peak, process.memoryUsage().rss);
    await new Promise((r) => (made >= due ? setTimeout(r, 1) : setImmediate(r)));
  }
  const elapsedMs = performance.now() - t0;
  await z.close({ timeoutMs: 30_000 });
  const report: PublisherReport = { made, callsPerSecond: made / (busyMs / 1000), elapsedMs, peakRssMiB: peak / 2 ** 20, ...z.stats() };
  process.stdout.write(`done ${JSON.stringify(report)}\n`);
}

/** Sums of counter values in the file sink's output, read as a stream (a full run writes about a million rows). */
async function counterSums(path: string, names: string[]): Promise<Map<string, number>> {
  const sums = new Map(names.map((n) => [n, 0]));
  // A million one-record series write more rows than the file sink keeps in one
  // file (it rotates at 100 MiB to path.1, path.2 …): read every file.
  const files = [path];
  for (let i = 1; existsSync(`${path}.${i}`); i++) files.push(`${path}.${i}`);
  for (const file of files) {
    const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line) continue;
      const row = JSON.parse(line) as { type: string; name: string; value?: number };
      if (row.type === 'counter' && sums.has(row.name)) sums.set(row.name, sums.get(row.name)! + (row.value ?? 0));
    }
  }
  return sums;
}

const scenario: Scenario = {
  name: 'tag-explosion',
  description: 'One app counts 1,000,000 distinct tag values under one name in 60 s (quick: 50,000 in 5 s) through a real broker and file backend.',
  async run({ quick }) {
    const values = quick ? 50_000 : 1_000_000;
    const durationMs = quick ? 5_000 : 60_000;
    const dir = mkdtempSync(join(tmpdir(), 'zibrato-fault-tag-explosion-'));
    const path = join(dir, 'metrics.jsonl');
    const ep = await tcpBrokerEndpoints();
    const procs: Proc[] = [];
    try {
      const broker = zibrato(['broker', '--publish', ep.publish, '--subscribe', ep.subscribe], { label: 'broker' });
      procs.push(broker);
      await broker.waitFor(/broker up/);
      // The backend's default series cap (100,000): past it, records of new series are refused and counted as dropped.
      const backend = zibrato(['backend', 'file', '--levels', 'info+', '--flush', '1s', '--broker', ep.subscribe, '--path', path], { label: 'backend' });
      procs.push(backend);
      await backend.waitFor(/subscribed/);

      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        cwd: ROOT,
        env: { ...process.env, ZIBRATO_TAG_EXPLOSION_PUBLISHER: JSON.stringify({ endpoint: ep.publish, values, durationMs }) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const app = new Proc(child, 'publisher');
      procs.push(app);
      const line = await app.waitFor(/^done /, durationMs + 120_000);
      const pub = JSON.parse(line.slice('done '.length)) as PublisherReport;

      // The backend writes at each flush; its SIGTERM makes a final flush of what arrived.
      await backend.stop('SIGTERM', 60_000);
      await broker.stop('SIGTERM');
      const sums = await counterSums(path, [NAME, 'zibrato.backend.dropped', 'zibrato.backend.invalid', 'zibrato.backend.lost']);
      const received = sums.get(NAME)!;
      const counted = {
        'client.dropped': pub.dropped,
        'client.invalid': pub.invalid,
        'client.unsubscribed': pub.unsubscribed,
        'backend.dropped': sums.get('zibrato.backend.dropped')!,
        // Gaps in the publisher's sequence numbers (docs/delivery.md): batches lost between client and backend.
        'backend.lost': sums.get('zibrato.backend.lost')!,
      };
      const invalidMessages = sums.get('zibrato.backend.invalid')!;
      return {
        made: pub.made,
        received,
        counted,
        silentlyLost: silentlyLost(pub.made, received, counted),
        recoverMs: null,
        peakRssMiB: pub.peakRssMiB,
        notes:
          `app: ${Math.round(pub.callsPerSecond).toLocaleString('en-US')} calls/s inside z.count, peak RSS ${pub.peakRssMiB.toFixed(0)} MiB (the publisher process); ` +
          `backend --max-series 100000 (default), so records of series past it are refused and counted as backend.dropped` +
          (invalidMessages > 0 ? `; backend invalid messages ${invalidMessages}` : ''),
      };
    } finally {
      await Promise.all(procs.map((p) => p.stop('SIGKILL', 5_000)));
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default scenario;

// Started as the publisher child (see run): the app side of the scenario.
const publisherArgs = process.env.ZIBRATO_TAG_EXPLOSION_PUBLISHER;
if (publisherArgs !== undefined) {
  publish(JSON.parse(publisherArgs) as { endpoint: string; values: number; durationMs: number }).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`publisher: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
