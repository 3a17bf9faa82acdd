import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePeers, installCommand, PEERS } from '../../scripts/peers.js';

/**
 * A machine with no peers and a stand-in apt-get: `install` creates each
 * package's commands in the same directory and logs every call, so the test
 * sees what would have run on a fresh Debian machine.
 */
function freshMachine(): { env: Record<string, string>; calls: () => string[] } {
  const bin = mkdtempSync(join(tmpdir(), 'zibrato-fresh-'));
  const calls = join(bin, 'calls.log');
  writeFileSync(calls, '');
  const commands: Record<string, string[]> = Object.fromEntries(PEERS.map((p) => [p.pkg, p.commands ?? ['python3']]));
  writeFileSync(
    join(bin, 'apt-get'),
    `#!/bin/sh\necho "$*" >> ${calls}\n[ "$1" = install ] || exit 0\nfor p in "$@"; do case "$p" in\n${Object.entries(commands)
      .map(([pkg, cmds]) => `  ${pkg}) ${cmds.map((c) => `printf '#!/bin/sh\\nexit 0\\n' > ${bin}/${c}; /bin/chmod +x ${bin}/${c}`).join('; ')};;`)
      .join('\n')}\nesac; done\n`,
  );
  chmodSync(join(bin, 'apt-get'), 0o755);
  return { env: { PATH: bin, ZIBRATO_TEST_PYTHON: join(bin, 'python3') }, calls: () => readFileSync(calls, 'utf8').split('\n').filter(Boolean) };
}

const ALL = PEERS.map((p) => p.pkg);

test('as root on a fresh machine, the peers are installed with one apt-get update, one install and one line per package', () => {
  const m = freshMachine();
  const lines: string[] = [];
  assert.equal(ensurePeers({ env: m.env, isRoot: true, log: (l: string) => lines.push(l) }), 0, lines.join('\n'));
  assert.deepEqual(m.calls(), ['update -qq', `install -y -qq --no-install-recommends ${ALL.join(' ')}`]);
  assert.equal(lines.length, ALL.length, lines.join('\n'));
  for (const [i, pkg] of ALL.entries()) assert.match(lines[i]!, new RegExp(`^peers: installed ${pkg} for `));
});

test('when every peer is there, nothing is printed and apt-get is not called (running it again is free)', () => {
  const m = freshMachine();
  ensurePeers({ env: m.env, isRoot: true, log: () => undefined });
  const before = m.calls().length;
  const lines: string[] = [];
  assert.equal(ensurePeers({ env: m.env, isRoot: true, log: (l: string) => lines.push(l) }), 0);
  assert.deepEqual(lines, []);
  assert.equal(m.calls().length, before);
});

test('without root, a missing peer stops at once with the exact command to run, and installs nothing', () => {
  const m = freshMachine();
  const lines: string[] = [];
  assert.equal(ensurePeers({ env: m.env, isRoot: false, log: (l: string) => lines.push(l) }), 1);
  assert.deepEqual(m.calls(), []);
  assert.equal(installCommand(ALL), `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${ALL.join(' ')}`);
  assert.ok(lines.join('\n').includes(installCommand(ALL)), lines.join('\n'));
});

test('this machine has every peer the tests need (npm test installs them first)', () => {
  const lines: string[] = [];
  assert.equal(ensurePeers({ isRoot: false, log: (l: string) => lines.push(l) }), 0, lines.join('\n'));
});

test("CI runs the README's test command, which installs the peers itself", () => {
  const root = new URL('../..', import.meta.url);
  const ci = readFileSync(new URL('.ci/run', root), 'utf8');
  const commands = ci.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#') && !/^(set|cd) /.test(l.trim()));
  assert.deepEqual(commands, ['npm ci --no-audit --no-fund', 'npm test', 'npm run bench -- --quick']);
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  assert.match(readme, /```sh\nnpm test\n```/);
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.test!, /^node scripts\/peers\.js && /);
});
