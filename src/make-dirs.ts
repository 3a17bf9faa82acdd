import { existsSync, mkdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p`, one level at a time. Node 20's `{ recursive: true }` never
 * returns when the kernel refuses a directory with ENOENT under a parent that
 * exists (anything under /proc): it retries the parent forever. Here such a
 * refusal is thrown like any other error, so a bad `--path` fails with its code.
 * Directories made get `mode`; those that exist are left as they are.
 */
export function makeDirsSync(dir: string, mode?: number): void {
  for (const d of missingDirs(dir)) {
    try {
      mkdirSync(d, { mode });
    } catch (err) {
      // Made meanwhile by someone else: what was wanted.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Asynchronous {@link makeDirsSync} (the walk up stats synchronously: a few paths, once, at start-up). */
export async function makeDirs(dir: string, mode?: number): Promise<void> {
  for (const d of missingDirs(dir)) {
    try {
      await mkdir(d, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** The directories to make, outermost first: `dir` and its parents up to the first that exists. */
function missingDirs(dir: string): string[] {
  const missing: string[] = [];
  let d = resolve(dir);
  while (!existsSync(d)) {
    missing.push(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return missing.reverse();
}
