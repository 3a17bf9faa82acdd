import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = `${ROOT}bin/zibrato.js`;

/** A child process whose output is captured line by line. */
export class Proc {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { re: RegExp; resolve: (l: string) => void }[] = [];

  constructor(readonly child: ChildProcess, readonly label: string) {
    const onData = (buf: Buffer) => {
      for (const line of buf.toString('utf8').split('\n')) {
        if (!line) continue;
        this.lines.push(line);
        if (process.env.ZIBRATO_TEST_VERBOSE) process.stderr.write(`[${label}] ${line}\n`);
        this.waiters = this.waiters.filter((w) => (w.re.test(line) ? (w.resolve(line), false) : true));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first line (from line `sinceLine` on, or future) matching `re`; rejects after `timeoutMs` with the output so far. */
  waitFor(re: RegExp, timeoutMs = 15_000, sinceLine = 0): Promise<string> {
    const seen = this.lines.slice(sinceLine).find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.label}: no line matching ${re} within ${timeoutMs} ms. Output:\n${this.lines.join('\n')}`)), timeoutMs);
      this.waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  }

  /**
   * The exit, or a rejection with the output so far after `timeoutMs` (then
   * SIGKILL): a process that should end by itself must not hang the test.
   */
  exitWithin(timeoutMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`${this.label}: did not exit within ${timeoutMs} ms. Output:\n${this.lines.join('\n')}`));
      }, timeoutMs);
    });
    return Promise.race([this.exited, late]).finally(() => clearTimeout(timer));
  }

  /** Sends a signal and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill(signal);
      const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      const r = await this.exited;
      clearTimeout(t);
      return r;
    }
    return this.exited;
  }
}

const running = new Set<Proc>();

/**
 * Runs `zibrato <args>` from the built package. `groupLeader` starts it in a
 * process group of its own (as a shell does for a foreground job), so a test
 * can signal the whole group the way a terminal's Ctrl-C does: `process.kill(-pid, 'SIGINT')`.
 */
export function zibrato(args: string[], options: { cwd?: string; env?: Record<string, string>; label?: string; groupLeader?: boolean } = {}): Proc {
  return track(
    spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: options.groupLeader ?? false }),
    options.label ?? args.slice(0, 2).join(' '),
  );
}

/** Runs a Node script (fixtures import the built package from dist/). */
export function node(script: string, args: string[], label = script): Proc {
  return track(spawn(process.execPath, [script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }), label);
}

/** Runs any program. */
export function program(cmd: string, args: string[], label = cmd, env?: Record<string, string>): Proc {
  return track(spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }), label);
}

function track(child: ChildProcess, label: string): Proc {
  const p = new Proc(child, label);
  running.add(p);
  void p.exited.then(() => running.delete(p));
  return p;
}

/**
 * Stops every process a test started (by PID), for `after` hooks: SIGTERM
 * first, so that a `zibrato up` stops its own children instead of leaving them
 * orphaned, then SIGKILL for whatever is still running 5 s later.
 */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGTERM', 5000)));
}

/**
 * The one polling loop the test helpers share: calls `check` every `everyMs`
 * until `done` accepts what it returned, and throws after `timeoutMs` naming
 * `what` and the last value or error (a `check` that throws is retried).
 */
export async function pollUntil<T>(check: () => T | Promise<T>, done: (v: T) => boolean, what: string, timeoutMs: number, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (done(v)) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  return pollUntil(check, Boolean, what, timeoutMs, everyMs);
}
