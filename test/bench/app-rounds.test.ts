// How many rounds the real-service benchmark runs (bench/app/rounds.ts): it
// adds rounds until (a′) against (a) is known to ±1 %, within its bounds, and
// the rule looks at the spread of the rounds, never at how far apart they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rotated, whyStopRounds, type NoiseFloorRounds, type RoundsConfig } from '../../bench/app/rounds.js';

const config: RoundsConfig = { fixedRounds: undefined, minRounds: 10, maxRounds: 100, maxMinutes: 100 };

/** (a′)'s per-round comparisons with (a): `n` rounds alternating ±spread around `centre`, the same for CPU and throughput. */
function floor(n: number, spread: number, centre = 0): NoiseFloorRounds {
  const rounds = Array.from({ length: n }, (_, i) => centre + (i % 2 === 0 ? spread : -spread));
  return { cpuAdded: { rounds }, throughputLost: { rounds } };
}

test('no stop before the minimum, however tight the rounds', () => {
  assert.equal(whyStopRounds(9, floor(9, 0), 900, config), undefined);
  assert.equal(whyStopRounds(10, floor(10, 0), 1000, config), 'noise floor resolved');
});

test('rounds spread ±2.5 % are not enough at 10 rounds and enough once the median is known to ±1 %', () => {
  // σ from the MAD is 1.4826 × 2.5 % = 3.7 %; 1.2533 σ / √n ≤ 1 % from n = 22 (even counts: half each way).
  assert.equal(whyStopRounds(10, floor(10, 0.025), 1000, config), undefined);
  assert.equal(whyStopRounds(20, floor(20, 0.025), 2000, config), undefined);
  assert.equal(whyStopRounds(22, floor(22, 0.025), 2200, config), 'noise floor resolved');
  // Known to ±2 % (the bar itself) is not enough: spread ±5 % at 22 rounds.
  assert.equal(whyStopRounds(22, floor(22, 0.05), 2200, config), undefined);
});

test('the rule does not look at the difference: a tight spread around +30 % stops as soon as a tight one around 0', () => {
  assert.equal(whyStopRounds(10, floor(10, 0.001, 0.3), 1000, config), 'noise floor resolved');
  assert.equal(whyStopRounds(10, floor(10, 0.001, 0), 1000, config), 'noise floor resolved');
});

test('CPU and throughput must both be known: a wide throughput alone keeps the rounds going', () => {
  const rounds = floor(30, 0.001);
  rounds.throughputLost = { rounds: floor(30, 0.2).throughputLost.rounds };
  assert.equal(whyStopRounds(30, rounds, 3000, config), undefined);
});

test('the limits stop a run whose noise floor never settles, and a fixed count overrides the rule', () => {
  const wide = floor(100, 0.3);
  assert.equal(whyStopRounds(99, wide, 3000, config), undefined);
  assert.equal(whyStopRounds(100, wide, 3000, config), 'round limit');
  // 50 rounds in 99 min: one more at ~2 min a round would pass 100 min.
  assert.equal(whyStopRounds(50, wide, 99 * 60, config), 'time limit');
  assert.equal(whyStopRounds(50, wide, 90 * 60, config), undefined);
  const fixed = { ...config, fixedRounds: 3 };
  assert.equal(whyStopRounds(2, floor(2, 0), 200, fixed), undefined);
  assert.equal(whyStopRounds(3, wide, 300, fixed), 'fixed');
});

test('the order turns by one each round: over as many rounds as variants, each takes every place once', () => {
  const variants = ['a', 'b', 'c', 'd', 'e', 'f', 'g'] as const;
  assert.deepEqual(rotated(variants, 0), [...variants]);
  assert.deepEqual(rotated(variants, 1), ['b', 'c', 'd', 'e', 'f', 'g', 'a']);
  assert.deepEqual(rotated(variants, 8), rotated(variants, 1));
  for (let place = 0; place < variants.length; place++) {
    const seen = new Set(Array.from({ length: variants.length }, (_, round) => rotated(variants, round)[place]));
    assert.equal(seen.size, variants.length, `place ${place}`);
  }
});
