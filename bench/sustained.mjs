// Sustained load: 100,000 measurements/s for 60 s (10 s with --quick) through
// each system; every record made is accounted for: received, or lost and
// counted somewhere (client `dropped`, backend `dropped`), or lost silently.
// usage: node bench/sustained.mjs [--quick]
import { cpuSecondsOf, emitResult, isQuick, rssOf, runBench } from './lib/common.mjs';
import { StatsdSystem, ZibratoSystem, udpRcvbufErrors } from './lib/systems.mjs';

const quick = isQuick();
const RATE = 100_000;
const DURATION_MS = quick ? 10_000 : 60_000;

async function run(system) {
  await system.start();
  try {
    const pid = system.backendPid;
    const cpu0 = cpuSecondsOf(pid);
    const udp0 = udpRcvbufErrors();
    let rssMax = 0;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssOf(pid))), 250);
    const r = await system.trial({ name: 'bench.sustained', rate: RATE, durationMs: DURATION_MS, publishers: 2, graceMs: 5000 });
    clearInterval(sampler);
    const backendLosses = system.backendLosses?.() ?? null;
    const out = { system: system.name, rate: RATE, durationMs: DURATION_MS, ...r, backendLosses, backendCpuS: cpuSecondsOf(pid) - cpu0, backendRssMaxBytes: rssMax, udpRcvbufErrors: udpRcvbufErrors() - udp0 };
    process.stderr.write(`sustained ${system.name}: made ${r.made}, received ${r.received}, lost ${r.lost}, counted ${r.countedLoss}\n`);
    return out;
  } finally {
    await system.stop();
  }
}

async function main() {
  const zibrato = await run(new ZibratoSystem());
  const statsd = await run(new StatsdSystem());
  emitResult({ bench: 'sustained', zibrato, statsd });
}

runBench('sustained', main);
