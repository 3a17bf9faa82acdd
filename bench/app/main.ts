// The observer effect on a real app (issue 10): one fastify service, instrumented
// five ways with the same measurements per request, loaded by autocannon in a
// separate process; CPU per request and latency at a fixed rate, requests per
// second at saturation, and whether each system counted every request.
//
// Run by bench/run.js as: node --import tsx bench/app/main.ts [--quick]
// Alone:                  npm run build && node bench/run.js --only app
//
// Variants run interleaved (round 1 of every variant, then round 2 …) so
// background load on the shared machine hits them alike; two identical
// uninstrumented variants (none, none2) show how far the noise alone moves the
// figures. Every peer is started here on free 127.0.0.1 ports and stopped by PID.
//
// Noise: the service runs alone on one CPU (taskset), the load generator and
// every peer on the other(s) (bench/app/cpu.ts); each variant is compared with
// the same round's (a), and the report takes the median of those paired
// comparisons. What a system moves out of the service (Zibrato's broker and
// backend, Prometheus, the statsd daemon, the OTLP receiver) is read from
// those processes over the same fixed-rate window and reported beside the
// service's own CPU, so the pinning hides nothing.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, Child, emitResult, freeTcpPort, isQuick, median, pollUntil, ROOT, runBench, sleep } from '../lib/common.mjs';
import { StatsdSystem } from '../lib/systems.mjs';
import { counterTotal, readRows } from '../../test/helpers/jsonl.js';
import { PrometheusPeer } from '../../test/helpers/peers/prometheus.js';
import { summariseProfile, type ProfileSummary } from './profile.js';
import { pinService, processesCpuNs, threadCpuNs, type Pinning, type ThreadCpuNs } from './cpu.js';
import { METRIC, VARIANTS, type PeerEndpoints, type Variant } from './instrumentations.js';
import { createCpuQuota, createIdleCgroup, removeStaleCpuQuotas, type CpuQuota, type IdleCgroup } from './cpu-quota.js';
import { noiseSpread, ROUNDS_PRECISION } from './report.mjs';
import { rotated, whyStopRounds, type RoundsStop } from './rounds.js';

const quick = isQuick();

/** A positive whole number from the environment, or undefined. */
function positiveEnv(name: string): number | undefined {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Sizes of one run. The fixed rate is the issue's 2,000/s: well below saturation for every variant here (~4–20 k/s). */
const CONFIG = {
  // Rounds are added until the noise floor is known: at least minRounds (ten: a difference counts as
  // resolved with one round of ten against it, report.mjs's sign test), then one more at a time until
  // (a′)'s comparison with (a) is pinned to ±1 % in CPU per request and throughput (half the issue's 2 % bar
  // for two identical services; report.mjs's noiseFloorResolved), within maxRounds and maxMinutes of rounds.
  // With each variant measured whole, one after the other, the round-to-round spread needed 60 rounds of
  // ~100 s in one run (97 min), 65 in the next; the slices below (runRound) are what shortened that.
  // ZIBRATO_BENCH_APP_ROUNDS=N runs exactly N rounds; ZIBRATO_BENCH_APP_MINUTES=M bounds the rounds to M minutes.
  minRounds: quick ? 3 : 10,
  maxRounds: quick ? 3 : 100,
  maxMinutes: positiveEnv('ZIBRATO_BENCH_APP_MINUTES') ?? 100,
  fixedRounds: quick ? 3 : positiveEnv('ZIBRATO_BENCH_APP_ROUNDS'),
  // The variants' order turns by one each round (rounds.ts's rotated), and again by one each slice within a
  // round, so each takes every place in turn. In the same order every round, (a) always ran first, right after
  // hot-shots' load on the peers' CPU, and over 60 rounds used 2.8 % (±1.8 %) more CPU per request than its
  // identical twin (a′), run second; 35 of 60 rounds alike, not a resolved difference, but a place in the
  // order is a bias that pairing cannot cancel, and turning the order removes it at no cost.
  rotateOrder: true,
  fixedRate: 2000,
  // The fixed rate's requests per variant and round, in fixedSlices turns of a quarter second each (runRound),
  // each after a lead-in of fixedLeadIn requests that are not measured (the service was stopped until then).
  fixedRequests: quick ? 3000 : 16_000,
  fixedSlices: quick ? 6 : 32,
  fixedLeadIn: 100,
  // Saturation is sized in time: the first round sends this many requests, later rounds
  // about saturationSeconds' worth at the rate the variant reached before (within these bounds).
  saturationRequests: quick ? 8000 : 20_000,
  saturationSeconds: quick ? 1 : 3,
  saturationRequestsMin: 5000,
  // Saturation in turns too: saturationSlices of about a quarter second, each after saturationLeadIn requests not measured.
  saturationSlices: quick ? 4 : 12,
  saturationLeadIn: 200,
  // Walks every user id once before anything is measured, so series creation is not timed as
  // steady state. The quick run too: with half of them, every measured request met a user the
  // fresh service had never seen and paid for a new series in all four libraries.
  warmupRequests: 10_000,
  users: 10_000,
  connections: 10,
  saturationConnections: 20,
  // The service's CPU during the saturation phase, in cores (a CFS quota: bench/app/cpu-quota.ts). Unlimited,
  // one autocannon process could not keep it busy (its main thread was on CPU ~30 % of the phase), so
  // requests/s measured autocannon. A quarter of a core is well under what autocannon drives (~27,000/s
  // against ~12,000/s for (a)); the service is then the bottleneck, whatever its library costs.
  saturationCpuShare: 0.25,
  // The /db route's "database" wait.
  dbWaitMs: 1,
  // Before each round's services start: how long the peers' CPU is read with nothing to serve (their own housekeeping).
  peerIdleSeconds: quick ? 1 : 3,
  // How long a system may take to report the last requests once the load ended (a flush or scrape is 1 s everywhere).
  reportWithinMs: 8000,
  // The quick run (CI) skips the profile round to stay short; ZIBRATO_BENCH_APP_PROFILE=1 forces it.
  profile: !quick || process.env.ZIBRATO_BENCH_APP_PROFILE === '1',
  // The service on a CPU of its own, everything else on the other(s); ZIBRATO_BENCH_APP_PIN=0 turns it off.
  pin: process.env.ZIBRATO_BENCH_APP_PIN !== '0',
};

const LOAD = join(ROOT, 'bench/app/load.mjs');
const SERVICE = join(ROOT, 'bench/app/service.ts');

interface LoadResult {
  completed: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  rps: number;
  latencyMs: { p50: number; p99: number; p999: number; mean: number; samples: number };
  nextUser: number;
}

interface RoundResult {
  round: number;
  /** Service CPU (user + system, every thread) per request at the fixed rate, µs. */
  cpuUsPerRequest: number;
  /** The same by thread group ({@link threadCpuNs}, from the scheduler's ns counters). */
  threadCpuUsPerRequest: ThreadCpuNs;
  /**
   * CPU per request (µs) of each variant's peer processes over this round's
   * fixed-rate window, by the variant they serve (all of them are read in
   * every round: the uninstrumented rounds give their idle cost).
   */
  peerCpuUsPerRequest: Record<PeerGroup, number>;
  /** CPU per second (µs) of each variant's peer processes with no service loaded, measured before the round's services start. */
  peerIdleUsPerSecond: Record<PeerGroup, number>;
  /** The fixed-rate turns' total length, s. */
  fixedSeconds: number;
  fixedRps: number;
  latencyMs: LoadResult['latencyMs'];
  saturationRps: number;
  /**
   * Over the saturation phase: the share of its length the service's main
   * thread was on CPU, and what the peers of each variant took of their core
   * meanwhile.
   */
  saturation?: {
    mainBusy: number;
    /** The same for the whole process (every thread): at the quota's share when the service was the bottleneck. */
    processBusy: number;
    peerCores: Record<PeerGroup, number>;
  };
  /** Requests autocannon completed in this round (warm-up, fixed rate and saturation). */
  completed: number;
  /** What the metrics system reported for the request counter (null: nothing). */
  reported: number | null;
  errors: number;
  /** When the fixed-rate slices ran, on CLOCK_MONOTONIC (a CPU profile's clock), µs. */
  fixedWindowsUs: { fromUs: number; toUs: number }[];
  /** When the saturation slices ran, on the same clock, and the requests they completed (no saturation phase: undefined). */
  saturationWindows?: { windows: { fromUs: number; toUs: number }[]; completed: number };
  /** The Zibrato client's stats() when the service closed (Zibrato variant only). */
  clientStats?: Record<string, number>;
}

/**
 * The load generator (load.mjs): one process for the whole run, on the peers'
 * CPU, driven one command at a time so the variants can take turns in short
 * slices without a process start between them.
 */
class LoadGenerator {
  private readonly child = new Child(process.execPath, [LOAD], { label: 'autocannon', stdin: true });
  private lastId = 0;

  /** `amount` requests at `rate` (0: saturation), bounded in time; `collect` keeps their latencies under that key (see {@link latencies}). */
  run(url: string, o: { rate: number; amount: number; connections: number; userOffset: number; collect?: string }): Promise<LoadResult> {
    const maxSeconds = Math.max(30, (o.rate ? o.amount / o.rate : o.amount / 1000) * 3);
    return this.ask({ url, users: CONFIG.users, ...o }, maxSeconds);
  }

  /** Exact percentiles over every response collected under `key` since it was last read, which forgets them. */
  async latencies(key: string): Promise<LoadResult['latencyMs']> {
    return (await this.ask<{ latencyMs: LoadResult['latencyMs'] }>({ latencies: key }, 30)).latencyMs;
  }

  async stop(): Promise<void> {
    await this.child.stop('SIGTERM');
  }

  private async ask<T = LoadResult>(command: Record<string, unknown>, maxSeconds: number): Promise<T> {
    const id = ++this.lastId;
    this.child.writeLine(JSON.stringify({ id, ...command }));
    // Rejects past the bound; the run then fails and common.mjs kills the generator by PID.
    const line = await this.child.waitFor(new RegExp(`^\\{"id":${id}[,}]`), maxSeconds * 1000);
    return JSON.parse(line) as T;
  }
}

/** The service-side clock of a CPU profile's timestamps (CLOCK_MONOTONIC, one clock for every process), µs. */
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

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
    // keeps this port for the whole run, so one scrape target covers every round.
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

let userOffset = 0;

/** What one phase (fixed rate or saturation) of one variant added up to over its slices. */
interface Tally {
  cpu: ThreadCpuNs;
  peers: Record<PeerGroup, number>;
  completed: number;
  /** On this process's clock, from the first CPU read to the last, summed over the slices. */
  seconds: number;
  /** autocannon's own measuring time, summed over the slices. */
  loadSeconds: number;
  windows: { fromUs: number; toUs: number }[];
}

const emptyTally = (): Tally => ({ cpu: { main: 0, zmq: 0, other: 0 }, peers: { zibrato: 0, prom: 0, otel: 0, hotshots: 0 }, completed: 0, seconds: 0, loadSeconds: 0, windows: [] });

/** One variant's service in a round. */
interface Service {
  variant: Variant;
  svc: Child;
  pid: number;
  base: string;
  instanceId: string;
  /** The system's request count before this service sent anything (cumulative systems). */
  reportedBefore: number;
  completed: number;
  errors: number;
  fixed: Tally;
  sat: Tally;
}

/**
 * One round: a fresh service per variant, all started side by side on the
 * service's CPU; each warmed up; then the fixed rate and saturation, each in
 * slices, the variants taking turns slice by slice; then the count check.
 *
 * Why slices: the machine's speed moves by ±10 % and more from one second to
 * the next (other tenants of the host). Measured one after the other, each
 * variant for ~10 s, two identical services differed by 7–8 % round to round,
 * and the median of 26 rounds was still uncertain by ±1.9 %. Taking turns puts
 * every variant in the same stretches of the machine's weather, and the
 * shorter the turns the better: four identical services, 16,000 requests each,
 * spread 11–33 % (fastest to slowest) in turns of 2,000 requests, 5–8 % in
 * turns of 500 (measured with this benchmark's service and load generator on
 * this machine, 2026-12-01).
 *
 * Only the variant in its turn is loaded; the others wait in a cgroup of idle
 * priority on the same CPU (cpu-quota.ts's createIdleCgroup). They keep
 * running, so their periodic work (prom-client's scrapes, OTel's exports, the
 * flush and self-metrics timers) goes on at the pace of the clock and lands in
 * each variant's own turns as often as in a service that is never paused, but
 * the service in its turn preempts them whenever it has work. (Stopping them
 * with SIGSTOP instead made every resumed service run its overdue timers at
 * once: about three exports or scrapes per second of its own running, which
 * would have charged the libraries with periodic work several times over.)
 * After each turn's start, a short lead-in (not measured) lets the service
 * run again before its CPU is read.
 */
async function runRound(peers: Peers, gen: LoadGenerator, pinning: Pinning, variants: readonly Variant[], round: number, nodeArgs: string[], saturationRequests: Partial<Record<Variant, number>>): Promise<Record<string, RoundResult>> {
  const [cmd, ...pre] = [...pinning.servicePrefix, process.execPath];
  const started: Child[] = [];
  // One variant alone (the profile round) never waits: nothing else needs the CPU between its turns.
  const parking = variants.length > 1 && idleCgroup !== undefined && cpuQuota !== undefined;
  const park = (s: Service) => {
    if (parking) idleCgroup!.add(s.pid);
  };
  const unpark = (s: Service) => {
    if (parking) cpuQuota?.add(s.pid);
  };
  // What the peers burn with no service loaded, to subtract from what they burn in a variant's turns.
  const p0 = peers.cpuNs();
  await sleep(CONFIG.peerIdleSeconds * 1000);
  const p1 = peers.cpuNs();
  const peerIdleUsPerSecond = Object.fromEntries(PEER_GROUPS.map((g) => [g, (p1[g] - p0[g]) / 1000 / CONFIG.peerIdleSeconds])) as Record<PeerGroup, number>;
  try {
    const services = await Promise.all(
      variants.map(async (variant): Promise<Service> => {
        const instanceId = `${variant}-${round}`;
        const port = variant === 'prom' ? peers.promServicePort : 0;
        const cfg = { variant, port, peers: peers.endpoints(variant, instanceId), dbWaitMs: CONFIG.dbWaitMs };
        // taskset execs node in place, so the child's PID is the service's.
        const svc = new Child(cmd!, [...pre, ...nodeArgs, '--import', 'tsx', SERVICE, JSON.stringify(cfg)], { label: `service ${variant}` });
        started.push(svc);
        const listening = await svc.waitFor(/@@listening/, 60_000);
        cpuQuota?.add(svc.pid as number);
        return { variant, svc, pid: svc.pid as number, base: `http://127.0.0.1:${listening.split(' ')[1]}`, instanceId, reportedBefore: 0, completed: 0, errors: 0, fixed: emptyTally(), sat: emptyTally() };
      }),
    );
    for (const s of services) s.reportedBefore = (s.variant === 'prom' || s.variant === 'otel' ? 0 : await peers.requestsReported(s.variant, s.instanceId)) ?? 0;
    for (const s of services) park(s);

    /** Runs `o` against `s`, its CPU, the peers' and the time added to `tally` unless it is a lead-in. */
    const drive = async (s: Service, o: { rate: number; amount: number; connections: number; collect?: string }, tally?: Tally) => {
      const t0 = threadCpuNs(s.pid);
      const p0 = peers.cpuNs();
      const w0 = monotonicUs();
      const r = await gen.run(s.base, { ...o, userOffset });
      const w1 = monotonicUs();
      const t1 = threadCpuNs(s.pid);
      const p1 = peers.cpuNs();
      userOffset = r.nextUser;
      s.completed += r.completed;
      s.errors += r.errors + r.non2xx;
      if (!tally) return;
      for (const k of ['main', 'zmq', 'other'] as const) tally.cpu[k] += t1[k] - t0[k];
      for (const g of PEER_GROUPS) tally.peers[g] += p1[g] - p0[g];
      tally.completed += r.completed;
      tally.seconds += (w1 - w0) / 1e6;
      tally.loadSeconds += r.seconds;
      tally.windows.push({ fromUs: w0, toUs: w1 });
    };
    /** `phase` in `slices` turns: each variant out of the idle cgroup for its turn, led in, measured, parked; the order turns by one each slice. */
    const inSlices = async (slices: number, phase: (s: Service) => Promise<void>) => {
      for (let slice = 0; slice < slices; slice++) {
        for (const s of rotated(services, slice)) {
          unpark(s);
          try {
            await phase(s);
          } finally {
            park(s);
          }
        }
      }
    };

    await inSlices(1, (s) => drive(s, { rate: 0, amount: CONFIG.warmupRequests, connections: CONFIG.connections }));
    const fixedPerSlice = CONFIG.fixedRequests / CONFIG.fixedSlices;
    await inSlices(CONFIG.fixedSlices, async (s) => {
      await drive(s, { rate: CONFIG.fixedRate, amount: CONFIG.fixedLeadIn, connections: CONFIG.connections });
      await drive(s, { rate: CONFIG.fixedRate, amount: fixedPerSlice, connections: CONFIG.connections, collect: s.variant }, s.fixed);
    });
    const latency = new Map<Service, LoadResult['latencyMs']>();
    for (const s of services) latency.set(s, await gen.latencies(s.variant));
    if (Object.keys(saturationRequests).length) {
      cpuQuota?.limit(CONFIG.saturationCpuShare);
      try {
        await inSlices(CONFIG.saturationSlices, async (s) => {
          const amount = Math.round((saturationRequests[s.variant] ?? CONFIG.saturationRequests) / CONFIG.saturationSlices);
          await drive(s, { rate: 0, amount: CONFIG.saturationLeadIn, connections: CONFIG.saturationConnections });
          await drive(s, { rate: 0, amount, connections: CONFIG.saturationConnections }, s.sat);
        });
      } finally {
        // Lifted whatever happened: the next round's services join the same cgroup.
        cpuQuota?.limit(undefined);
      }
    }
    // Correctness: the request counter each system reports must reach what autocannon completed.
    const reported = new Map<Service, number | null>();
    await Promise.all(
      services.map(async (s) => {
        if (s.variant === 'none' || s.variant === 'none2' || s.variant === 'hooks') return;
        // Done when every request is reported, or when the count has not moved for two flush
        // intervals (UDP loses silently: the rest is not coming), bounded by reportWithinMs.
        let movedAt = Date.now();
        let last: number | null = null;
        await pollUntil(async () => {
          const now = await peers.requestsReported(s.variant, s.instanceId);
          const next = now === null ? null : now - s.reportedBefore;
          if (next !== last) movedAt = Date.now();
          last = next;
          return (last !== null && last >= s.completed) || Date.now() - movedAt > 2000;
        }, CONFIG.reportWithinMs, 200);
        reported.set(s, last);
      }),
    );
    await Promise.all(services.map((s) => s.svc.stop('SIGTERM', 10_000)));

    const results: Record<string, RoundResult> = {};
    for (const s of services) {
      const f = s.fixed;
      const perRequest = (ns: number) => ns / 1000 / f.completed;
      const statsLine = (s.svc.lines as string[]).find((l) => l.startsWith('@@zibrato-stats '));
      const satNs = s.sat.loadSeconds * 1e9;
      const busy = (t: ThreadCpuNs) => t.main + t.zmq + t.other;
      results[s.variant] = {
        clientStats: statsLine ? (JSON.parse(statsLine.slice(16)) as Record<string, number>) : undefined,
        round,
        cpuUsPerRequest: perRequest(busy(f.cpu)),
        threadCpuUsPerRequest: { main: perRequest(f.cpu.main), zmq: perRequest(f.cpu.zmq), other: perRequest(f.cpu.other) },
        peerCpuUsPerRequest: Object.fromEntries(PEER_GROUPS.map((g) => [g, perRequest(f.peers[g])])) as Record<PeerGroup, number>,
        peerIdleUsPerSecond,
        fixedSeconds: f.seconds,
        fixedWindowsUs: f.windows,
        saturationWindows: s.sat.completed ? { windows: s.sat.windows, completed: s.sat.completed } : undefined,
        fixedRps: f.completed / f.loadSeconds,
        latencyMs: latency.get(s)!,
        saturationRps: s.sat.completed ? s.sat.completed / s.sat.loadSeconds : NaN,
        saturation: s.sat.completed
          ? {
              mainBusy: s.sat.cpu.main / satNs,
              processBusy: busy(s.sat.cpu) / satNs,
              peerCores: Object.fromEntries(PEER_GROUPS.map((g) => [g, s.sat.peers[g] / satNs])) as Record<PeerGroup, number>,
            }
          : undefined,
        completed: s.completed,
        reported: reported.get(s) ?? null,
        errors: s.errors,
      };
    }
    return results;
  } finally {
    await Promise.all(started.map((svc) => svc.stop('SIGTERM', 10_000)));
  }
}

/** The name of this run's CPU-quota cgroup, before its PID. */
const CPU_QUOTA_PREFIX = 'zibrato-bench-app-';
/** The same for its idle-priority cgroup. */
const IDLE_CGROUP_PREFIX = 'zibrato-bench-app-idle-';

/** The saturation phase's CPU quota for the service (undefined: none could be made; see main). */
let cpuQuota: CpuQuota | undefined;
/** Where the services out of their turn wait (undefined: none could be made; they then stay as they are). */
let idleCgroup: IdleCgroup | undefined;

const medianOf = (rs: RoundResult[], f: (r: RoundResult) => number): number => median(rs.map(f));

/** One comparison with (a), round by round, and what it comes to. */
interface Paired {
  /** Median over rounds of the round's comparison with the same round's (a). */
  median: number;
  /** Each round's comparison, in round order. */
  rounds: number[];
  /** Rounds whose comparison has the sign of the median (judged by report.mjs's sign test: 6 of 6 is p ≈ 0.03, 9 of 10 p ≈ 0.02). */
  sameSign: number;
}

function paired(rs: RoundResult[], base: RoundResult[], f: (r: RoundResult, b: RoundResult) => number): Paired {
  const rounds = rs.flatMap((r) => {
    const b = base.find((x) => x.round === r.round);
    return b ? [f(r, b)] : [];
  });
  const m = median(rounds);
  return { median: m, rounds, sameSign: rounds.filter((x) => Math.sign(x) === Math.sign(m) && x !== 0).length };
}

const cpuAdded = (r: RoundResult, b: RoundResult): number => r.cpuUsPerRequest / b.cpuUsPerRequest - 1;
const throughputLost = (r: RoundResult, b: RoundResult): number => 1 - r.saturationRps / b.saturationRps;

/** The paired comparisons of a variant's rounds with (a)'s. */
function pairedWithBase(v: Variant, rs: RoundResult[], base: RoundResult[]) {
  const group = (PEER_GROUPS as readonly string[]).includes(v) ? (v as PeerGroup) : undefined;
  return {
    cpuAdded: paired(rs, base, cpuAdded),
    cpuAddedUs: paired(rs, base, (r, b) => r.cpuUsPerRequest - b.cpuUsPerRequest),
    mainAddedUs: paired(rs, base, (r, b) => r.threadCpuUsPerRequest.main - b.threadCpuUsPerRequest.main),
    zmqAddedUs: paired(rs, base, (r, b) => r.threadCpuUsPerRequest.zmq - b.threadCpuUsPerRequest.zmq),
    otherAddedUs: paired(rs, base, (r, b) => r.threadCpuUsPerRequest.other - b.threadCpuUsPerRequest.other),
    throughputLost: paired(rs, base, throughputLost),
    p99AddedUs: paired(rs, base, (r, b) => (r.latencyMs.p99 - b.latencyMs.p99) * 1000),
    p50AddedUs: paired(rs, base, (r, b) => (r.latencyMs.p50 - b.latencyMs.p50) * 1000),
    // The variant's peers over its turns, less what they burn with no service loaded over as long.
    movedOutUs: group ? paired(rs, base, (r) => r.peerCpuUsPerRequest[group] - (r.peerIdleUsPerSecond[group] * r.fixedSeconds) / CONFIG.fixedRequests) : undefined,
  };
}

/**
 * Requests for a variant's saturation phase: about saturationSeconds' worth at the median rate it reached
 * in the rounds so far (within the configured bounds), saturationRequests before any.
 */
function saturationSize(done: RoundResult[]): number {
  const rps = done.length ? medianOf(done, (r) => r.saturationRps) : NaN;
  return Number.isFinite(rps) ? Math.round(Math.min(CONFIG.saturationRequests, Math.max(CONFIG.saturationRequestsMin, rps * CONFIG.saturationSeconds))) : CONFIG.saturationRequests;
}

/**
 * The machine's steadiness just now: the same fixed work's CPU time per unit
 * (bench/app/steadiness.ts), ns, on the service's CPU; NaN if it failed.
 */
async function steadiness(pinning: Pinning): Promise<number> {
  const [cmd, ...pre] = [...pinning.servicePrefix, process.execPath];
  const c = new Child(cmd!, [...pre, '--import', 'tsx', join(ROOT, 'bench/app/steadiness.ts')], { label: 'steadiness' });
  const r = await Promise.race([c.exited, sleep(30_000).then(() => null)]);
  if (!r) await c.stop('SIGKILL');
  const line = (c.lines as string[]).find((l) => l.startsWith('@@steadiness '));
  return line ? Number(line.split(' ')[1]) : NaN;
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
  const removed = [...removeStaleCpuQuotas(CPU_QUOTA_PREFIX), ...removeStaleCpuQuotas(IDLE_CGROUP_PREFIX)];
  if (removed.length) process.stdout.write(`removed the CPU-quota cgroups of runs that were stopped: ${removed.join(', ')}\n`);
  const q = createCpuQuota(`${CPU_QUOTA_PREFIX}${process.pid}`);
  cpuQuota = 'unavailable' in q ? undefined : q;
  const saturationQuota = 'unavailable' in q ? q : { share: CONFIG.saturationCpuShare, kind: q.kind };
  process.stdout.write('unavailable' in q ? `saturation without a CPU quota: ${q.unavailable}\n` : `saturation with the service held to ${CONFIG.saturationCpuShare} of a core (${q.kind})\n`);
  const idle = createIdleCgroup(`${IDLE_CGROUP_PREFIX}${process.pid}`);
  idleCgroup = 'unavailable' in idle ? undefined : idle;
  process.stdout.write('unavailable' in idle ? `services out of their turn at normal priority: ${idle.unavailable}\n` : 'services out of their turn wait at idle priority\n');
  const peers = new Peers();
  try {
    await peers.start();
    // Prometheus and the OTLP receiver work on the idle prom-client and OTel services' scrapes and exports in every
    // variant's turns; at idle priority they never delay the load generator beside them (their CPU is still counted).
    for (const pid of [...peers.pids.prom, ...peers.pids.otel]) idleCgroup?.add(pid);
    const rounds: Record<string, RoundResult[]> = Object.fromEntries(VARIANTS.map((v) => [v, []]));
    // Before every round: how steady the machine is (see steadiness.ts), for the noise floor's explanation.
    const steadinessNs: number[] = [];
    const gen = new LoadGenerator();
    const roundsFrom = Date.now();
    let roundsRun = 0;
    let roundsStop: RoundsStop | undefined;
    while (roundsStop === undefined) {
      const round = ++roundsRun;
      steadinessNs.push(await steadiness(pinning));
      const order = CONFIG.rotateOrder ? rotated(VARIANTS, round - 1) : VARIANTS;
      const results = await runRound(peers, gen, pinning, order, round, [], Object.fromEntries(order.map((v) => [v, saturationSize(rounds[v]!)])));
      for (const v of order) {
        const r = results[v]!;
        rounds[v]!.push(r);
        const th = r.threadCpuUsPerRequest;
        const pc = r.peerCpuUsPerRequest;
        process.stdout.write(`round ${round} ${v}: ${r.cpuUsPerRequest.toFixed(1)} µs CPU/request (main ${th.main.toFixed(1)}, zmq I/O ${th.zmq.toFixed(1)}, other threads ${th.other.toFixed(1)}; peers: zibrato ${pc.zibrato.toFixed(1)}, prometheus ${pc.prom.toFixed(1)}, otlp ${pc.otel.toFixed(1)}, statsd ${pc.hotshots.toFixed(1)}), p50 ${r.latencyMs.p50.toFixed(3)} ms, p99 ${r.latencyMs.p99.toFixed(3)} ms, saturation ${Math.round(r.saturationRps)}/s, completed ${r.completed}, reported ${r.reported ?? '—'}\n`);
      }
      const noiseFloor = { cpuAdded: paired(rounds.none2!, rounds.none!, cpuAdded), throughputLost: paired(rounds.none2!, rounds.none!, throughputLost) };
      roundsStop = whyStopRounds(round, noiseFloor, (Date.now() - roundsFrom) / 1000, CONFIG);
      const spread = noiseSpread(noiseFloor);
      if (spread) process.stdout.write(`after ${round} rounds, (a′) against (a) is known to ±${(100 * spread.cpu.medianError).toFixed(1)} % in CPU per request and ±${(100 * spread.throughput.medianError).toFixed(1)} % in throughput${roundsStop ? `: stopping (${roundsStop})` : ''}\n`);
    }

    // A CPU profile of the Zibrato variant at the fixed rate and at saturation, in a separate round (the profiler costs CPU itself).
    let profile: ProfileSummary | undefined;
    let saturationProfile: (ProfileSummary & { requests: number; mainCpuUsPerRequest: number }) | undefined;
    if (CONFIG.profile) {
      const profDir = join(peers.dir, 'cpuprofile');
      // Not pinned: the profiler's sampling thread needs a CPU of its own (see Pinning.anyCpuPrefix).
      // Sampled every 100 µs, not 1 ms: at ~1 µs per request a 1 ms sample lands on the client a handful of times in the window.
      // Its saturation phase is sized like the rounds' (about saturationSeconds at the rate the variant reached).
      const r = (await runRound(peers, gen, { ...pinning, servicePrefix: pinning.anyCpuPrefix }, ['zibrato'], roundsRun + 1, ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${profDir}`], {
        zibrato: saturationSize(rounds.zibrato!),
      })).zibrato!;
      const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      // Only the measured phases: start-up, module loading and warm-up are not what a request pays.
      if (file) profile = summariseProfile(join(profDir, file), 15, r.fixedWindowsUs);
      // The throughput target is judged at saturation (the service at its quota): where its CPU goes there.
      // The profile's own sample times are wall time, throttled periods included (a sample taken after a throttled
      // stretch is credited with it): its shares are what counts; the CPU they share is the scheduler's figure.
      if (file && r.saturationWindows && r.saturation) {
        saturationProfile = {
          ...summariseProfile(join(profDir, file), 15, r.saturationWindows.windows),
          requests: r.saturationWindows.completed,
          mainCpuUsPerRequest: (r.saturation.mainBusy / r.saturationRps) * 1e6,
        };
      }
    }

    // The Zibrato instrumentation alone, without HTTP (client-cost.ts), on the service's CPU, through the same `zibrato up`.
    const clientCost = await measureClientCost(peers, pinning);
    await gen.stop();

    const base = rounds.none!;
    const variants = Object.fromEntries(
      VARIANTS.map((v) => {
        const rs = rounds[v]!;
        const m = {
          cpuUsPerRequest: medianOf(rs, (r) => r.cpuUsPerRequest),
          p50Ms: medianOf(rs, (r) => r.latencyMs.p50),
          p99Ms: medianOf(rs, (r) => r.latencyMs.p99),
          p999Ms: medianOf(rs, (r) => r.latencyMs.p999),
          saturationRps: medianOf(rs, (r) => r.saturationRps),
          saturationProcessBusy: medianOf(rs, (r) => r.saturation?.processBusy ?? NaN),
          fixedRps: medianOf(rs, (r) => r.fixedRps),
          threadCpuUsPerRequest: {
            main: medianOf(rs, (r) => r.threadCpuUsPerRequest.main),
            zmq: medianOf(rs, (r) => r.threadCpuUsPerRequest.zmq),
            other: medianOf(rs, (r) => r.threadCpuUsPerRequest.other),
          },
        };
        const b = {
          cpuUsPerRequest: medianOf(base, (r) => r.cpuUsPerRequest),
          p99Ms: medianOf(base, (r) => r.latencyMs.p99),
          saturationRps: medianOf(base, (r) => r.saturationRps),
        };
        const p = pairedWithBase(v, rs, base);
        const completed = rs.reduce((a, r) => a + r.completed, 0);
        const withStats = rs.filter((r) => r.clientStats);
        const clientStats = withStats.length ? withStats.reduce<Record<string, number>>((acc, r) => {
          for (const [k, n] of Object.entries(r.clientStats!)) acc[k] = (acc[k] ?? 0) + n;
          return acc;
        }, {}) : undefined;
        const reported = v === 'none' || v === 'none2' || v === 'hooks' ? null : rs.reduce((a, r) => a + (r.reported ?? 0), 0);
        return [
          v,
          {
            rounds: rs,
            median: m,
            // The headline comparison: medians of the per-round comparisons with the same round's (a),
            // which cancel what a round shares (the machine's load at that moment).
            vsNone: {
              cpuAdded: p.cpuAdded.median,
              throughputLost: p.throughputLost.median,
              p99AddedUs: p.p99AddedUs.median,
            },
            // The older comparison of the medians, kept to show what pairing changes.
            vsNoneOfMedians: {
              cpuAdded: m.cpuUsPerRequest / b.cpuUsPerRequest - 1,
              throughputLost: 1 - m.saturationRps / b.saturationRps,
              p99AddedUs: (m.p99Ms - b.p99Ms) * 1000,
            },
            paired: p,
            // The same against (a″), the hooks alone: what the library itself adds.
            pairedVsHooks: v === 'hooks' || !rounds.hooks?.length ? undefined : pairedWithBase(v, rs, rounds.hooks),
            clientStats,
            counts: { completed, reported, lost: reported === null ? null : completed - reported, errors: rs.reduce((a, r) => a + r.errors, 0) },
          },
        ];
      }),
    );
    emitResult({ config: { ...CONFIG, rounds: roundsRun }, roundsStop, roundsPrecision: ROUNDS_PRECISION, pinning, saturationQuota, variants, profile, saturationProfile, clientCost, steadinessNs, seconds: (Date.now() - startedAt) / 1000 });
  } finally {
    await peers.stop();
    cpuQuota?.remove();
    idleCgroup?.remove();
  }
}

runBench('app', main);
