/**
 * Hosts for multi-host tests, made of Linux network namespaces on this
 * machine: each host is a namespace `zbf-<name>` with one veth interface
 * (`eth0`, an address in 10.77.0.0/16), whose other end is attached to a
 * bridge in a namespace of its own (`zbf-switch`). Nothing is added to the
 * machine's own namespace: no address, no interface, no route. A link is cut by
 * setting the switch end of its veth down (this kernel has no `netem`).
 *
 * Needs root and `ip` (iproute2); {@link requireNetns} fails clearly without
 * them. Only the multi-host test creates namespaces, always named `zbf-*`;
 * {@link removeLeftoverNamespaces} deletes those a killed run left behind.
 */
import { spawnSync } from 'node:child_process';
import { BIN, program, type Proc } from './processes.ts';
import { which } from '../../scripts/peers.js';

/** Every namespace of these tests starts with this, so a leftover one can be found and removed. */
export const NETNS_PREFIX = 'zbf-';
const SWITCH = `${NETNS_PREFIX}switch`;
const BRIDGE = 'br0';

/** Runs `ip <args>`; throws with its stderr when it fails. */
export function ip(args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed (${r.status}): ${r.stderr.trim() || r.error?.message}`);
  return r.stdout;
}

/** Throws, saying what is missing, unless this process can make namespaces (root, `ip` on PATH). */
export function requireNetns(): void {
  if (process.getuid?.() !== 0) throw new Error('the multi-host test makes Linux network namespaces and needs root: run `npm test` as root (CI does)');
  if (!which('ip', process.env.PATH)) throw new Error('the multi-host test needs `ip` (Debian package iproute2): apt-get install -y iproute2');
}

/** Deletes every `zbf-*` namespace (left over by a run that was killed). */
export function removeLeftoverNamespaces(): void {
  for (const line of ip(['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0];
    if (name?.startsWith(NETNS_PREFIX)) ip(['netns', 'del', name]);
  }
}

/** One simulated host. */
export interface Host {
  name: string;
  /** The namespace: `zbf-<name>`. */
  ns: string;
  /** Its address on the simulated network. */
  address: string;
  /** The switch end of its veth, the one {@link Network.cut} sets down. */
  port: string;
}

/** Hosts on one bridge. */
export class Network {
  readonly hosts = new Map<string, Host>();

  /** Makes the switch and one namespace per `{name, address}` (addresses in 10.77.0.0/16). */
  constructor(hosts: { name: string; address: string }[]) {
    ip(['netns', 'add', SWITCH]);
    ip(['-n', SWITCH, 'link', 'set', 'lo', 'up']);
    ip(['-n', SWITCH, 'link', 'add', BRIDGE, 'type', 'bridge']);
    ip(['-n', SWITCH, 'link', 'set', BRIDGE, 'up']);
    for (const [i, h] of hosts.entries()) {
      const ns = `${NETNS_PREFIX}${h.name}`;
      const port = `p${i}`;
      ip(['netns', 'add', ns]);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      // Both ends are made directly inside their namespaces: no interface ever appears in the machine's own.
      ip(['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', SWITCH]);
      ip(['-n', ns, 'addr', 'add', `${h.address}/16`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', SWITCH, 'link', 'set', port, 'master', BRIDGE]);
      ip(['-n', SWITCH, 'link', 'set', port, 'up']);
      this.hosts.set(h.name, { name: h.name, ns, address: h.address, port });
    }
  }

  host(name: string): Host {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** Cuts a host off the network (its switch port down); its own interface stays up, as when a cable is pulled at the switch. */
  cut(name: string): void {
    ip(['-n', SWITCH, 'link', 'set', this.host(name).port, 'down']);
  }

  restore(name: string): void {
    ip(['-n', SWITCH, 'link', 'set', this.host(name).port, 'up']);
  }

  /** Runs `zibrato <args>` on a host. `ip netns exec` execs it, so the PID is zibrato's own. */
  zibrato(name: string, args: string[], label: string, env?: Record<string, string>): Proc {
    return program('ip', ['netns', 'exec', this.host(name).ns, process.execPath, BIN, ...args], label, env);
  }

  /** Runs a Node script on a host. */
  node(name: string, script: string, args: string[], label: string): Proc {
    return program('ip', ['netns', 'exec', this.host(name).ns, process.execPath, script, ...args], label);
  }

  /** Runs any program on a host. */
  program(name: string, cmd: string, args: string[], label: string): Proc {
    return program('ip', ['netns', 'exec', this.host(name).ns, cmd, ...args], label);
  }

  /** Deletes every namespace (the veth pairs and the bridge go with them). */
  destroy(): void {
    for (const h of this.hosts.values()) ip(['netns', 'del', h.ns]);
    this.hosts.clear();
    ip(['netns', 'del', SWITCH]);
  }
}
