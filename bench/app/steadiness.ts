// The machine's own steadiness, for the real-service benchmark (bench/app/main.ts):
// the same fixed piece of work, timed in CPU time on the service's CPU before
// every service starts. Its spread over a run is what the machine (other
// tenants of the host, its caches, the runtime's start-up luck) does to a
// process's CPU time: the best that any measure of the service can do round to
// round. The report sets each measure's spread against it, so a measure that
// moves far more is known to be noisy by itself, not because of the machine.
//
//   node --import tsx bench/app/steadiness.ts      prints `@@steadiness <ns per unit>`
//
// The work is what a request of the service does, without I/O: a lookup among
// 10,000 entries keyed by a built string, an object serialised to JSON.

import { requestLikeWork } from './request-like-work.js';

const WARMUP_UNITS = 200_000;
/** About half a second on this machine: long enough to hold many scheduler ticks, short enough to run 40 times a run. */
const UNITS = 1_500_000;

const work = requestLikeWork();

// Compiled and optimised before it is timed: what is measured is the machine, not the JIT's warm-up.
let sink = work(WARMUP_UNITS);
const before = process.cpuUsage();
sink += work(UNITS);
const used = process.cpuUsage(before);
process.stdout.write(`@@steadiness ${(((used.user + used.system) * 1000) / UNITS).toFixed(2)} ${sink % 2}\n`);
