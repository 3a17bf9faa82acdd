// The two systems the end-to-end benchmarks drive with one harness:
//   zibrato: publisher processes → `zibrato broker` → `zibrato backend file`
//   statsd:  hot-shots publisher processes → UDP → the etsy statsd daemon with a counting backend
// Both expose start(), trial(), backendPid and stop(); every child is killed by PID.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Child, freeTcpPort, freeUdpPort, nodeScript, pollUntil, ROOT, sleep, startPipeline } from './common.mjs';

export const ZIB_PUBLISHER = join(ROOT, 'bench/procs/zibrato-publisher.mjs');
const STATSD_PUBLISHER = join(ROOT, 'bench/procs/statsd-publisher.mjs');
const STATSD_BACKEND = join(ROOT, 'bench/procs/statsd-count-backend.cjs');
export const STATSD_BIN = join(dirname(createRequire(import.meta.url).resolve('statsd/package.json')), 'stats.js');

function jsonLines(file) {
  if (!existsSync(file)) return [];
  const out = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a line being written
    }
  }
  return out;
}

/** Runs `count` publisher processes that start together and returns their JSON reports. */
export async function runPublishers(script, count, options, label) {
  const startAt = Date.now() + 1500;
  const procs = [];
  for (let i = 0; i < count; i++) procs.push(nodeScript(script, [JSON.stringify({ ...options, startAt, seed: (options.seed ?? 1) + i, rate: options.rate / count })], `${label} ${i}`));
  const reports = [];
  for (const p of procs) {
    const { code } = await Promise.race([p.exited, sleep(options.durationMs + 60_000).then(() => ({ code: 'timeout' }))]);
    if (code !== 0) {
      await p.stop('SIGKILL');
      throw new Error(`${p.label} exited ${code}:\n${p.lines.slice(-10).join('\n')}`);
    }
    reports.push(JSON.parse(p.lines.at(-1)));
  }
  const sum = (k) => reports.reduce((a, r) => a + (r[k] ?? 0), 0);
  return { made: sum('made'), sent: sum('sent'), dropped: sum('dropped'), invalid: sum('invalid'), achievedRate: sum('achievedRate'), errors: sum('errors'), publisherCpuMs: sum('cpuMs'), publishers: count };
}

export class ZibratoSystem {
  name = 'zibrato';

  constructor({ flush = '500ms', extra = [] } = {}) {
    this.flush = flush;
    /** More backend arguments (e.g. `--wal-dir` for bench/wal.mjs). */
    this.extra = extra;
    this.dir = mkdtempSync(join(tmpdir(), 'zibrato-bench-e2e-'));
    this.file = join(this.dir, 'metrics.jsonl');
  }

  async start() {
    this.pipe = await startPipeline({ sink: 'file', levels: 'info', flush: this.flush, path: this.file, extra: this.extra });
    this.endpoint = this.pipe.pub;
  }

  get backendPid() {
    return this.pipe.backend.pid;
  }

  /** Records of counter `name` that reached the backend (summed over flushes). */
  received(name) {
    let n = 0;
    for (const r of jsonLines(this.file)) if (r.name === name && r.type === 'counter') n += r.value;
    return n;
  }

  /** What the backend reports it refused (series limit) or could not parse. */
  backendLosses() {
    let dropped = 0;
    let invalid = 0;
    for (const r of jsonLines(this.file)) {
      if (r.name === 'zibrato.backend.dropped') dropped += r.value;
      if (r.name === 'zibrato.backend.invalid') invalid += r.value;
    }
    return { dropped, invalid };
  }

  timerRows(name) {
    return jsonLines(this.file).filter((r) => r.name === name && r.type === 'timer');
  }

  /** Publishes `rate` counter increments per second for `durationMs` and counts what arrived. */
  async trial({ name, rate, durationMs, publishers = 2, graceMs = 3000, kind = 'counter', extra = {} }) {
    const pub = await runPublishers(ZIB_PUBLISHER, publishers, { endpoint: this.endpoint, name, rate, durationMs, kind, ...extra }, 'zib-pub');
    const endedAt = Date.now();
    let received = 0;
    if (kind === 'counter') {
      await pollUntil(() => (received = this.received(name)) >= pub.made, graceMs, 100);
    }
    const deliveredMs = received >= pub.made ? Date.now() - endedAt : null;
    return { ...pub, received, lost: pub.made - received, countedLoss: pub.dropped, deliveredMs };
  }

  async stop() {
    await this.pipe?.backend.stop('SIGTERM');
    await this.pipe?.broker.stop('SIGTERM');
  }
}

export class StatsdSystem {
  name = 'statsd';

  constructor({ flushIntervalMs = 500, maxBufferSize = 0 } = {}) {
    this.flushIntervalMs = flushIntervalMs;
    this.maxBufferSize = maxBufferSize;
    this.dir = mkdtempSync(join(tmpdir(), 'zibrato-bench-statsd-'));
    this.file = join(this.dir, 'flushes.jsonl');
  }

  async start() {
    this.port = await freeUdpPort();
    const mgmtPort = await freeTcpPort();
    const config = {
      servers: [{ server: './servers/udp', address: '127.0.0.1', port: this.port }],
      mgmt_address: '127.0.0.1',
      mgmt_port: mgmtPort,
      flushInterval: this.flushIntervalMs,
      backends: [STATSD_BACKEND],
      benchOutFile: this.file,
      deleteIdleStats: true,
    };
    const configFile = join(this.dir, 'config.js');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    this.proc = new Child(process.execPath, [STATSD_BIN, configFile], { label: 'statsd', cwd: this.dir });
    const up = await pollUntil(() => tcpOpen(mgmtPort), 15_000, 100);
    if (!up) throw new Error(`statsd did not start:\n${this.proc.lines.join('\n')}`);
  }

  get backendPid() {
    return this.proc.pid;
  }

  received(name) {
    let n = 0;
    for (const f of jsonLines(this.file)) n += f.counters?.[name] ?? 0;
    return n;
  }

  timerSamples(name) {
    let n = 0;
    for (const f of jsonLines(this.file)) n += f.timers?.[name] ?? 0;
    return n;
  }

  async trial({ name, rate, durationMs, publishers = 2, graceMs = 3000, kind = 'counter' }) {
    const pub = await runPublishers(STATSD_PUBLISHER, publishers, { port: this.port, name, rate, durationMs, kind, maxBufferSize: this.maxBufferSize }, 'statsd-pub');
    const endedAt = Date.now();
    let received = 0;
    if (kind === 'counter') {
      // UDP loses silently: wait until everything arrived, or the count stops moving for two flushes.
      let last = -1;
      let stableSince = Date.now();
      await pollUntil(() => {
        received = this.received(name);
        if (received !== last) {
          last = received;
          stableSince = Date.now();
        }
        return received >= pub.made || Date.now() - stableSince > 2.5 * this.flushIntervalMs;
      }, graceMs + 2000, 100);
    }
    const deliveredMs = received >= pub.made ? Date.now() - endedAt : null;
    // statsd counts nothing it never received: UDP drops are visible only in the kernel's RcvbufErrors.
    return { ...pub, received, lost: pub.made - received, countedLoss: 0, deliveredMs };
  }

  async stop() {
    await this.proc?.stop('SIGTERM');
  }
}

function tcpOpen(port) {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** UDP receive-buffer drops counted by the kernel (all sockets on the machine). */
export function udpRcvbufErrors() {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const head = lines[0].split(/\s+/);
    const vals = lines[1].split(/\s+/);
    return Number(vals[head.indexOf('RcvbufErrors')]);
  } catch {
    return NaN;
  }
}
