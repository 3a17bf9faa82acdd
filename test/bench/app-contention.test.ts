// The real-service benchmark measures a variant again when its contention
// probe says the machine was slow meanwhile (bench/app/contention.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONTENTION_LIMIT, isContended, parseProbeLines, slowdown, usualNsPerUnit, windowMedian } from '../../bench/app/contention.js';

test('probe lines are parsed; anything else is skipped', () => {
  const samples = parseProbeLines(['@@probe 1000 350.5 1', 'noise', '@@probe 1100 x 0', '@@probe 1200 -3 0', '@@probe 1300 700 0']);
  assert.deepEqual(samples, [
    { atUs: 1000, nsPerUnit: 350.5 },
    { atUs: 1300, nsPerUnit: 700 },
  ]);
});

test("a window's median takes the samples inside it, and is unknown with too few", () => {
  const samples = [100, 200, 300, 400, 500, 600, 700].map((atUs, i) => ({ atUs, nsPerUnit: 10 * (i + 1) }));
  assert.equal(windowMedian(samples, 200, 600, 5), 40);
  assert.ok(Number.isNaN(windowMedian(samples, 200, 500, 5)));
});

test("the run's usual is its quiet state, even when episodes fill half the run", () => {
  const quiet = Array.from({ length: 10 }, (_, i) => 340 + i);
  const episodes = Array.from({ length: 10 }, (_, i) => 650 + i);
  const usual = usualNsPerUnit([...episodes, ...quiet]);
  assert.ok(usual >= 340 && usual <= 349, `usual ${usual}`);
  // A window of an episode is then far above the limit; a quiet one is not.
  assert.deepEqual([slowdown(655, usual), slowdown(345, usual)].map((s) => s > CONTENTION_LIMIT), [true, false]);
});

test('a measurement is contended when any window is more than the limit slower; a window it cannot tell about does not count', () => {
  assert.equal(isContended([0.1, 0.05]), false);
  assert.equal(isContended([0.1, CONTENTION_LIMIT + 0.01]), true);
  assert.equal(isContended([NaN, 0.02]), false);
  assert.equal(isContended([slowdown(NaN, 300), slowdown(NaN, 300)]), false);
});
