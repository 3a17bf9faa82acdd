// CPU accounting and CPU pinning for the real-service benchmark (bench/app/main.ts).
//
// Time on CPU comes from /proc/<pid>/task/<tid>/schedstat (nanoseconds the
// scheduler ran each thread) rather than /proc/<pid>/stat's utime + stime,
// which count 10 ms ticks: at a few µs per request, a 10 s window held only a
// handful of ticks per thread or peer, so the per-thread split and the peers'
// CPU were mostly rounding.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Nanoseconds on CPU of one process's threads, grouped: the main (JavaScript) thread, libzmq's I/O threads (`ZMQbg/…`), the rest (libuv pool, V8 GC and compiler threads). */
export interface ThreadCpuNs {
  main: number;
  zmq: number;
  other: number;
}

/** One thread's time on CPU in ns: schedstat's first field, or utime + stime ticks (10 ms) where schedstat is missing. */
function threadNs(pid: number, tid: string): { ns: number; comm: string } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  } catch {
    return undefined; // the thread ended
  }
  // "tid (comm) state …": comm may hold spaces, so split after the last ')'.
  const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  try {
    const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    if (Number.isFinite(ns)) return { ns, comm };
  } catch {
    // no schedstat (CONFIG_SCHED_INFO off): ticks below
  }
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ns: (Number(f[11]) + Number(f[12])) * 10_000_000, comm }; // utime, stime (fields 14 and 15), USER_HZ = 100
}

/** Time on CPU of every thread of `pid` so far, by {@link ThreadCpuNs} group; zeros when the process is gone or this is not Linux. */
export function threadCpuNs(pid: number): ThreadCpuNs {
  const t: ThreadCpuNs = { main: 0, zmq: 0, other: 0 };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return t;
  }
  for (const tid of tids) {
    const th = threadNs(pid, tid);
    if (!th) continue;
    if (Number(tid) === pid) t.main += th.ns;
    else if (th.comm.startsWith('ZMQbg')) t.zmq += th.ns;
    else t.other += th.ns;
  }
  return t;
}

/** Time on CPU (ns) of all the threads of all of `pids` so far. */
export function processesCpuNs(pids: readonly number[]): number {
  let ns = 0;
  for (const pid of pids) {
    const t = threadCpuNs(pid);
    ns += t.main + t.zmq + t.other;
  }
  return ns;
}

/** Where the service runs and where everything else runs, or why nothing is pinned. */
export interface Pinning {
  /** `taskset -c <serviceCpus>` prefix for the service (empty: unpinned). */
  servicePrefix: string[];
  /**
   * The prefix that lets a process use every allowed CPU again (empty: unpinned). The
   * profiled round uses it: V8's sampling thread needs a CPU beside the busy main thread,
   * or its samples land mostly while the main thread idles.
   */
  anyCpuPrefix: string[];
  serviceCpus: string;
  othersCpus: string;
  /** Why the run is unpinned (undefined when pinned). */
  unpinned?: string;
}

/** The CPUs this process may run on (`taskset -p -c`), e.g. [0, 1]. */
function allowedCpus(pid: number): number[] {
  const out = execFileSync('taskset', ['-p', '-c', String(pid)], { encoding: 'utf8' });
  const list = out.slice(out.lastIndexOf(':') + 1).trim();
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    for (let c = a; c <= (b ?? a); c++) cpus.push(c);
  }
  return cpus;
}

/**
 * Pins this process (the harness, and so every peer and load generator it
 * starts from now on, which inherit its affinity) to every allowed CPU but the
 * last, and returns the prefix that starts the service on the last one. The
 * service then has a core of its own: what the peers, autocannon and the other
 * variants' daemons do no longer lands in its CPU time or its latency. On a
 * machine with one CPU (or without taskset) nothing is pinned and the reason is returned.
 */
export function pinService(enabled: boolean): Pinning {
  if (!enabled) return { servicePrefix: [], anyCpuPrefix: [], serviceCpus: 'any', othersCpus: 'any', unpinned: 'pinning turned off (ZIBRATO_BENCH_APP_PIN=0)' };
  let cpus: number[];
  try {
    cpus = allowedCpus(process.pid);
  } catch (err) {
    return { servicePrefix: [], anyCpuPrefix: [], serviceCpus: 'any', othersCpus: 'any', unpinned: `taskset failed (${(err as Error).message.split('\n')[0]})` };
  }
  if (cpus.length < 2) return { servicePrefix: [], anyCpuPrefix: [], serviceCpus: 'any', othersCpus: 'any', unpinned: `only ${cpus.length} CPU available: the service shares it with the load generator and the peers` };
  const service = cpus.at(-1)!;
  const others = cpus.slice(0, -1).join(',');
  // -a: every thread of this process (tsx's loader thread, libuv's pool) too.
  execFileSync('taskset', ['-a', '-p', '-c', others, String(process.pid)], { stdio: 'ignore' });
  return { servicePrefix: ['taskset', '-c', String(service)], anyCpuPrefix: ['taskset', '-c', cpus.join(',')], serviceCpus: String(service), othersCpus: others };
}
