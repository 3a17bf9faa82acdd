// The "started …" line of `zibrato up` shows each child's command so a user can
// copy it: every argument must come back from a shell as exactly itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { shellWord } from '../../src/supervisor/supervisor.ts';

test('an empty value and one with spaces or quotes are shown as one shell word each', () => {
  assert.equal(['--source-namespace', '', '--path', 'my data/x.jsonl'].map(shellWord).join(' '), "--source-namespace '' --path 'my data/x.jsonl'");
  assert.equal(shellWord("it's"), `'it'\\''s'`);
  assert.equal(shellWord('--recent-rows-mib'), '--recent-rows-mib');
});

test('whatever an argument holds, the shell reads back exactly that argument', () => {
  // One shell per case: a few dozen cases keep it quick.
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'binary' }).map((s) => s.replace(/\0/g, '')), { maxLength: 4 }), (args) => {
      const out = execFileSync('/bin/sh', ['-c', `for a in ${args.map(shellWord).join(' ')}; do printf '%s\\0' "$a"; done`], { encoding: 'utf8' });
      assert.deepEqual(out === '' ? [] : out.slice(0, -1).split('\0'), args);
    }),
    { numRuns: 60 },
  );
});
