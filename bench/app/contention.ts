// The rule that measures a variant again when the machine was slow during its
// measurement (bench/app/contention-probe.ts). It reads only the probe: never
// the variant's own figures, so it cannot wait for a result it likes.

import { median } from '../lib/common.mjs';

/** A measurement is contended when the probe's median over one of its windows is this much above the run's usual. */
export const CONTENTION_LIMIT = 0.15;
/** A variant is measured at most this many more times in a round; the last measurement is kept, marked. */
export const MAX_REMEASURES = 2;

/** One probe sample: when (CLOCK_MONOTONIC, µs) and how long a unit of its work took (ns of CPU). */
export interface ProbeSample {
  atUs: number;
  nsPerUnit: number;
}

/** Parses the probe's `@@probe <µs> <ns>` lines; other lines are skipped. */
export function parseProbeLines(lines: readonly string[]): ProbeSample[] {
  const out: ProbeSample[] = [];
  for (const l of lines) {
    if (!l.startsWith('@@probe ')) continue;
    const [, at, ns] = l.split(' ');
    const s = { atUs: Number(at), nsPerUnit: Number(ns) };
    if (Number.isFinite(s.atUs) && Number.isFinite(s.nsPerUnit) && s.nsPerUnit > 0) out.push(s);
  }
  return out;
}

/** The probe's median over a window (µs, inclusive), or NaN with fewer than `minSamples` samples in it. */
export function windowMedian(samples: readonly ProbeSample[], fromUs: number, toUs: number, minSamples = 5): number {
  const xs = samples.filter((s) => s.atUs >= fromUs && s.atUs <= toUs).map((s) => s.nsPerUnit);
  return xs.length >= minSamples ? median(xs) : NaN;
}

/**
 * What the probe usually reads this run: the 25th percentile of the window
 * medians so far. Episodes only ever slow the machine, so the lower quarter is
 * its quiet state even when episodes fill half the run; a plain median would
 * follow them.
 */
export function usualNsPerUnit(windowMedians: readonly number[]): number {
  const s = windowMedians.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 4)]! : NaN;
}

/** How much slower than usual the probe ran in a window (0.2: 20 % slower); NaN where it cannot tell. */
export function slowdown(windowMedian: number, usual: number): number {
  return Number.isFinite(windowMedian) && usual > 0 ? windowMedian / usual - 1 : NaN;
}

/** True when any window was more than {@link CONTENTION_LIMIT} slower than usual (a window it cannot tell about does not count). */
export function isContended(slowdown: readonly number[], limit = CONTENTION_LIMIT): boolean {
  return slowdown.some((s) => s > limit);
}
