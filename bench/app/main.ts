// The observer effect on a real app (issue 10): one fastify service, instrumented
// five ways with the same measurements per request, loaded by autocannon in a
// separate process; CPU per request and latency at a fixed rate, requests per
// second at saturation, and whether each system counted every request.
//
// Run by bench/run.js as: node --import tsx bench/app/main.ts [--quick]
// Alone:                  npm run build && node bench/run.js --only app
//
// Noise, and how the design cancels it. The machine's load drifts over seconds, and
// two identical uninstrumented services measured tens of seconds apart in fresh
// processes differed by up to 27 % in CPU per request. So every variant's service
// is started at once (a "set" of processes) and warmed; those not being measured
// are paused (SIGSTOP: they use no CPU and touch no cache); then many short windows
// run round-robin, in an order shuffled per cycle: resume one service (SIGCONT),
// let it settle (the export, scrape or flush it owes from its pause, waited on as a
// condition), one fixed-rate window, one short saturation window, pause it again.
// Each window is compared with (a)'s value at the same moment, interpolated between
// the (a) windows just before and after it in the same set (paired), and the
// report takes medians over the many pairs; latency percentiles pool every response
// of a variant. Several sets sample what a process brings of its own (heap layout,
// JIT), and the report says whether the spread is between windows or between sets.
// (a′) (none2) is identical to (a): how far the two disagree is the noise floor.
//
// The service runs alone on one CPU (taskset), the load generator and every peer
// on the other(s) (bench/app/cpu.ts). What a system moves out of the service
// (Zibrato's broker and backend, Prometheus, the statsd daemon, the OTLP receiver)
// is read from those processes over the same fixed-rate window and reported
// beside the service's own CPU, so the pinning hides nothing. Every peer is
// started here on free 127.0.0.1 ports and stopped by PID.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { BIN, Child, emitResult, freeTcpPort, isQuick, median, pollUntil, ROOT, runBench, sleep } from '../lib/common.mjs';
import { StatsdSystem } from '../lib/systems.mjs';
import { mulberry32 } from '../lib/values.mjs';
import { counterTotal, readRows } from '../../test/helpers/jsonl.js';
import { PrometheusPeer } from '../../test/helpers/peers/prometheus.js';
import { summariseProfile, type ProfileSummary } from './profile.js';
import { cpuBusyMs, pinService, processesCpuNs, threadCpuNs, type Pinning, type ThreadCpuNs } from './cpu.js';
import { METRIC, VARIANTS, type PeerEndpoints, type Variant } from './instrumentations.js';

const quick = isQuick();

/** Sizes of one run. The fixed rate is the 2,000/s: well below saturation for every variant here (~15–20 k/s). */
const CONFIG = {
  // Sets of service processes (one per variant each), one after the other: a process's own luck
  // (heap layout, JIT) is sampled this many times.
  sets: quick ? 1 : 3,
  // Cycles per set: each cycle measures every variant once, in an order shuffled per cycle, so
  // every window has (a)'s within a few windows. Every variant is paused about as long between
  // its windows: a first design that put an (a) window beside every other window kept (a)
  // paused 2 s and the rest 20 s, and the identical (a′) came out 55 % dearer in CPU.
  cycles: quick ? 5 : 8,
  // Cycles run first and not measured: the JIT and the heap settle (after the 10,000-request walk
  // alone, a window's compiler and GC threads still took up to half of its CPU).
  warmupCycles: 1,
  fixedRate: 2000,
  // One fixed-rate window: 1 s, a whole number of the 1 s export, scrape and statsd flush
  // intervals, so every window holds the same number of them whatever their phase. Short,
  // so that (a)'s windows are close in time; the many pairs make up for each one's noise.
  fixedRequests: 2000,
  // Saturation windows are sized in time: the first sends this many requests, later ones
  // about saturationSeconds' worth at the rate the variant reached before (within these bounds).
  saturationRequests: 8000,
  saturationSeconds: 0.5,
  saturationRequestsMin: 3000,
  // Walks every user id once before anything is measured, so series creation is not timed as
  // steady state. The quick run too: with half of them, every measured request met a user the
  // fresh service had never seen and paid for a new series in all four libraries.
  warmupRequests: 10_000,
  users: 10_000,
  connections: 10,
  saturationConnections: 20,
  // The /db route's "database" wait.
  dbWaitMs: 1,
  // After SIGCONT a service first does what it owes from its pause (an overdue OTel export, the
  // Prometheus scrapes that queued on its socket, a Zibrato flush): a window starts once its CPU
  // has stayed under settleBusyShare of one core for settleQuietMs (and, for OTel, its overdue
  // export arrived), bounded by settleMaxMs. The report gives the settle times measured.
  settleQuietMs: 100,
  settleBusyShare: 0.03,
  settleMaxMs: 3000,
  // The shuffle of each cycle's order is seeded, so a run can be repeated exactly.
  seed: Number(process.env.ZIBRATO_BENCH_APP_SEED ?? 1),
  // How long a system may take to report the last requests once the load ended (a flush or scrape is 1 s everywhere).
  reportWithinMs: 8000,
  // The profile round: one fresh Zibrato service, one long fixed-rate window (the profiler costs CPU itself).
  profileRequests: 16_000,
  // The quick run (CI) skips the profile round to stay short; ZIBRATO_BENCH_APP_PROFILE=1 forces it.
  profile: !quick || process.env.ZIBRATO_BENCH_APP_PROFILE === '1',
  // The service on a CPU of its own, everything else on the other(s); ZIBRATO_BENCH_APP_PIN=0 turns it off.
  pin: process.env.ZIBRATO_BENCH_APP_PIN !== '0',
};

const LOAD = join(ROOT, 'bench/app/load.mjs');
const SERVICE = join(ROOT, 'bench/app/service.ts');

interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
  mean: number;
  samples: number;
}

interface LoadResult {
  completed: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  rps: number;
  latencyMs: Percentiles;
  nextUser: number;
}

/** One window of one variant: a fixed-rate run, then a saturation run, between a resume and a pause. */
interface WindowResult {
  variant: Variant;
  set: number;
  cycle: number;
  /** Place in its cycle's (shuffled) order, from 0. */
  position: number;
  /** Middle of the fixed-rate window and of the saturation window, ms since the run started (pairing interpolates on these). */
  fixedAtMs: number;
  saturationAtMs: number;
  /** How long the service took to settle after SIGCONT, ms. */
  settleMs: number;
  /** How long it took to go quiet after the saturation run, before the pause, ms. */
  quietBeforePauseMs: number;
  /** Service CPU (every thread, from the scheduler's ns counters) per request at the fixed rate, µs. */
  cpuUsPerRequest: number;
  /** The same by thread group ({@link threadCpuNs}). */
  threadCpuUsPerRequest: ThreadCpuNs;
  /**
   * CPU per request (µs) of each variant's peer processes over this window's
   * fixed-rate run, by the variant they serve (all of them are read in
   * every window: the other variants' windows give their idle cost).
   */
  peerCpuUsPerRequest: Record<PeerGroup, number>;
  /** The fixed-rate run's length, s. */
  fixedSeconds: number;
  fixedRps: number;
  latencyMs: Percentiles;
  saturationRps: number;
  /**
   * Requests completed at saturation per second of the service's time on CPU: the throughput
   * the service would reach with its CPU to itself. Other work on the service's CPU (the
   * machine is shared) lowers requests/s but not this.
   */
  saturationPerCpuSecond: number;
  /**
   * Over the fixed-rate run, the share of the service's CPU that other processes used (busy
   * time less the service's own) and that the hypervisor stole: the shared machine's noise,
   * which pinning cannot keep out (10 ms ticks). Undefined when unpinned.
   */
  othersOnServiceCpu?: { busyShare: number; stealShare: number };
  /** Requests autocannon completed in this window (fixed rate and saturation). */
  completed: number;
  errors: number;
}

/** The load generator: one process (bench/app/load.mjs --serve) for the whole run, one command per run. */
class LoadServer {
  private readonly c = new Child(process.execPath, [LOAD, '--serve'], { label: 'autocannon', stdin: true });
  private nextId = 1;
  /** The user id the next request starts from: every run walks on from the last. */
  userOffset = 0;

  /** One run, bounded in time; its latencies are also pooled under `pools`. */
  async run(url: string, o: { rate: number; amount: number; connections: number; pools?: string[] }): Promise<LoadResult> {
    const id = this.nextId++;
    const maxSeconds = Math.max(30, (o.rate ? o.amount / o.rate : o.amount / 1000) * 3);
    (this.c.child as { stdin: Writable }).stdin.write(`${JSON.stringify({ id, url, users: CONFIG.users, userOffset: this.userOffset, ...o })}\n`);
    const line = await this.c.waitFor(new RegExp(`^@@load \\{"id":${id},`), maxSeconds * 1000).catch(async (err: Error) => {
      await this.c.stop('SIGKILL');
      throw new Error(`autocannon did not finish ${o.amount} requests within ${maxSeconds} s: ${err.message}`);
    });
    const r = JSON.parse(line.slice(7)) as LoadResult & { failed?: string };
    if (r.failed) throw new Error(`autocannon failed: ${r.failed}`);
    this.userOffset = r.nextUser;
    return r;
  }

  /** Percentiles over every response each pool gathered. */
  async pools(): Promise<Record<string, Percentiles>> {
    (this.c.child as { stdin: Writable }).stdin.write('{"summary":true}\n');
    const line = await this.c.waitFor(/^@@pools /, 30_000);
    return JSON.parse(line.slice(8)) as Record<string, Percentiles>;
  }

  async stop(): Promise<void> {
    (this.c.child as { stdin: Writable }).stdin.end();
    await this.c.stop('SIGTERM', 5000);
  }
}

/** A service process of one variant: started pinned, paused and resumed by signal, stopped by PID. */
class Service {
  private constructor(
    readonly variant: Variant,
    readonly instanceId: string,
    readonly proc: Child,
    readonly base: string,
  ) {}

  static async start(peers: Peers, prefix: string[], variant: Variant, instanceId: string, nodeArgs: string[] = []): Promise<Service> {
    const port = variant === 'prom' ? peers.promServicePort : 0;
    const cfg = { variant, port, peers: peers.endpoints(variant, instanceId), dbWaitMs: CONFIG.dbWaitMs };
    // taskset execs node in place, so the child's PID is the service's.
    const [cmd, ...pre] = [...prefix, process.execPath];
    const proc = new Child(cmd!, [...pre, ...nodeArgs, '--import', 'tsx', SERVICE, JSON.stringify(cfg)], { label: `service ${instanceId}` });
    try {
      const listening = await proc.waitFor(/@@listening/, 60_000);
      return new Service(variant, instanceId, proc, `http://127.0.0.1:${listening.split(' ')[1]}`);
    } catch (err) {
      await proc.stop('SIGKILL');
      throw err;
    }
  }

  get pid(): number {
    return this.proc.pid as number;
  }

  /** SIGSTOP: the process stays as it is, using no CPU, until {@link resume}. */
  pause(): void {
    process.kill(this.pid, 'SIGSTOP');
  }

  resume(): void {
    process.kill(this.pid, 'SIGCONT');
  }

  cpuNs(): ThreadCpuNs {
    return threadCpuNs(this.pid);
  }

  /**
   * Waits until the service's CPU has stayed under {@link CONFIG.settleBusyShare} of a core for
   * {@link CONFIG.settleQuietMs} (and `ready()` says yes), bounded by settleMaxMs; returns how long that took, ms.
   */
  async quiet(ready: () => boolean = () => true): Promise<number> {
    const startedAt = performance.now();
    const total = (t: ThreadCpuNs) => t.main + t.zmq + t.other;
    let quietFrom = startedAt;
    let lastNs = total(this.cpuNs());
    let lastAt = startedAt;
    await pollUntil(() => {
      const now = performance.now();
      const ns = total(this.cpuNs());
      const busy = (ns - lastNs) / 1e6 / Math.max(1e-3, now - lastAt);
      if (busy > CONFIG.settleBusyShare) quietFrom = now;
      lastNs = ns;
      lastAt = now;
      return now - quietFrom >= CONFIG.settleQuietMs && ready();
    }, CONFIG.settleMaxMs, 20);
    return performance.now() - startedAt;
  }

  /** Resumes the service and waits until it has done what it owes from its pause ({@link quiet}); returns how long that took, ms. */
  resumeAndSettle(ready?: () => boolean): Promise<number> {
    this.resume();
    return this.quiet(ready);
  }

  /** Resumes (a stopped process would hold SIGTERM pending) and stops it; its last output lines stay readable. */
  async stop(): Promise<void> {
    try {
      this.resume();
    } catch {
      // gone
    }
    await this.proc.stop('SIGTERM', 10_000);
  }

  /** The Zibrato client's stats() printed when it closed (Zibrato variant only). */
  clientStats(): Record<string, number> | undefined {
    const line = (this.proc.lines as string[]).find((l) => l.startsWith('@@zibrato-stats '));
    return line ? (JSON.parse(line.slice(16)) as Record<string, number>) : undefined;
  }
}

/** The instrumented variants whose work partly runs in processes of their own. */
type PeerGroup = 'zibrato' | 'prom' | 'otel' | 'hotshots';
const PEER_GROUPS: readonly PeerGroup[] = ['zibrato', 'prom', 'otel', 'hotshots'];

/** The peers every instrumented variant sends to, started once for the whole run. */
class Peers {
  dir = mkdtempSync(join(tmpdir(), 'zibrato-bench-app-'));
  zibratoFile = join(this.dir, 'zibrato.jsonl');
  up!: Child;
  broker = '';
  statsd = new StatsdSystem({ flushIntervalMs: 1000 });
  prometheus!: PrometheusPeer;
  promServicePort = 0;
  otlp!: Child;
  otlpUrl = '';
  stopped = false;
  /** PIDs of each variant's peer processes: `zibrato up` and its broker and backend; Prometheus; the statsd daemon; the OTLP receiver. */
  pids: Record<PeerGroup, number[]> = { zibrato: [], prom: [], otel: [], hotshots: [] };

  async start(): Promise<void> {
    // (b) Zibrato: `zibrato up` with a config file on free ports; a file backend counts.
    this.broker = `tcp://127.0.0.1:${await freeTcpPort()}`;
    const sub = `tcp://127.0.0.1:${await freeTcpPort()}`;
    const config = join(this.dir, 'zibrato.yaml');
    writeFileSync(config, `broker:\n  publish: [${this.broker}]\n  subscribe: [${sub}]\nbackends:\n  - name: count\n    sink: file\n    levels: info+\n    flush: 1s\n    options: { path: ${this.zibratoFile} }\n`);
    this.up = new Child(process.execPath, [BIN, 'up', '-c', config], { label: 'zibrato up' });
    await Promise.all([this.up.waitFor(/broker up/, 20_000), this.up.waitFor(/subscribed to/, 20_000)]);
    // If this process is stopped early, common.mjs SIGKILLs `zibrato up`, which then cannot stop
    // its broker and backend: kill those by PID too.
    const upChildren = (this.up.lines as string[]).flatMap((l) => /started \S+ \(pid (\d+)\)/.exec(l)?.[1] ?? []).map(Number);
    this.pids.zibrato = [this.up.pid as number, ...upChildren];
    process.on('exit', () => {
      if (this.stopped) return; // stopped in order: the PIDs may belong to someone else by now
      for (const pid of upChildren) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    });
    // (e) the etsy statsd daemon with a backend that writes what each flush carried.
    await this.statsd.start();
    this.pids.hotshots = [this.statsd.backendPid as number];
    // (c) a real Prometheus scraping the prom-client service every second. The service
    // keeps this port for the whole run, so one scrape target covers every set.
    this.promServicePort = await freeTcpPort();
    this.prometheus = await PrometheusPeer.create(join(this.dir, 'prometheus'), `127.0.0.1:${this.promServicePort}`);
    await this.prometheus.start();
    // The test helper's PeerProcess is not one of common.mjs's children (killed by PID when
    // bench/run.js stops this benchmark): kill Prometheus by PID on any exit as well.
    const promPid = (this.prometheus as unknown as { proc: { pid: number } }).proc.pid;
    this.pids.prom = [promPid];
    process.on('exit', () => {
      if (this.stopped) return;
      try {
        process.kill(promPid, 'SIGKILL');
      } catch {
        // gone
      }
    });
    // (d) an OTLP/HTTP receiver that decodes every export through the official schema.
    this.otlp = new Child(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/app/otlp-receiver.ts'), METRIC.requests], { label: 'otlp receiver' });
    const port = (await this.otlp.waitFor(/@@listening/, 20_000)).split(' ')[1];
    this.otlpUrl = `http://127.0.0.1:${port}/v1/metrics`;
    this.pids.otel = [this.otlp.pid as number];
  }

  /** Time on CPU (ns) so far of each variant's peer processes. */
  cpuNs(): Record<PeerGroup, number> {
    return Object.fromEntries(PEER_GROUPS.map((g) => [g, processesCpuNs(this.pids[g])])) as Record<PeerGroup, number>;
  }

  endpoints(variant: Variant, instanceId: string): PeerEndpoints {
    return { zibratoBroker: this.broker, statsdPort: this.statsd.port, otlpUrl: this.otlpUrl, instanceId: variant === 'otel' ? instanceId : undefined };
  }

  /** The request counter's total so far as each system reports it (cumulative over the run, or per instance for OTel). */
  async requestsReported(variant: Variant, instanceId: string): Promise<number | null> {
    switch (variant) {
      case 'zibrato':
        try {
          return counterTotal(readRows(this.zibratoFile), METRIC.requests);
        } catch {
          return null; // a line being written: read again on the next poll
        }
      case 'hotshots':
        return this.statsd.received(METRIC.requests) as number;
      case 'prom': {
        const r = await this.prometheus.query('app_requests_total');
        return r.length === 1 ? Number(r[0]!.value[1]) : null;
      }
      case 'otel': {
        let last: number | null = null;
        for (const l of this.otlp.lines as string[]) {
          if (!l.startsWith('@@otlp ')) continue;
          const m = JSON.parse(l.slice(7)) as { instance: string; requests: number | null };
          if (m.instance === instanceId && m.requests !== null) last = m.requests;
        }
        return last;
      }
      default:
        return null;
    }
  }

  /** How many exports of the OTel service `instanceId` the receiver has decoded so far. */
  otelExports(instanceId: string): number {
    const tag = `"instance":${JSON.stringify(instanceId)}`;
    return (this.otlp.lines as string[]).filter((l) => l.startsWith('@@otlp ') && l.includes(tag)).length;
  }

  async stop(): Promise<void> {
    await this.up?.stop('SIGTERM', 15_000);
    this.stopped = true;
    await this.statsd.stop();
    await this.prometheus?.stop();
    await this.otlp?.stop('SIGTERM');
    // Prometheus' TSDB, the file sink and the profile: nothing here is needed after the run.
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A shuffled copy of `xs` (Fisher–Yates). */
function shuffled<T>(xs: readonly T[], random: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const INSTRUMENTED: readonly Variant[] = ['zibrato', 'prom', 'otel', 'hotshots'];
const zeros = (): Record<Variant, number> => Object.fromEntries(VARIANTS.map((v) => [v, 0])) as Record<Variant, number>;

/** What one set of processes gave: its windows, and per variant what completed and what its system counted. */
interface SetOutcome {
  windows: WindowResult[];
  completed: Record<Variant, number>;
  reported: Partial<Record<Variant, number | null>>;
  errors: Record<Variant, number>;
  clientStats?: Record<string, number>;
  orders: Variant[][];
}

/**
 * One set: every variant's service started at once and warmed one at a time (the others
 * paused), then {@link CONFIG.cycles} cycles of one window per variant in a shuffled order,
 * then every system's count checked against what autocannon completed.
 */
async function runSet(peers: Peers, pinning: Pinning, load: LoadServer, set: number, random: () => number, runStartedAt: number): Promise<SetOutcome> {
  const services = new Map<Variant, Service>();
  const serviceCpu = pinning.unpinned ? undefined : Number(pinning.serviceCpus);
  try {
    // Zibrato's file and statsd keep totals over the whole run: what this set counts is what they add from here.
    const before: Partial<Record<Variant, number>> = {};
    for (const v of ['zibrato', 'hotshots'] as const) before[v] = (await peers.requestsReported(v, '')) ?? 0;
    const started = await Promise.allSettled(VARIANTS.map((v) => Service.start(peers, pinning.servicePrefix, v, `${v}-${set}`)));
    for (const r of started) if (r.status === 'fulfilled') services.set(r.value.variant, r.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const s of services.values()) s.pause();

    const completed = zeros();
    const errors = zeros();
    for (const v of VARIANTS) {
      const s = services.get(v)!;
      await s.resumeAndSettle();
      const warm = await load.run(s.base, { rate: 0, amount: CONFIG.warmupRequests, connections: CONFIG.connections });
      completed[v] += warm.completed;
      errors[v] += warm.errors + warm.non2xx;
      s.pause();
    }

    const windows: WindowResult[] = [];
    const orders: Variant[][] = [];
    const lastSaturationRps: Partial<Record<Variant, number>> = {};
    for (let cycle = 1 - CONFIG.warmupCycles; cycle <= CONFIG.cycles; cycle++) {
      const order = shuffled(VARIANTS, random);
      if (cycle > 0) orders.push(order);
      for (const [position, v] of order.entries()) {
        const s = services.get(v)!;
        const exportsBefore = v === 'otel' ? peers.otelExports(s.instanceId) : 0;
        // OTel's overdue export runs right after the resume: wait for it, or the window would hold one export too many.
        const settleMs = await s.resumeAndSettle(v === 'otel' ? () => peers.otelExports(s.instanceId) > exportsBefore : undefined);
        const f0 = performance.now();
        const t0 = s.cpuNs();
        const p0 = peers.cpuNs();
        const b0 = serviceCpu === undefined ? undefined : cpuBusyMs(serviceCpu);
        const fixed = await load.run(s.base, { rate: CONFIG.fixedRate, amount: CONFIG.fixedRequests, connections: CONFIG.connections, pools: cycle > 0 ? [v, `${v}#${set}`] : [] });
        const t1 = s.cpuNs();
        const p1 = peers.cpuNs();
        const b1 = serviceCpu === undefined ? undefined : cpuBusyMs(serviceCpu);
        const f1 = performance.now();
        const prev = lastSaturationRps[v];
        const amount = prev ? Math.round(Math.min(CONFIG.saturationRequests, Math.max(CONFIG.saturationRequestsMin, prev * CONFIG.saturationSeconds))) : CONFIG.saturationRequests;
        const s0 = performance.now();
        const u0 = s.cpuNs();
        const sat = await load.run(s.base, { rate: 0, amount, connections: CONFIG.saturationConnections });
        const u1 = s.cpuNs();
        const s1 = performance.now();
        // What the saturation run left to do (a major GC it brought on, a flush) is done before the
        // pause: paused mid-way, it landed in the variant's next fixed-rate window, which then took
        // up to three times the CPU of the others.
        const quietMs = await s.quiet();
        s.pause();
        lastSaturationRps[v] = sat.rps;
        completed[v] += fixed.completed + sat.completed;
        errors[v] += fixed.errors + fixed.non2xx + sat.errors + sat.non2xx;
        const perRequest = (k: keyof ThreadCpuNs) => (t1[k] - t0[k]) / 1000 / fixed.completed;
        const satCpuNs = u1.main + u1.zmq + u1.other - (u0.main + u0.zmq + u0.other);
        if (cycle <= 0) {
          process.stdout.write(`set ${set} warm-up cycle ${v}: ${((t1.main + t1.zmq + t1.other - t0.main - t0.zmq - t0.other) / 1000 / fixed.completed).toFixed(1)} µs CPU/request, saturation ${Math.round(sat.rps)}/s (not measured)\n`);
          continue;
        }
        const w: WindowResult = {
          variant: v,
          set,
          cycle,
          position,
          fixedAtMs: (f0 + f1) / 2 - runStartedAt,
          saturationAtMs: (s0 + s1) / 2 - runStartedAt,
          settleMs,
          quietBeforePauseMs: quietMs,
          cpuUsPerRequest: perRequest('main') + perRequest('zmq') + perRequest('other'),
          threadCpuUsPerRequest: { main: perRequest('main'), zmq: perRequest('zmq'), other: perRequest('other') },
          peerCpuUsPerRequest: Object.fromEntries(PEER_GROUPS.map((g) => [g, (p1[g] - p0[g]) / 1000 / fixed.completed])) as Record<PeerGroup, number>,
          fixedSeconds: (f1 - f0) / 1000,
          fixedRps: fixed.rps,
          latencyMs: fixed.latencyMs,
          saturationRps: sat.rps,
          saturationPerCpuSecond: satCpuNs > 0 ? sat.completed / (satCpuNs / 1e9) : NaN,
          othersOnServiceCpu:
            b0 && b1
              ? { busyShare: Math.max(0, (b1.busyMs - b0.busyMs - (t1.main + t1.zmq + t1.other - t0.main - t0.zmq - t0.other) / 1e6) / (f1 - f0)), stealShare: (b1.stealMs - b0.stealMs) / (f1 - f0) }
              : undefined,
          completed: fixed.completed + sat.completed,
          errors: fixed.errors + fixed.non2xx + sat.errors + sat.non2xx,
        };
        windows.push(w);
        const th = w.threadCpuUsPerRequest;
        const pc = w.peerCpuUsPerRequest;
        process.stdout.write(
          `set ${set} cycle ${cycle}.${position + 1} ${v}: settled in ${settleMs.toFixed(0)} ms (quiet before the pause in ${quietMs.toFixed(0)} ms); ${w.cpuUsPerRequest.toFixed(1)} µs CPU/request (main ${th.main.toFixed(1)}, zmq I/O ${th.zmq.toFixed(1)}, other threads ${th.other.toFixed(1)}; peers: zibrato ${pc.zibrato.toFixed(1)}, prometheus ${pc.prom.toFixed(1)}, otlp ${pc.otel.toFixed(1)}, statsd ${pc.hotshots.toFixed(1)}), p50 ${w.latencyMs.p50.toFixed(3)} ms, p99 ${w.latencyMs.p99.toFixed(3)} ms, saturation ${Math.round(w.saturationRps)}/s (${Math.round(w.saturationPerCpuSecond)} per CPU-second)\n`,
        );
      }
    }

    // Correctness: the request counter each system reports must reach what autocannon completed.
    // Every service runs again (nothing is measured now): each flushes, exports or is scraped.
    for (const s of services.values()) s.resume();
    const reported: Partial<Record<Variant, number | null>> = {};
    await Promise.all(
      INSTRUMENTED.map(async (v) => {
        const s = services.get(v)!;
        let last: number | null = null;
        // Done when every request is reported, or when the count has not moved for two flush
        // intervals (UDP loses silently: the rest is not coming), bounded by reportWithinMs.
        let movedAt = Date.now();
        await pollUntil(async () => {
          const now = await peers.requestsReported(v, s.instanceId);
          const next = now === null ? null : now - (before[v] ?? 0);
          if (next !== last) movedAt = Date.now();
          last = next;
          return (last !== null && last >= completed[v]) || Date.now() - movedAt > 2000;
        }, CONFIG.reportWithinMs, 200);
        reported[v] = last;
      }),
    );
    await Promise.all([...services.values()].map((s) => s.stop()));
    for (const v of VARIANTS) process.stdout.write(`set ${set} ${v}: completed ${completed[v]}, reported ${reported[v] ?? '—'}, errors ${errors[v]}\n`);
    return { windows, completed, reported, errors, clientStats: services.get('zibrato')?.clientStats(), orders };
  } finally {
    await Promise.all([...services.values()].map((s) => s.stop()));
  }
}

type Measure = (w: WindowResult) => number;
const atFixed: Measure = (w) => w.fixedAtMs;
const atSaturation: Measure = (w) => w.saturationAtMs;

/**
 * The base's value of `g` at time `t` in `set`: interpolated between its windows just
 * before and after `t` (a drift that is linear over those seconds cancels), or the
 * nearest one at either end of the set.
 */
function baseAt(base: readonly WindowResult[], set: number, t: number, g: Measure, at: Measure): number {
  let prev: WindowResult | undefined;
  let next: WindowResult | undefined;
  for (const b of base) {
    if (b.set !== set) continue;
    const tb = at(b);
    if (tb <= t && (!prev || tb > at(prev))) prev = b;
    if (tb >= t && (!next || tb < at(next))) next = b;
  }
  if (prev && next) {
    const ta = at(prev);
    const tb = at(next);
    return tb === ta ? g(prev) : g(prev) + ((t - ta) / (tb - ta)) * (g(next) - g(prev));
  }
  const one = prev ?? next;
  return one ? g(one) : NaN;
}

/** One comparison with a base variant, window by window, and what it comes to. */
interface Paired {
  /** Median over windows of each window's comparison with the base at the same moment. */
  median: number;
  /** Each window's comparison, in the order measured. */
  pairs: number[];
  /** Pairs whose comparison has the sign of the median. */
  sameSign: number;
  /** The median of the pairs of each set of processes, by set. */
  bySet: number[];
}

/** Each window of `ws` against `base` at the same moment (see {@link baseAt}); `f` gets the window and the base's value of a measure. */
function paired(ws: readonly WindowResult[], base: readonly WindowResult[], f: (w: WindowResult, b: (g: Measure, at?: Measure) => number) => number): Paired {
  const rows = ws.map((w) => ({ set: w.set, x: f(w, (g, at = atFixed) => baseAt(base, w.set, at(w), g, at)) })).filter((r) => Number.isFinite(r.x));
  const pairs = rows.map((r) => r.x);
  const m = median(pairs);
  const sets = [...new Set(rows.map((r) => r.set))].sort((a, b) => a - b);
  return {
    median: m,
    pairs,
    sameSign: pairs.filter((x) => Math.sign(x) === Math.sign(m) && x !== 0).length,
    bySet: sets.map((s) => median(rows.filter((r) => r.set === s).map((r) => r.x))),
  };
}

/**
 * What `group`'s peers burn per second while they serve nobody, around window `w`: the
 * median over the same cycle's windows of the other variants (a peer's own housekeeping:
 * Prometheus' TSDB and its scrapes of a paused service, the backend's flush timer).
 */
function idlePeerUsPerSecond(all: Record<string, WindowResult[]>, group: PeerGroup, w: WindowResult): number {
  const rates = VARIANTS.filter((v) => v !== group).flatMap((v) =>
    all[v]!.filter((x) => x.set === w.set && x.cycle === w.cycle && x.fixedSeconds > 0).map((x) => (x.peerCpuUsPerRequest[group] * CONFIG.fixedRequests) / x.fixedSeconds),
  );
  return rates.length ? median(rates) : 0;
}

/** The paired comparisons of a variant's windows with a base's ((a), or (a″)). */
function pairedWithBase(v: Variant, ws: WindowResult[], base: WindowResult[], all: Record<string, WindowResult[]>) {
  const group = (PEER_GROUPS as readonly string[]).includes(v) ? (v as PeerGroup) : undefined;
  const cpu: Measure = (x) => x.cpuUsPerRequest;
  const thread = (k: keyof ThreadCpuNs): Measure => (x) => x.threadCpuUsPerRequest[k];
  return {
    cpuAdded: paired(ws, base, (w, b) => w.cpuUsPerRequest / b(cpu) - 1),
    cpuAddedUs: paired(ws, base, (w, b) => w.cpuUsPerRequest - b(cpu)),
    mainAddedUs: paired(ws, base, (w, b) => w.threadCpuUsPerRequest.main - b(thread('main'))),
    zmqAddedUs: paired(ws, base, (w, b) => w.threadCpuUsPerRequest.zmq - b(thread('zmq'))),
    otherAddedUs: paired(ws, base, (w, b) => w.threadCpuUsPerRequest.other - b(thread('other'))),
    throughputLost: paired(ws, base, (w, b) => 1 - w.saturationRps / b((x) => x.saturationRps, atSaturation)),
    capacityLost: paired(ws, base, (w, b) => 1 - w.saturationPerCpuSecond / b((x) => x.saturationPerCpuSecond, atSaturation)),
    p99AddedUs: paired(ws, base, (w, b) => (w.latencyMs.p99 - b((x) => x.latencyMs.p99)) * 1000),
    p50AddedUs: paired(ws, base, (w, b) => (w.latencyMs.p50 - b((x) => x.latencyMs.p50)) * 1000),
    // The variant's peers over its window, less what they burn idle over a window as long (idlePeerUsPerSecond).
    movedOutUs: group ? paired(ws, base, (w) => w.peerCpuUsPerRequest[group] - (idlePeerUsPerSecond(all, group, w) * w.fixedSeconds) / CONFIG.fixedRequests) : undefined,
  };
}

/** The service's CPU time (µs) and its monotonic clock (µs), from its /__cpu route. */
async function serviceClock(base: string): Promise<{ cpuUs: number; monotonicUs: number }> {
  const res = await fetch(`${base}/__cpu`);
  const u = (await res.json()) as { user: number; system: number; monotonicUs: number };
  return { cpuUs: u.user + u.system, monotonicUs: u.monotonicUs };
}

/**
 * A CPU profile of the Zibrato variant at the fixed rate: a fresh service of its own, warmed,
 * one long fixed-rate window. Not pinned: the profiler's sampling thread needs a CPU beside
 * the busy main thread (see Pinning.anyCpuPrefix). Sampled every 100 µs, not 1 ms: at ~1 µs
 * per request a 1 ms sample lands on the client a handful of times in the window.
 */
async function profileZibrato(peers: Peers, pinning: Pinning, load: LoadServer): Promise<ProfileSummary | undefined> {
  const profDir = join(peers.dir, 'cpuprofile');
  const s = await Service.start(peers, pinning.anyCpuPrefix, 'zibrato', 'zibrato-profile', ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${profDir}`]);
  let window: { fromUs: number; toUs: number };
  try {
    await load.run(s.base, { rate: 0, amount: CONFIG.warmupRequests, connections: CONFIG.connections });
    const c0 = await serviceClock(s.base);
    await load.run(s.base, { rate: CONFIG.fixedRate, amount: CONFIG.profileRequests, connections: CONFIG.connections });
    const c1 = await serviceClock(s.base);
    window = { fromUs: c0.monotonicUs, toUs: c1.monotonicUs };
  } finally {
    await s.stop(); // the profile is written as the process exits
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  // Only the fixed-rate phase: start-up, module loading and warm-up are not what a request pays.
  return file ? summariseProfile(join(profDir, file), 15, window) : undefined;
}

/** What the Zibrato instrumentation's calls cost a request with no HTTP server around them (bench/app/client-cost.ts); undefined if it failed. */
async function measureClientCost(peers: Peers, pinning: Pinning): Promise<Record<string, unknown> | undefined> {
  const [cmd, ...pre] = [...pinning.servicePrefix, process.execPath];
  const c = new Child(cmd!, [...pre, '--import', 'tsx', join(ROOT, 'bench/app/client-cost.ts'), ...(quick ? ['--quick'] : []), peers.broker], { label: 'client cost' });
  const r = await Promise.race([c.exited, sleep(180_000).then(() => null)]);
  if (!r) await c.stop('SIGKILL');
  const line = (c.lines as string[]).find((l) => l.startsWith('@@result '));
  for (const l of c.lines as string[]) if (l.startsWith('round ')) process.stdout.write(`client cost ${l}\n`);
  if (!line) {
    process.stdout.write(`client cost: no result (${c.lines.slice(-5).join(' | ')})\n`);
    return undefined;
  }
  return JSON.parse(line.slice(9)) as Record<string, unknown>;
}


async function main(): Promise<void> {
  const startedAt = Date.now();
  // Before any peer starts: they inherit this process's CPUs, the service gets its own.
  const pinning = pinService(CONFIG.pin);
  process.stdout.write(pinning.unpinned ? `unpinned: ${pinning.unpinned}\n` : `service on CPU ${pinning.serviceCpus}, load generator and peers on CPU ${pinning.othersCpus}\n`);
  const peers = new Peers();
  const load = new LoadServer();
  try {
    await peers.start();
    // Seeded: the same seed gives the same shuffles.
    const random = mulberry32(CONFIG.seed) as () => number;
    const runStartedAt = performance.now();
    const sets: SetOutcome[] = [];
    for (let set = 1; set <= CONFIG.sets; set++) sets.push(await runSet(peers, pinning, load, set, random, runStartedAt));
    const windows: Record<string, WindowResult[]> = Object.fromEntries(VARIANTS.map((v) => [v, sets.flatMap((s) => s.windows.filter((w) => w.variant === v))]));
    // Latency percentiles over every fixed-rate response of a variant (all sets, and by set).
    const pools = await load.pools();

    const profile = CONFIG.profile ? await profileZibrato(peers, pinning, load) : undefined;
    // The Zibrato instrumentation alone, without HTTP (client-cost.ts), on the service's CPU, through the same `zibrato up`.
    const clientCost = await measureClientCost(peers, pinning);

    const base = windows.none!;
    const pooled = (v: string, set?: number) => pools[set === undefined ? v : `${v}#${set}`];
    const setNumbers = sets.map((_, i) => i + 1);
    const variants = Object.fromEntries(
      VARIANTS.map((v) => {
        const ws = windows[v]!;
        const lat = pooled(v);
        const m = {
          cpuUsPerRequest: median(ws.map((w) => w.cpuUsPerRequest)),
          p50Ms: lat?.p50 ?? NaN,
          p99Ms: lat?.p99 ?? NaN,
          p999Ms: lat?.p999 ?? NaN,
          saturationRps: median(ws.map((w) => w.saturationRps)),
          saturationPerCpuSecond: median(ws.map((w) => w.saturationPerCpuSecond)),
          fixedRps: median(ws.map((w) => w.fixedRps)),
          settleMs: median(ws.map((w) => w.settleMs)),
          settleMsMax: Math.max(...ws.map((w) => w.settleMs)),
          quietBeforePauseMs: median(ws.map((w) => w.quietBeforePauseMs)),
          othersOnServiceCpuShare: median(ws.flatMap((w) => (w.othersOnServiceCpu ? [w.othersOnServiceCpu.busyShare] : []))),
          threadCpuUsPerRequest: {
            main: median(ws.map((w) => w.threadCpuUsPerRequest.main)),
            zmq: median(ws.map((w) => w.threadCpuUsPerRequest.zmq)),
            other: median(ws.map((w) => w.threadCpuUsPerRequest.other)),
          },
        };
        const b = {
          cpuUsPerRequest: median(base.map((w) => w.cpuUsPerRequest)),
          p99Ms: pooled('none')?.p99 ?? NaN,
          saturationRps: median(base.map((w) => w.saturationRps)),
        };
        const p = pairedWithBase(v, ws, base, windows);
        const stats = sets.map((s) => (v === 'zibrato' ? s.clientStats : undefined)).filter((x) => x !== undefined);
        const clientStats = stats.length
          ? stats.reduce<Record<string, number>>((acc, s) => {
              for (const [k, n] of Object.entries(s)) acc[k] = (acc[k] ?? 0) + n;
              return acc;
            }, {})
          : undefined;
        const completed = sets.reduce((a, s) => a + s.completed[v], 0);
        const reported = INSTRUMENTED.includes(v) ? sets.reduce((a, s) => a + (s.reported[v] ?? 0), 0) : null;
        return [
          v,
          {
            windows: ws,
            median: m,
            // The headline comparison: CPU and throughput are medians of the window-by-window comparisons
            // with (a) at the same moment, which cancel what the machine's load did then; p99 is the
            // difference of the percentiles pooled over every response of each variant.
            vsNone: {
              cpuAdded: p.cpuAdded.median,
              throughputLost: p.throughputLost.median,
              capacityLost: p.capacityLost.median,
              p99AddedUs: (m.p99Ms - b.p99Ms) * 1000,
              p99Added: m.p99Ms / b.p99Ms - 1,
              p50Added: m.p50Ms / (pooled('none')?.p50 ?? NaN) - 1,
            },
            // The comparison of the medians, kept to show what pairing changes.
            vsNoneOfMedians: {
              cpuAdded: m.cpuUsPerRequest / b.cpuUsPerRequest - 1,
              throughputLost: 1 - m.saturationRps / b.saturationRps,
              p99AddedUs: (m.p99Ms - b.p99Ms) * 1000,
            },
            // By set of processes: the pooled percentiles' difference with the same set's (a).
            pooledBySet: setNumbers.map((s) => ({ set: s, p50Ms: pooled(v, s)?.p50 ?? NaN, p99Ms: pooled(v, s)?.p99 ?? NaN, p99Added: (pooled(v, s)?.p99 ?? NaN) / (pooled('none', s)?.p99 ?? NaN) - 1 })),
            paired: p,
            // The same against (a″), the hooks alone: what the library itself adds.
            pairedVsHooks: v === 'hooks' || !windows.hooks?.length ? undefined : pairedWithBase(v, ws, windows.hooks, windows),
            clientStats,
            counts: { completed, reported, lost: reported === null ? null : completed - reported, errors: sets.reduce((a, s) => a + s.errors[v], 0) },
          },
        ];
      }),
    );
    // What other processes took of the service's CPU over all the fixed-rate windows: the noise the design must cancel.
    const others = Object.values(windows).flat().flatMap((w) => (w.othersOnServiceCpu ? [w.othersOnServiceCpu] : []));
    const machineNoise = others.length
      ? { othersBusyShareMedian: median(others.map((o) => o.busyShare)), othersBusyShareMax: Math.max(...others.map((o) => o.busyShare)), stealShareMedian: median(others.map((o) => o.stealShare)), windows: others.length }
      : undefined;
    emitResult({ config: CONFIG, pinning, variants, machineNoise, profile, clientCost, orders: sets.map((s) => s.orders), seconds: (Date.now() - startedAt) / 1000 });
  } finally {
    await load.stop();
    await peers.stop();
  }
}

runBench('app', main);
