// The contention probe of the real-service benchmark (bench/app/main.ts): a
// small piece of memory-bound work, timed in CPU time every 100 ms, at idle
// priority on the service's CPU, for the whole run.
//
// Why: this host's other tenants slow a CPU in episodes of seconds to a minute
// (the same work took 340 ns a unit, then 650–850, then 340 again), and an
// episode moves a variant's CPU per request by up to 2× — far more than the
// differences measured. What slows the service slows this work alike: on
// 2026-12-01, over 58 windows of 2 s, its median and the uninstrumented
// service's CPU per request at 2,000 requests/s correlated at 0.92 (both 1.4–2×
// higher in an episode). The harness reads it over each measurement's windows
// and measures a variant again when the probe says the machine was slow then,
// without looking at the variant's own figures.
//
// It costs the service little: 500 units (~0.5 ms) every 100 ms, run only when
// the CPU is otherwise idle (SCHED_IDLE, `chrt --idle 0`, which the harness sets).
//
//   node --import tsx bench/app/contention-probe.ts    prints `@@probe <monotonic µs> <ns per unit>` every 100 ms

import { requestLikeWork } from './request-like-work.js';

const UNITS = 500;
const INTERVAL_MS = 100;

/** The same kind of work as a request's, from where the last sample stopped. */
const work = requestLikeWork();

// Compiled before the first sample, so samples time the machine, not the JIT.
let sink = work(200_000);
setInterval(() => {
  const before = process.cpuUsage();
  sink += work(UNITS);
  const used = process.cpuUsage(before);
  // CLOCK_MONOTONIC, the clock of the service's /__cpu windows.
  process.stdout.write(`@@probe ${process.hrtime.bigint() / 1000n} ${(((used.user + used.system) * 1000) / UNITS).toFixed(1)} ${sink & 1}\n`);
}, INTERVAL_MS);
