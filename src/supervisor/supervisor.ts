import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** One supervised process: a `zibrato` subcommand. */
export interface ChildSpec {
  /** Log prefix and identity, e.g. `broker`, `backend:file`. */
  name: string;
  /** Arguments to `zibrato`. */
  args: string[];
  /** Extra environment (credentials travel here, never in argv). */
  env?: Record<string, string>;
  /** Stop order: lower stops first (gateways, then backends, then the broker). */
  stopOrder: number;
}

/** Options of the {@link Supervisor}. */
export interface SupervisorOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  log: (line: string) => void;
  /** How long a child may take to stop before it is killed. Default 10 s. */
  stopTimeoutMs?: number;
  /**
   * Exit codes a restart cannot fix (a usage/config error, an endpoint in
   * use): a child that exits with one is not restarted; `onPermanentFailure`
   * is called instead. Default: none (always restart).
   */
  permanentExitCodes?: readonly number[];
  /** Called once when a child exits with one of `permanentExitCodes`. */
  onPermanentFailure?: (name: string, code: number, lastLines: string[]) => void;
  /** Extra environment for every child. */
  env?: Record<string, string>;
}

/**
 * Set in each child's environment: the child ignores SIGINT and SIGTERM and
 * stops on {@link STOP_MESSAGE} over its IPC channel, or when the channel
 * closes (src/cli/signals.ts says why).
 */
export const SUPERVISED_ENV = 'ZIBRATO_SUPERVISED';
/** What the supervisor sends a child over IPC to make it stop (final flush included). */
export const STOP_MESSAGE = 'zibrato:stop';

const BIN = fileURLToPath(new URL('../../bin/zibrato.js', import.meta.url));
/** A child that ran this long is healthy again: its next restart starts from the initial delay. */
const HEALTHY_AFTER_MS = 10_000;

interface Running {
  spec: ChildSpec;
  child: ChildProcess | undefined;
  restarts: number;
  delayMs: number;
  startedAt: number;
  timer: NodeJS.Timeout | undefined;
  /** The child's last few output lines, to quote when it fails for good. */
  lastLines: string[];
}

/** How many of a child's last output lines a permanent failure quotes. */
const LAST_LINES_KEPT = 5;

/**
 * Runs zibrato components as child processes: prefixes their output, restarts
 * one that dies with exponential backoff, and on stop tells each to stop (over IPC), in order, so
 * each backend makes its final flush.
 */
export class Supervisor {
  private readonly running: Running[];
  private stopping = false;

  constructor(
    specs: ChildSpec[],
    private readonly options: SupervisorOptions,
  ) {
    this.running = specs.map((spec) => ({ spec, child: undefined, restarts: 0, delayMs: options.initialDelayMs, startedAt: 0, timer: undefined, lastLines: [] }));
  }

  /** PIDs by child name (for status and tests). */
  pids(): Record<string, number | undefined> {
    return Object.fromEntries(this.running.map((r) => [r.spec.name, r.child?.pid]));
  }

  start(): void {
    for (const r of this.running) this.launch(r);
  }

  private launch(r: Running): void {
    const child = spawn(process.execPath, [BIN, ...r.spec.args], {
      env: { ...process.env, ...this.options.env, ...r.spec.env, [SUPERVISED_ENV]: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    r.child = child;
    r.startedAt = Date.now();
    const prefix = `[${r.spec.name}] `;
    const keep = (l: string) => {
      r.lastLines.push(l);
      if (r.lastLines.length > LAST_LINES_KEPT) r.lastLines.shift();
    };
    createInterface({ input: child.stdout! }).on('line', (l) => process.stdout.write(prefix + l + '\n'));
    createInterface({ input: child.stderr! }).on('line', (l) => {
      keep(l);
      process.stderr.write(prefix + l + '\n');
    });
    this.options.log(`started ${r.spec.name} (pid ${child.pid}): zibrato ${r.spec.args.map(shellWord).join(' ')}`);
    child.on('exit', (code, signal) => {
      r.child = undefined;
      if (this.stopping) return;
      if (code !== null && this.options.permanentExitCodes?.includes(code)) {
        this.options.log(`${r.spec.name} exited with code ${code}, which a restart cannot fix; not restarting it`);
        this.options.onPermanentFailure?.(r.spec.name, code, r.lastLines);
        return;
      }
      if (Date.now() - r.startedAt > HEALTHY_AFTER_MS) r.delayMs = this.options.initialDelayMs;
      r.restarts++;
      this.options.log(`${r.spec.name} exited (${signal ?? `code ${code}`}); restart #${r.restarts} in ${r.delayMs} ms`);
      r.timer = setTimeout(() => this.launch(r), r.delayMs);
      r.delayMs = Math.min(r.delayMs * 2, this.options.maxDelayMs);
    });
  }

  /**
   * Kills every running child at once (a second Ctrl-C: the user insists).
   * SIGKILL, because supervised children ignore signals.
   */
  killAll(): void {
    this.stopping = true;
    for (const r of this.running) {
      clearTimeout(r.timer);
      r.child?.kill('SIGKILL');
    }
  }

  /** Stops every child in stop order, each with {@link STOP_MESSAGE}, then SIGKILL after the timeout. */
  async stop(): Promise<void> {
    this.stopping = true;
    const orders = [...new Set(this.running.map((r) => r.spec.stopOrder))].sort((a, b) => a - b);
    for (const order of orders) {
      await Promise.all(this.running.filter((r) => r.spec.stopOrder === order).map((r) => this.stopOne(r)));
    }
  }

  private stopOne(r: Running): Promise<void> {
    clearTimeout(r.timer);
    const child = r.child;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(() => {
        this.options.log(`${r.spec.name} did not stop in time; killing it`);
        child.kill('SIGKILL');
      }, this.options.stopTimeoutMs ?? 10_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      try {
        child.send(STOP_MESSAGE);
      } catch {
        // The channel is gone (the child is exiting): the exit or the timeout resolves this.
      }
    });
  }
}

/**
 * An argument as a shell would need it, for the "started" line: a user can copy
 * the command, and an empty value or one with spaces is visible as one word.
 */
export function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
