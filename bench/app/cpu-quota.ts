// A CPU quota for the service during the saturation phase (a CFS bandwidth
// limit through a cgroup of its own: cgroup v1's cpu controller, or v2's
// cpu.max). Why: on this machine one autocannon process on its own core could
// not keep a fastify service on the other core busy (its main thread was on
// CPU ~30 % of the "saturation" phase, measured), so requests/s measured the
// load generator, not the service. Held to a share of a core well under what
// autocannon can drive, the service is the bottleneck, and its requests/s is
// what that share of CPU serves with each library.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where cgroup v1's cpu controller and cgroup v2 keep their cgroups. */
const CGROUP_V1_CPU = '/sys/fs/cgroup/cpu';
const CGROUP_V2 = '/sys/fs/cgroup';

/** The CFS period: short, so the quota throttles in small slices rather than 100 ms stalls. */
const PERIOD_US = 10_000;

export interface CpuQuota {
  /** Which cgroup interface is used, for the report. */
  readonly kind: 'cgroup v1' | 'cgroup v2';
  /** Moves a process (every thread of it) into the quota's cgroup. */
  add(pid: number): void;
  /** Limits the cgroup to `share` of one CPU (0.25: a quarter of a core); undefined lifts the limit. */
  limit(share: number | undefined): void;
  /** Times the cgroup was throttled so far (cpu.stat nr_throttled). */
  throttled(): number;
  /** Removes the cgroup (its processes must have exited). */
  remove(): void;
}

/** A cgroup for the quota, or the reason there is none (not root, no cpu controller). */
export function createCpuQuota(name: string): CpuQuota | { unavailable: string } {
  try {
    const v1 = CGROUP_V1_CPU;
    if (existsSync(join(v1, 'cpu.cfs_quota_us'))) {
      const dir = join(v1, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
      return quota('cgroup v1', dir, (share) => writeFileSync(join(dir, 'cpu.cfs_quota_us'), share === undefined ? '-1' : String(Math.round(share * PERIOD_US))));
    }
    const v2 = CGROUP_V2;
    if (readFileSync(join(v2, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu')) {
      const dir = join(v2, name);
      mkdirSync(dir, { recursive: true });
      if (!existsSync(join(dir, 'cpu.max'))) throw new Error('the cpu controller is not enabled for child cgroups (cgroup.subtree_control)');
      return quota('cgroup v2', dir, (share) => writeFileSync(join(dir, 'cpu.max'), share === undefined ? `max ${PERIOD_US}` : `${Math.round(share * PERIOD_US)} ${PERIOD_US}`));
    }
    return { unavailable: 'no cgroup cpu controller' };
  } catch (err) {
    return { unavailable: `cannot create a cgroup (${(err as Error).message.split('\n')[0]}); run as root` };
  }
}

function quota(kind: CpuQuota['kind'], dir: string, set: (share: number | undefined) => void): CpuQuota {
  return {
    kind,
    add: (pid) => writeFileSync(join(dir, 'cgroup.procs'), String(pid)),
    limit: set,
    throttled: () => Number(/nr_throttled (\d+)/.exec(readFileSync(join(dir, 'cpu.stat'), 'utf8'))?.[1] ?? 0),
    remove: () => {
      try {
        rmdirSync(dir);
      } catch {
        // Still has a process (a service that did not exit): the kernel keeps it until it does.
      }
    },
  };
}

/**
 * Removes the cgroups `<prefix><pid>` of runs whose process is gone. A run
 * stopped by a signal exits without its `finally`, so its cgroup stayed behind
 * (one did, after a run was stopped at its time limit). A cgroup that still
 * holds a process is kept: the kernel refuses to remove it.
 */
export function removeStaleCpuQuotas(prefix: string, roots: readonly string[] = [CGROUP_V1_CPU, CGROUP_V2]): string[] {
  const removed: string[] = [];
  for (const root of roots) {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const name of names) {
      const pid = name.startsWith(prefix) ? Number(name.slice(prefix.length)) : NaN;
      if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
      try {
        rmdirSync(join(root, name));
        removed.push(join(root, name));
      } catch {
        // Still holds a process, or not ours to remove.
      }
    }
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
