/**
 * SIGTERM to `zibrato up` while an app publishes continuously. The app stops
 * producing when the signal is sent (as when a host is shut down), but what it
 * made up to then is still in its buffer, on the wire, in the broker and in
 * the backend's queue. up stops the broker first (it has every publisher
 * confirm its last send, forwards it, closes, and exits once ZeroMQ has
 * written the last batches out), then the backend (it drains until 200 ms of
 * quiet, then makes a final flush): every record made must be in the file or
 * counted (client dropped/unsubscribed/invalid, backend dropped/lost).
 * `ZIBRATO_FAULT_FLUSH_MS` sets the app's flush interval (default: the
 * client's); the race this catches grew with it. The notes give each hop's
 * count (client sent, broker forwarded, backend received), so a loss shows
 * where it happened.
 *
 * The backend is paused (SIGSTOP) for the last {@link PAUSE_MS} of the load
 * and resumed once the broker has forwarded its last batch, so it meets up's
 * stop with a backlog, as a backend behind under load does: part of it still
 * in the broker's ZeroMQ queue, part in the kernel's buffers once the broker
 * has exited. The stop must not discard what is still on its way to it.
 * (Resumed only after the broker's exit, it would read nothing for the whole
 * of the broker's final linger: a subscriber that hung, the limit
 * docs/delivery.md states.) `ZIBRATO_FAULT_PAUSE_BACKEND_MS=0` turns the
 * pause off.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentlyLost, type Scenario, type ScenarioResult } from '../scenario.ts';
import { tcpBrokerEndpoints } from '../../test/helpers/ports.ts';
import { eventually, Proc, ROOT, zibrato } from '../../test/helpers/processes.ts';
import { counterTotal, readRows } from '../../test/helpers/jsonl.ts';

const PUBLISHER = join(ROOT, 'test/fixtures/interactive-publisher.mjs');
/** Records per `send` command and commands per second: about 50,000 records/s. */
const CHUNK = 1000;
const EVERY_MS = 20;
/** How long before the signal the backend is paused: a backlog of about 25,000 records. */
const PAUSE_MS = Number(process.env.ZIBRATO_FAULT_PAUSE_BACKEND_MS ?? 500);

interface Stats {
  sent: number;
  dropped: number;
  invalid: number;
  buffered: number;
  unsubscribed: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

const fmt = (n: number) => n.toLocaleString('en-US');

/**
 * What each hop says it passed on, read from up's log: the broker's last
 * line ("broker stopping: forwarded N records"), whether its drain ended on
 * its timeout instead of on every publisher's answer, and the backend's
 * final line. So a loss shows the hop it happened after.
 */
function perHop(lines: readonly string[], backendStopped: string): { brokerForwarded: number; drainNote: string; backendReceived: number; backendLost: number } {
  const broker = lines.find((l) => /\[broker\].*broker stopping: forwarded \d+/.test(l));
  const timedOut = lines.find((l) => /\[broker\].*stopped waiting after/.test(l));
  return {
    brokerForwarded: Number(/forwarded (\d+)/.exec(broker ?? '')?.[1] ?? NaN),
    drainNote: timedOut ? ` after its drain timed out (${timedOut.replace(/^.*stopped waiting/, 'stopped waiting')})` : '',
    backendReceived: Number(/received (\d+)/.exec(backendStopped)?.[1] ?? NaN),
    backendLost: Number(/lost (\d+)/.exec(backendStopped)?.[1] ?? 0),
  };
}

const scenario: Scenario = {
  name: 'up-sigterm-under-load',
  description: 'SIGTERM to zibrato up while an app publishes ~50,000 records/s; the app stops producing at the signal',
  async run({ quick }): Promise<ScenarioResult> {
    const loadMs = quick ? 2_000 : 15_000;
    const dir = mkdtempSync(join(tmpdir(), 'zibrato-fault-up-'));
    const ep = await tcpBrokerEndpoints();
    const file = join(dir, 'metrics.jsonl');
    const config = join(dir, 'zibrato.config.yaml');
    writeFileSync(config, `broker:\n  publish: [${ep.publish}]\n  subscribe: [${ep.subscribe}]\nbackends:\n  - name: file\n    sink: file\n    levels: info+\n    flush: 1s\n    options:\n      path: ${file}\n`);
    const up = zibrato(['up', '--config', config], { cwd: dir, label: 'up' });
    const pub = new Proc(spawn(process.execPath, [PUBLISHER, ep.publish, ...(process.env.ZIBRATO_FAULT_FLUSH_MS ? [process.env.ZIBRATO_FAULT_FLUSH_MS] : [])], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] }), 'publisher');
    let peak = 0;
    const pids: (number | undefined)[] = [up.pid, pub.pid];
    const sampler = setInterval(() => {
      peak = Math.max(peak, pids.reduce((s: number, p) => s + rssMiB(p), 0));
    }, 200);
    try {
      for (const name of ['broker', 'backend:file']) pids.push(Number(/pid (\d+)/.exec(await up.waitFor(new RegExp(`started ${name} \\(pid (\\d+)\\)`)))![1]));
      await up.waitFor(/\[backend:file\].*subscribed/);
      await pub.waitFor(/^ready$/);
      // The client learns the subscriptions from the broker (a just-started broker settles 3 s first);
      // wait until one record has gone out, so the load meets a live client and the stop meets the load.
      pub.child.stdin!.write('send load 1\n');
      let made = 1;
      await eventually(async () => {
        const since = pub.lines.length;
        pub.child.stdin!.write('stats\n');
        const line = await pub.waitFor(/^stats /, 5_000, since);
        return (JSON.parse(line.slice('stats '.length)) as Stats).sent >= 1;
      }, 'the publisher to send its first record', 30_000);

      const until = Date.now() + loadMs;
      const backendPid = pids[3]!;
      let paused = false;
      while (Date.now() < until) {
        if (!paused && PAUSE_MS > 0 && Date.now() >= until - PAUSE_MS) {
          process.kill(backendPid, 'SIGSTOP');
          paused = true;
        }
        pub.child.stdin!.write(`send load ${CHUNK}\n`);
        made += CHUNK;
        await new Promise((r) => setTimeout(r, EVERY_MS));
      }
      // The fault: SIGTERM to up, under load. The app stops producing at the same moment.
      up.child.kill('SIGTERM');
      pub.child.stdin!.write('close\n');
      if (paused) {
        // up stops the backend once the broker has gone; it finds the stop and its backlog together.
        await up.waitFor(/\[broker\].*broker stopping: forwarded/, 30_000);
        process.kill(backendPid, 'SIGCONT');
        paused = false;
      }
      const closed = await pub.waitFor(/^closed /, 30_000);
      const stats = JSON.parse(closed.slice('closed '.length)) as Stats;
      const { code } = await up.exited;
      if (code !== 0) throw new Error(`zibrato up exited with ${code}:\n${up.lines.slice(-20).join('\n')}`);
      const stopped = up.lines.find((l) => /\[backend:file\].*stopped after a final flush/.test(l));
      if (!stopped) throw new Error(`the backend made no final flush:\n${up.lines.slice(-20).join('\n')}`);
      const backendDropped = Number(/dropped (\d+)/.exec(stopped)?.[1] ?? 0);
      const received = counterTotal(readRows(file), 'load');
      const hops = perHop(up.lines, stopped);
      const counted = { 'client.dropped': stats.dropped, 'client.unsubscribed': stats.unsubscribed, 'client.invalid': stats.invalid, 'backend.dropped': backendDropped, 'backend.lost': hops.backendLost };
      return {
        made,
        received,
        counted,
        silentlyLost: silentlyLost(made, received, counted),
        recoverMs: null,
        peakRssMiB: peak,
        notes: `${Math.round(loadMs / 1000)} s of load before the signal${PAUSE_MS > 0 ? `, the backend paused for the last ${PAUSE_MS} ms of it until the broker had forwarded its last batch` : ''}; per hop: the client handed ${fmt(stats.sent)} records to ZeroMQ, the broker forwarded ${fmt(hops.brokerForwarded)} (its own self-metrics included)${hops.drainNote}, the backend received ${fmt(hops.backendReceived)} (lost ${fmt(hops.backendLost)}); RSS of up, broker, backend and the publisher`,
      };
    } finally {
      clearInterval(sampler);
      if (pids[3] !== undefined && alive(pids[3])) process.kill(pids[3], 'SIGCONT');
      pub.child.kill('SIGKILL');
      await up.stop('SIGKILL', 5_000);
    }
  },
};

export default scenario;
