/**
 * The write-ahead log against a real `zibrato backend` process killed with
 * SIGKILL (docs/delivery.md, "Write-ahead log"): what it logged is replayed by
 * the next backend on the same log, and what the log lost shows as `lost`.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodeMessagePayload, WalRecordType, WriteAheadLog } from '../../src/backend/wal/wal.ts';
import { Broker } from '../../src/broker/broker.ts';
import { Zibrato } from '../../src/index.ts';
import { decodeBatch } from '../../src/wire/batch-decoder.ts';
import { counterTotal, readRows } from '../helpers/jsonl.ts';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually, stopAll, zibrato, type Proc } from '../helpers/processes.ts';

const METRIC = 'wal.records';
const SOURCE = 'wal-publisher';
const dirs: string[] = [];
after(async () => {
  await stopAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Records in the messages a backend's log holds now, and the record count of its last message. */
function loggedRecords(dir: string): { records: number; last: number } {
  let records = 0;
  let last = 0;
  WriteAheadLog.read(dir, (type, payload) => {
    if (type !== WalRecordType.message) return;
    const frames = decodeMessagePayload(payload);
    if (frames?.length !== 2) return;
    last = decodeBatch(frames[1]!).recordCount;
    records += last;
  });
  return { records, last };
}

async function startBackend(subscribe: string, walDir: string, path: string, flush: string): Promise<Proc> {
  const p = zibrato(['backend', 'file', '--name', 'crash', '--levels', 'info', '--flush', flush, '--broker', subscribe, '--path', path, '--wal-dir', walDir], { label: `backend ${flush}` });
  await p.waitFor(/subscribed/);
  return p;
}

/**
 * Sends `n1` records to a backend that never flushes, kills it with SIGKILL
 * once its log holds them all, lets `damage` act on the log, starts a new
 * backend on it, sends `n2` more from the same publisher and returns what the
 * new backend's file counts.
 */
async function crashAndRestart(damage: (segmentPath: string) => void): Promise<{ received: number; lost: number; lastMessage: number; lines: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-wal-crash-'));
  dirs.push(dir);
  const walRoot = join(dir, 'wal');
  const walDir = join(walRoot, 'crash');
  const out = join(dir, 'metrics.jsonl');
  const ep = await tcpBrokerEndpoints();
  const broker = new Broker({ publishEndpoints: [ep.publish], subscribeEndpoints: [ep.subscribe], selfMetricsIntervalMs: 0 });
  await broker.start();
  const z = new Zibrato({ broker: ep.publish, source: SOURCE, log: () => undefined });
  try {
    const first = await startBackend(ep.subscribe, walRoot, out, '1h');
    assert.ok(await z.ready({ levels: ['info'], timeoutMs: 15_000 }));
    const h = z.counterHandle({ name: METRIC });
    const n1 = 5000;
    // In two messages at least, so a torn last one leaves records before it.
    for (const [n, total] of [[3000, 3000], [2000, n1]] as const) {
      for (let i = 0; i < n; i++) h.inc();
      z.flush();
      await eventually(() => loggedRecords(walDir).records === total, `${total} records in the log`);
    }
    const lastMessage = loggedRecords(walDir).last;
    await first.stop('SIGKILL');
    const segments = readdirSync(walDir).filter((f) => f.endsWith('.wal')).sort();
    damage(join(walDir, segments[segments.length - 1]!));

    const second = await startBackend(ep.subscribe, walRoot, out, '1s');
    assert.ok(await z.ready({ levels: ['info'], timeoutMs: 15_000 }));
    const n2 = 3000;
    for (let i = 0; i < n2; i++) h.inc();
    z.flush();
    const lost = () => readRows(out).filter((r) => r.name === 'zibrato.backend.lost' && r.tags.publisher === SOURCE).reduce((a, r) => a + (r.value ?? 0), 0);
    await eventually(() => counterTotal(readRows(out), METRIC) + lost() === n1 + n2, `${n1 + n2} records received or counted lost`);
    await second.stop('SIGTERM');
    return { received: counterTotal(readRows(out), METRIC), lost: lost(), lastMessage, lines: second.lines };
  } finally {
    await z.close({ timeoutMs: 1000 });
    await broker.stop();
  }
}

test('a backend killed with SIGKILL loses nothing it logged: the next backend on the log replays it before its first flush', async () => {
  const r = await crashAndRestart(() => undefined);
  assert.equal(r.received, 8000);
  assert.equal(r.lost, 0);
  assert.ok(r.lines.some((l) => /replayed \d+ messages \(5000 records\)/.test(l)), r.lines.join('\n'));
});

test('records past the last durable byte of the log (a torn tail) are counted as lost, and every record before them is replayed', async () => {
  // As if the machine stopped after the last fsync: the tail of the last record never reached the disk.
  const r = await crashAndRestart((path) => truncateSync(path, readFileSync(path).length - 3));
  assert.ok(r.lastMessage > 0 && r.lastMessage <= 2000);
  assert.equal(r.lost, r.lastMessage);
  assert.equal(r.received, 8000 - r.lastMessage);
  assert.ok(r.lines.some((l) => /skipped 1 corrupt or torn stretches/.test(l)), r.lines.join('\n'));
});
