import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { pollUntil } from '../processes.js';

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  return (await pollUntil(check, (v) => v !== undefined && v !== false, what, timeoutMs, everyMs)) as T;
}

/**
 * Fails the test when a peer binary is missing: integration tests talk to
 * their real peers, and a missing one is a failure, never a skip (`.ci/run`
 * installs them all).
 */
export function requirePeer(binary: string, installHint: string, mode: number = constants.X_OK): void {
  try {
    accessSync(binary, mode);
  } catch {
    throw new Error(`${binary} not found: install ${installHint} (.ci/run installs every peer the tests need)`);
  }
}

/** A spawned peer process with its output kept for failure messages. */
export class PeerProcess {
  readonly child: ChildProcess;
  private output = '';
  private exited = false;

  constructor(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
    this.child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-20_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.on('exit', () => {
      this.exited = true;
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get log(): string {
    return this.output;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Kills by PID (SIGTERM, then SIGKILL after 5 s) and waits for the exit. */
  async kill(): Promise<void> {
    if (this.exited || this.child.pid === undefined) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    process.kill(this.child.pid, 'SIGTERM');
    const t = setTimeout(() => {
      if (!this.exited && this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
    }, 5_000);
    await exited;
    clearTimeout(t);
  }
}

/** Resolves once something accepts TCP connections on the port. */
export async function waitForTcp(port: number, peer: PeerProcess, timeoutMs = 20_000): Promise<void> {
  await waitFor(
    `127.0.0.1:${port} to accept connections (peer output: ${peer.log.slice(-2000)})`,
    () => {
      if (!peer.running) throw new Error(`peer exited: ${peer.log.slice(-2000)}`);
      return new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port });
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
    },
    timeoutMs,
    150,
  );
}
