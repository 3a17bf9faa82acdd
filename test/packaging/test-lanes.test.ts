import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_TESTS, UNIT_TESTS } from '../../scripts/test-lanes.js';
import { ROOT } from '../helpers/processes.ts';

/** What a test that starts processes or talks to peers imports. */
const NEEDS_PROCESS_OR_PEER = [/node:child_process/, /\b(zibrato|program|node)\(\[?/, /helpers\/peers\/(carbon|prometheus|statsd)/, /faults\//];

test('every test of the unit lane exists and starts no process and needs no peer', () => {
  for (const file of UNIT_TESTS.filter((f) => f !== 'test/packaging/test-lanes.test.ts')) {
    const path = join(ROOT, file);
    assert.ok(existsSync(path), `${file} is listed in scripts/test-lanes.js but does not exist`);
    const text = readFileSync(path, 'utf8');
    for (const re of NEEDS_PROCESS_OR_PEER) assert.doesNotMatch(text, re, `${file} is in the unit lane but matches ${re}`);
  }
});

test('every test that needs root exists, checks for root itself, and is not in the unit lane', () => {
  for (const file of ROOT_TESTS) {
    assert.ok(existsSync(join(ROOT, file)), `${file} is listed in scripts/test-lanes.js but does not exist`);
    assert.match(readFileSync(join(ROOT, file), 'utf8'), /requireNetns\(\)/, `${file} must fail clearly without root`);
    assert.ok(!UNIT_TESTS.includes(file), `${file} needs root and cannot be in the unit lane`);
  }
});
