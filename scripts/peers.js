#!/usr/bin/env node
// The Debian peers the integration tests talk to. `npm test` runs this first,
// so the README's test command passes on a fresh Debian machine on its own:
// a missing peer is installed (as root: apt-get update once, then one
// apt-get install, one line of output per package), or, without root, the
// tests stop at once with the exact command to run. Nothing is printed and
// nothing is installed when every peer is there, so running it again is free.
import { accessSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';

import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Each peer: the Debian package that provides it and how to tell it is there. */
export const PEERS = [
  { pkg: 'graphite-carbon', what: 'carbon-cache (Graphite sink tests)', commands: ['carbon-cache'] },
  { pkg: 'prometheus', what: 'prometheus and promtool (Prometheus sink tests)', commands: ['prometheus', 'promtool'] },
  { pkg: 'python3-zmq', what: 'pyzmq (Python publisher tests)', python: 'zmq' },
  { pkg: 'chromium', what: 'chromium (web UI tests)', commands: ['chromium'] },
  { pkg: 'supervisor', what: 'supervisord (deploy/supervisord test)', commands: ['supervisord'] },
  { pkg: 'victoria-metrics', what: 'victoria-metrics (remote-write tests)', commands: ['victoria-metrics'] },
  { pkg: 'systemd', what: 'systemd-analyze (deploy/systemd test)', commands: ['systemd-analyze'] },
  { pkg: 'iproute2', what: 'ip (multi-host test in network namespaces, run as root)', commands: ['ip'] },
];

/** The full path of `cmd` on `path` (a PATH string), or undefined. */
export function which(cmd, path) {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The peers missing on this machine, judged with `env.PATH` (and `env.ZIBRATO_TEST_PYTHON`, default /usr/bin/python3). */
export function missingPeers(env = process.env) {
  return PEERS.filter((p) => {
    if (p.commands) return p.commands.some((c) => !which(c, env.PATH));
    // Debian's python, the one the tests run (test/integration/python-vectors.test.ts), not a pyenv shim.
    const python = env.ZIBRATO_TEST_PYTHON ?? '/usr/bin/python3';
    return spawnSync(python, ['-c', `import ${p.python}`], { env, stdio: 'ignore' }).status !== 0;
  });
}

/** The command a user without root runs to install `pkgs`. */
export function installCommand(pkgs) {
  return `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
}

/**
 * Installs what is missing, or explains how. Returns the exit code: 0 when
 * every peer is there (after installing), 1 otherwise. `isRoot` and `env`
 * are parameters so a test can drive both paths with a stand-in apt-get.
 */
/** @param {{ env?: Record<string, string | undefined>, isRoot?: boolean, log?: (line: string) => void }} [options] */
export function ensurePeers({ env = process.env, isRoot = process.getuid?.() === 0, log = (line) => void process.stderr.write(line + '\n') } = {}) {
  const missing = missingPeers(env);
  if (missing.length === 0) return 0;
  const pkgs = missing.map((p) => p.pkg);
  const list = missing.map((p) => `${p.pkg} (${p.what})`).join(', ');
  const aptGet = which('apt-get', env.PATH);
  if (!aptGet) {
    log(`peers: the integration tests need ${list}; this is not a Debian machine (no apt-get): install them with your package manager, then run npm test again`);
    return 1;
  }
  if (!isRoot) {
    log(`peers: the integration tests need ${list}. Install them, then run npm test again:\n  ${installCommand(pkgs)}`);
    return 1;
  }
  const apt = (args) => {
    const r = spawnSync(aptGet, args, { env: { ...env, DEBIAN_FRONTEND: 'noninteractive' }, encoding: 'utf8' });
    return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
  };
  const fail = (step, output) => {
    log(`peers: apt-get ${step} failed; the last lines:\n${output.trim().split('\n').slice(-15).join('\n')}`);
    return 1;
  };
  const update = apt(['update', '-qq']);
  if (!update.ok) return fail('update', update.output);
  const install = apt(['install', '-y', '-qq', '--no-install-recommends', ...pkgs]);
  if (!install.ok) return fail(`install ${pkgs.join(' ')}`, install.output);
  const still = missingPeers(env);
  for (const p of missing) if (!still.includes(p)) log(`peers: installed ${p.pkg} for ${p.what}`);
  if (still.length > 0) {
    log(`peers: still missing after apt-get install: ${still.map((p) => p.pkg).join(', ')}`);
    return 1;
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exit(ensurePeers());
