import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A small tmpfs mounted on a fresh directory: a disk that really fills up
 * (ENOSPC) for file-sink tests and fault scenarios. Needs root (CI runs as
 * root); a failure to mount is a failure, not a skip. Always `unmount()` in a
 * `finally`.
 */
export function mountTinyDisk(sizeBytes: number): { dir: string; unmount: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-tinydisk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot mount a tmpfs on ${dir} (root is needed): ${(err as Error).message}`);
  }
  return {
    dir,
    unmount: () => {
      execFileSync('umount', [dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
