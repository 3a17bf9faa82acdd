// A small timing loop for nanosecond-scale calls.
//
// Why not mitata's measure(): it generates a fresh loop function on every call,
// and on a busy 2-core machine V8's background compiler often has not finished
// optimising that loop before ~1 M calls are over, so an empty call measured
// 7–11 ns instead of 0.15 ns. Here each case gets one loop function, warmed up
// once and reused by every round, so rounds measure optimised code only.
// (mitata's do_not_optimize is still used by the cases themselves.)

const nowNs = () => process.hrtime.bigint();
let loops = 0;

/** A reusable timed loop around `fn`. */
export function runner(fn) {
  // A fresh function per case (own type feedback) keeps the call site monomorphic. The
  // source must differ per case: V8 caches `new Function` by source text, and a shared
  // loop would see every case and call them all through one megamorphic site.
  const loop = new Function('fn', 'n', `"use strict"; /* loop ${++loops} */ for (let i = 0; i < n; i++) { fn(); fn(); fn(); fn(); }`);
  return {
    /** Mean ns per call over `calls` calls (a multiple of 4). */
    sample(calls) {
      const t0 = nowNs();
      loop(fn, calls >> 2);
      return Number(nowNs() - t0) / calls;
    },
  };
}

/**
 * Runs `samples` samples of `callsPerSample` calls and returns the trimmed mean
 * (the slowest 5 % of samples dropped: a descheduled thread, not our code) and the median.
 */
export function measureRound(r, samples, callsPerSample) {
  const xs = new Array(samples);
  for (let i = 0; i < samples; i++) xs[i] = r.sample(callsPerSample);
  xs.sort((a, b) => a - b);
  const keep = xs.slice(0, Math.max(1, Math.ceil(samples * 0.95)));
  return { mean: keep.reduce((a, b) => a + b, 0) / keep.length, p50: xs[samples >> 1], min: xs[0], calls: samples * callsPerSample };
}

/** Calls `r` `calls` times so the JIT has optimised the loop and the case before anything is counted. */
export function warm(r, calls, callsPerSample) {
  for (let done = 0; done < calls; done += callsPerSample) r.sample(callsPerSample);
}
