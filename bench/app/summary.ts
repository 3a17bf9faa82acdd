// What a run of the real-service benchmark (bench/app/main.ts) reports, from
// its rounds: each variant's medians over rounds and its paired comparisons
// with the same round's (a). One place, so a run and rounds pooled from
// several runs (bench/app/pool.ts) are summarised by the same rule.
import { median } from '../lib/common.mjs';
import type { ThreadCpuNs } from './cpu.js';
import { isContended } from './contention.js';
import { VARIANTS, type Variant } from './instrumentations.js';

/** Latency percentiles of a load phase, ms (load.mjs: exact, over every response). */
export interface LatencyMs {
  p50: number;
  p99: number;
  p999: number;
  mean: number;
  samples: number;
}

export interface RoundResult {
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
  /** The fixed-rate window's length, s. */
  fixedSeconds: number;
  fixedRps: number;
  latencyMs: LatencyMs;
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
  /** When the fixed-rate phase ran, on the service's monotonic clock. */
  fixedWindowUs: { fromUs: number; toUs: number };
  /** When the saturation phase ran, on the same clock, and the requests it completed (no saturation phase: undefined). */
  saturationWindow?: { fromUs: number; toUs: number; completed: number };
  /** The Zibrato client's stats() when the service closed (Zibrato variant only). */
  clientStats?: Record<string, number>;
  /**
   * How much slower than usual the contention probe ran over the fixed-rate and the saturation
   * window (contention.ts; NaN: too few samples), and how many measurements of this variant in
   * this round were set aside for it before this one; fixedNs and saturationNs are the probe's own
   * medians over those windows (ns per unit), kept so a run can be read against the probe afterwards.
   */
  contention?: { fixed: number; saturation: number; remeasured: number; fixedNs?: number; saturationNs?: number };
}
/** The instrumented variants whose work partly runs in processes of their own. */
export type PeerGroup = 'zibrato' | 'prom' | 'otel' | 'hotshots';
export const PEER_GROUPS: readonly PeerGroup[] = ['zibrato', 'prom', 'otel', 'hotshots'];
const medianOf = (rs: RoundResult[], f: (r: RoundResult) => number): number => median(rs.map(f));
/** One comparison with (a), round by round, and what it comes to. */
export interface Paired {
  /** Median over rounds of the round's comparison with the same round's (a). */
  median: number;
  /** Each round's comparison, in round order. */
  rounds: number[];
  /** Rounds whose comparison has the sign of the median (judged by report.mjs's sign test: 6 of 6 is p ≈ 0.03, 9 of 10 p ≈ 0.02). */
  sameSign: number;
}

export function paired(rs: RoundResult[], base: RoundResult[], f: (r: RoundResult, b: RoundResult) => number): Paired {
  const rounds = rs.flatMap((r) => {
    const b = base.find((x) => x.round === r.round);
    return b ? [f(r, b)] : [];
  });
  const m = median(rounds);
  return { median: m, rounds, sameSign: rounds.filter((x) => Math.sign(x) === Math.sign(m) && x !== 0).length };
}

/**
 * What `group`'s peers burn per second while they serve nobody, in `round`: the
 * median over the round's windows of the other variants (a peer's own
 * housekeeping: Prometheus' TSDB, the backend's flush timer, a stray late export).
 */
function idlePeerUsPerSecond(all: Record<string, RoundResult[]>, group: PeerGroup, round: number, fixedRequests: number): number {
  const rates = VARIANTS.filter((v) => v !== group).flatMap((v) => {
    const r = all[v]!.find((x) => x.round === round);
    return r && r.fixedSeconds > 0 ? [(r.peerCpuUsPerRequest[group] * fixedRequests) / r.fixedSeconds] : [];
  });
  return rates.length ? median(rates) : 0;
}

export const cpuAdded = (r: RoundResult, b: RoundResult): number => r.cpuUsPerRequest / b.cpuUsPerRequest - 1;
export const throughputLost = (r: RoundResult, b: RoundResult): number => 1 - r.saturationRps / b.saturationRps;

/** The paired comparisons of a variant's rounds with (a)'s. */
function pairedWithBase(v: Variant, rs: RoundResult[], base: RoundResult[], all: Record<string, RoundResult[]>, fixedRequests: number) {
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
    // The variant's peers over its window, less what they burn idle over a window as long (idlePeerUsPerSecond).
    movedOutUs: group
      ? paired(rs, base, (r) => r.peerCpuUsPerRequest[group] - (idlePeerUsPerSecond(all, group, r.round, fixedRequests) * r.fixedSeconds) / fixedRequests)
      : undefined,
  };
}

/**
 * Every variant's figures: medians over rounds, and the paired comparisons with
 * (a) (and with (a″), the hooks alone). `fixedRequests` is the fixed-rate
 * phase's size (what a peer's idle cost per request is reckoned over).
 */
export function summariseVariants(rounds: Record<string, RoundResult[]>, fixedRequests: number) {
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
      const p = pairedWithBase(v, rs, base, rounds, fixedRequests);
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
          pairedVsHooks: v === 'hooks' || !rounds.hooks?.length ? undefined : pairedWithBase(v, rs, rounds.hooks, rounds, fixedRequests),
          clientStats,
          counts: { completed, reported, lost: reported === null ? null : completed - reported, errors: rs.reduce((a, r) => a + r.errors, 0) },
        },
      ];
    }),
  );
  return variants;
}

/** How many of the rounds' measurements were kept though the probe found them contended (contention.ts). */
export function keptContended(rounds: Record<string, RoundResult[]>): number {
  return VARIANTS.reduce((n, v) => n + rounds[v]!.filter((r) => r.contention && isContended([r.contention.fixed, r.contention.saturation])).length, 0);
}
