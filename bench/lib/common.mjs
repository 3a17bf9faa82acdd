// Shared helpers for the benchmarks: free ports, child processes killed by PID,
// RSS sampling, bounded waits. Every loop here has a deadline.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { readFileSync, existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as zmq from 'zeromq';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = `${ROOT}bin/zibrato.js`;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A UDP port that was free a moment ago on 127.0.0.1. */
export function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const running = new Set();

/** A child process with its output kept line by line. */
export class Child {
  constructor(cmd, args, { label = cmd, cwd = ROOT, env } = {}) {
    this.label = label;
    this.lines = [];
    this.waiters = [];
    this.child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    running.add(this);
    let partial = '';
    const onData = (buf) => {
      const text = partial + buf.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop();
      for (const line of parts) {
        if (!line) continue;
        this.lines.push(line);
        if (this.lines.length > 5000) this.lines.splice(0, 1000);
        if (process.env.ZIBRATO_BENCH_VERBOSE) process.stderr.write(`[${label}] ${line}\n`);
        this.waiters = this.waiters.filter((w) => (w.re.test(line) ? (w.resolve(line), false) : true));
      }
    };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
      }),
    );
  }

  get alive() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first line (seen or future) matching `re`; rejects after `timeoutMs`. */
  waitFor(re, timeoutMs = 15_000) {
    const seen = this.lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label}: no line matching ${re} within ${timeoutMs} ms:\n${this.lines.slice(-20).join('\n')}`)), timeoutMs);
      this.waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  }

  /** Signals this child by PID and waits (bounded) for it to exit; SIGKILL after `timeoutMs`. */
  async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
    if (!this.alive) return this.exited;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
    const t = setTimeout(() => {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }

  /** Resident set size in bytes, read from /proc (0 once the process is gone). */
  rssBytes() {
    return rssOf(this.pid);
  }
}

export function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) of a process in seconds, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

/** CPU time of a process split into user and kernel (system) seconds. */
export function cpuSplitOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
  } catch {
    return { user: 0, system: 0 };
  }
}

/** Kills every child this process started, by PID. */
export async function stopAllChildren() {
  await Promise.all([...running].map((c) => c.stop('SIGKILL', 5000)));
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const c of running) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    process.exit(130);
  });
}

/** Runs `zibrato <args>` from the built package. */
export function zibrato(args, label) {
  return new Child(process.execPath, [BIN, ...args], { label: label ?? args.slice(0, 2).join(' ') });
}

/** Runs a Node script. */
export function nodeScript(script, args, label, nodeArgs = []) {
  return new Child(process.execPath, [...nodeArgs, script, ...args], { label: label ?? script });
}

/** Polls `check` until truthy or `timeoutMs` passes; returns the last value (possibly falsy). */
export async function pollUntil(check, timeoutMs, everyMs = 100) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v || Date.now() > until) return v;
    await sleep(everyMs);
  }
}

/**
 * A broker and one backend as child processes on fresh tcp ports.
 * @param {{ sink?: string, levels?: string, flush?: string, path?: string, extra?: string[] }} [options]
 */
export async function startPipeline({ sink = 'memory', levels = 'info+', flush = '1s', path, extra = [] } = {}) {
  const pub = `tcp://127.0.0.1:${await freeTcpPort()}`;
  const sub = `tcp://127.0.0.1:${await freeTcpPort()}`;
  const broker = zibrato(['broker', '--publish', pub, '--subscribe', sub, '--stats-interval', '0'], 'broker');
  await broker.waitFor(/broker up/);
  const args = ['backend', sink, '--name', 'bench', '--levels', levels, '--flush', flush, '--broker', sub, ...extra];
  if (path) args.push('--path', path);
  const backend = zibrato(args, `backend ${sink}`);
  await backend.waitFor(/subscribed/);
  return { pub, sub, broker, backend };
}

/** What the doc says about the machine. */
export function machine() {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1].trim();
  } catch {
    // not linux
  }
  let memTotal = '';
  if (existsSync('/proc/meminfo')) {
    const m = /MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) memTotal = `${Math.round(Number(m[1]) / 1024 / 1024)} GiB`;
  }
  let udpRmemDefaultBytes = null;
  try {
    udpRmemDefaultBytes = Number(readFileSync('/proc/sys/net/core/rmem_default', 'utf8').trim());
  } catch {
    // not linux
  }
  return { nproc: cpus().length, cpuModel, node: process.version, platform: `${process.platform} ${process.arch}`, memTotal, udpRmemDefaultBytes };
}

/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Prints one JSON result line that bench/run.js collects. */
export function emitResult(obj) {
  process.stdout.write(`@@result ${JSON.stringify(obj)}\n`);
}

export function isQuick() {
  return process.argv.includes('--quick') || process.env.ZIBRATO_BENCH_QUICK === '1';
}

/** Runs a benchmark's main: reports a crash, always stops its children, then exits. */
export function runBench(name, main) {
  main()
    .catch((err) => {
      process.stderr.write(`${name}: ${err.stack ?? err}\n`);
      process.exitCode = 1;
    })
    .finally(async () => {
      await stopAllChildren();
      setTimeout(() => process.exit(), 200).unref();
    });
}

/**
 * A raw ZeroMQ subscriber to `info|` at `endpoint` that counts records from
 * the batch headers (no decoding, so it is never the bottleneck) until
 * `target`: for the benchmarks that measure brokers (curve, chain).
 * `count.received` and `count.lastAt` (ms) move as batches arrive.
 */
export function countingSubscriber(endpoint, target, socketOptions = {}) {
  const sock = new zmq.Subscriber({ receiveHighWaterMark: 10_000, ...socketOptions });
  sock.connect(endpoint);
  sock.subscribe('info|');
  const count = { received: 0, lastAt: 0 };
  const done = (async () => {
    for await (const frames of sock) {
      const batch = frames[1];
      count.received += frames.length === 2 && batch && batch.length >= 8 ? batch.readUInt32LE(4) : 0;
      count.lastAt = Date.now();
      if (count.received >= target) break;
    }
  })();
  return {
    count,
    async close() {
      sock.close();
      await done.catch(() => undefined);
    },
  };
}
