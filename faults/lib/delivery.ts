/**
 * Shared pieces of the delivery fault scenarios (broker kill, outages, paused
 * subscriber, bad frames): real `zibrato broker` / `zibrato backend file`
 * processes on free ports, a rate-limited publisher process, and the
 * accounting read back from the backends' JSONL files.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { silentlyLost, type ScenarioResult } from '../scenario.ts';
import { counterTotal, readRows } from '../../test/helpers/jsonl.ts';
import { tcpBrokerEndpoints } from '../../test/helpers/ports.ts';
import { eventually, node, ROOT, zibrato, type Proc } from '../../test/helpers/processes.ts';

export { eventually };

/** The counter every delivery scenario's publisher increments. */
export const METRIC = 'fault.records';
/** The publisher's source (rate-publisher.mjs's default): the `publisher` tag of its `zibrato.backend.lost`. */
const PUBLISHER_SOURCE = 'fault-publisher';

/** A scratch directory and fresh broker endpoints. */
export async function setup(label: string): Promise<{ dir: string; publish: string; subscribe: string }> {
  return { dir: mkdtempSync(join(tmpdir(), `zibrato-fault-${label}-`)), ...(await tcpBrokerEndpoints()) };
}

/** A broker on `ep`; `extraArgs` such as `--upstream <central publish endpoint>` make it a host broker. */
export async function startBroker(ep: { publish: string; subscribe: string }, label = 'broker', extraArgs: string[] = []): Promise<Proc> {
  const p = zibrato(['broker', '--publish', ep.publish, '--subscribe', ep.subscribe, ...extraArgs], { label });
  await p.waitFor(/broker up/);
  return p;
}

/**
 * A file backend subscribed to info; it may be started while the broker is
 * away (it keeps reconnecting). It keeps its publishers' sequence positions in
 * the file's directory, so a restart under the same name counts what it missed.
 */
export async function startBackend(ep: { subscribe: string }, path: string, name: string, extraArgs: string[] = [], label = name): Promise<Proc> {
  const env = { ZIBRATO_BACKEND_STATE_DIR: dirname(path) };
  const p = zibrato(['backend', 'file', '--name', name, '--levels', 'info', '--flush', '1s', '--broker', ep.subscribe, '--path', path, ...extraArgs], { label, env });
  await p.waitFor(/subscribed/);
  return p;
}

/** `series` > 1 spreads the increments over that many series of the metric (for sharded backends). */
export function startPublisher(ep: { publish: string }, rate: number, durationMs: number, flushMs?: number, series = 1): Proc {
  return node(join(ROOT, 'faults/lib/rate-publisher.mjs'), [ep.publish, METRIC, String(rate), String(durationMs), flushMs === undefined ? '' : String(flushMs), '', String(series)], 'publisher');
}

export interface PublisherResult {
  made: number;
  /** Calls made while the client had the level off (nobody subscribed): not records, counted nowhere by the product. */
  madeWhileOff: number;
  stats: { sent: number; dropped: number; unsubscribed: number; buffered: number; invalid: number };
}

/** Waits for the publisher's final line. */
export async function publisherResult(p: Proc, timeoutMs: number): Promise<PublisherResult> {
  const line = await p.waitFor(/^done /, timeoutMs);
  await p.exited;
  return JSON.parse(line.slice('done '.length)) as PublisherResult;
}

/** Records of the scenario's metric in a backend file, and what that backend counted as lost / invalid. */
export function backendCounts(path: string): { received: number; lost: number; invalid: number; dropped: number } {
  const rows = readRows(path);
  return {
    received: counterTotal(rows, METRIC),
    // Only the scenario publisher's gaps: the broker's own self-metric batches are a publisher too.
    lost: rows.filter((r) => r.name === 'zibrato.backend.lost' && r.tags.publisher === PUBLISHER_SOURCE).reduce((a, r) => a + (r.value ?? 0), 0),
    invalid: counterTotal(rows, 'zibrato.backend.invalid'),
    dropped: counterTotal(rows, 'zibrato.backend.dropped'),
  };
}

/** Waits until `received + counted` of a backend stops changing (everything in flight has landed). */
export async function settled(read: () => number, quietMs = 2500, timeoutMs = 60_000): Promise<number> {
  let last = -1;
  let since = Date.now();
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const v = read();
    if (v !== last) {
      last = v;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last;
}

/** Samples the resident memory of processes until stopped; `peakMiB` is the largest single-process figure. */
export class RssSampler {
  peakMiB = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pids: () => number[], everyMs = 200) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }
  sample(): void {
    for (const pid of this.pids()) {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) this.peakMiB = Math.max(this.peakMiB, Number(m[1]) / 1024);
      } catch {
        // the process has exited
      }
    }
  }
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return this.peakMiB;
  }
}

/** Milliseconds from `since` until `read()` grows past `from` (null if it never does within the timeout). */
export async function recovery(read: () => number, from: number, since: number, timeoutMs = 60_000): Promise<number | null> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (read() > from) return Date.now() - since;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

/** What every delivery scenario reports, minus its own fields. */
export interface Accounting {
  result: PublisherResult;
  made: number;
  received: number;
  counted: Record<string, number>;
  silentlyLost: number;
  peakRssMiB: number;
  /** Per backend file, in the order given. */
  backends: ReturnType<typeof backendCounts>[];
}

/**
 * The end of a scenario: waits for the publisher's result, lets every backend
 * file settle (received + lost stop changing), stops `procs` with SIGTERM in
 * order (final flushes), stops the RSS sampler and accounts. `made` counts one
 * copy per backend file, since each backend is owed every record.
 */
export async function finish(pub: Proc, publisherTimeoutMs: number, files: string[], procs: Proc[], rss: RssSampler): Promise<Accounting> {
  const result = await publisherResult(pub, publisherTimeoutMs);
  for (const f of files) {
    await settled(() => {
      const x = backendCounts(f);
      return x.received + x.lost + x.invalid;
    });
  }
  for (const p of procs) await p.stop('SIGTERM');
  const peakRssMiB = rss.stop();
  const backends = files.map(backendCounts);
  const copies = files.length;
  const made = copies * result.made;
  const received = backends.reduce((a, b) => a + b.received, 0);
  const counted = {
    'client.dropped': copies * result.stats.dropped,
    'client.unsubscribed': copies * result.stats.unsubscribed,
    'backend.lost': backends.reduce((a, b) => a + b.lost, 0),
  };
  return { result, made, received, counted, silentlyLost: silentlyLost(made, received, counted), peakRssMiB, backends };
}

/** The scenario result from an {@link Accounting}. */
export function toResult(a: Accounting, recoverMs: number | null, notes: string): ScenarioResult {
  return { made: a.made, received: a.received, counted: a.counted, silentlyLost: a.silentlyLost, recoverMs, peakRssMiB: a.peakRssMiB, notes };
}
