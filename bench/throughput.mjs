// End-to-end lossless throughput: the same rate search for Zibrato and for the
// etsy statsd daemon fed by hot-shots. A rate passes when every record made by
// the publishers reached the backend (0 lost), the publishers kept up with the
// offered rate (≥ 95 %), and the last record arrived within the grace period.
// A failure is retried once (other work shares the 2 cores), then the search stops.
// usage: node bench/throughput.mjs [--quick]
import { cpuSecondsOf, cpuSplitOf, emitResult, isQuick, runBench } from './lib/common.mjs';
import { StatsdSystem, ZibratoSystem, udpRcvbufErrors } from './lib/systems.mjs';

const quick = isQuick();
const DURATION_MS = quick ? 2000 : 6000;
const PUBLISHERS = 2;
/**
 * Everything must have arrived this soon after the publishers finished: two of
 * the backend's 500 ms flushes. A rate that only "passes" by draining a
 * backlog afterwards is above what the pipeline sustains.
 */
const DELIVERY_MS = 1000;
const PLANS = {
  zibrato: quick ? [1_000_000, 2_000_000, 4_000_000] : [1_000_000, 2_000_000, 4_000_000, 8_000_000, 12_000_000, 16_000_000, 24_000_000, 32_000_000],
  statsd: quick ? [5_000, 10_000, 20_000, 40_000] : [5_000, 10_000, 15_000, 20_000, 30_000, 40_000, 60_000, 80_000, 100_000],
  /** hot-shots packing ~40 increments per datagram (maxBufferSize 1400): statsd at its best. */
  statsdBuffered: quick ? [25_000, 50_000, 100_000] : [25_000, 50_000, 100_000, 200_000, 400_000, 800_000],
};

async function search(system, rates) {
  await system.start();
  const trials = [];
  let best = null;
  let trialNo = 0;
  try {
    for (const rate of rates) {
      let passed = false;
      for (let attempt = 0; attempt < 2 && !passed; attempt++) {
        const pids = [system.backendPid, system.pipe?.broker.pid].filter(Boolean);
        const cpu0 = pids.map(cpuSecondsOf);
        const split0 = pids.map(cpuSplitOf);
        const udp0 = udpRcvbufErrors();
        const r = await system.trial({ name: `bench.e2e.t${++trialNo}`, rate, durationMs: DURATION_MS, publishers: PUBLISHERS, graceMs: Math.max(2000, DURATION_MS / 2) });
        const cpu = pids.map((p, i) => cpuSecondsOf(p) - cpu0[i]);
        const split = pids.map((p, i) => {
          const now = cpuSplitOf(p);
          return { user: now.user - split0[i].user, system: now.system - split0[i].system };
        });
        passed = r.lost === 0 && r.dropped === 0 && r.achievedRate >= 0.95 * rate && r.deliveredMs !== null && r.deliveredMs <= DELIVERY_MS;
        const trial = { rate, attempt, passed, ...r, backendCpuS: cpu[0], brokerCpuS: cpu[1] ?? null, backendCpuSplit: split[0], brokerCpuSplit: split[1] ?? null, udpRcvbufErrors: udpRcvbufErrors() - udp0 };
        trials.push(trial);
        process.stderr.write(`throughput ${system.name}: ${rate}/s → made ${r.made}, received ${r.received}, lost ${r.lost}, achieved ${Math.round(r.achievedRate)}/s ${passed ? 'PASS' : 'fail'}\n`);
      }
      if (!passed) break;
      best = rate;
    }
  } finally {
    await system.stop();
  }
  return { system: system.name, losslessRate: best, maxTried: rates.at(-1), trials };
}

async function main() {
  const zib = await search(new ZibratoSystem(), PLANS.zibrato);
  const statsd = await search(new StatsdSystem(), PLANS.statsd);
  const statsdBuffered = await search(new StatsdSystem({ maxBufferSize: 1400 }), PLANS.statsdBuffered);
  emitResult({ bench: 'throughput', durationMs: DURATION_MS, deliveryMs: DELIVERY_MS, publishers: PUBLISHERS, zibrato: zib, statsd, statsdBuffered });
}

runBench('throughput', main);
