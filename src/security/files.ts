import { constants, lstatSync, openSync, writeSync, closeSync, fchmodSync } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { makeDirs, makeDirsSync } from '../make-dirs.js';
import { ZibratoError } from '../errors.js';

/**
 * Files Zibrato writes (metrics, spools, key pairs, databases) hold other
 * people's measurements or secrets, so they are created readable by their
 * owner only, and never through a symbolic link: another local user who can
 * write the directory could otherwise point `metrics.jsonl` at a file of
 * ours and have us append to it (or read a spool through it).
 */
export const PRIVATE_FILE_MODE = 0o600;
/** Directories Zibrato creates: owner only. */
export const PRIVATE_DIR_MODE = 0o700;

/** O_NOFOLLOW where the platform has it (every POSIX system; 0 on Windows, where there is no such attack through a plain file open). */
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

const FLAGS = {
  append: constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | NOFOLLOW,
  truncate: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | NOFOLLOW,
  exclusive: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW,
  read: constants.O_RDONLY | NOFOLLOW,
} as const;

/** How {@link openPrivateFile} opens: append, truncate, create only if absent, or read. */
export type PrivateOpenMode = keyof typeof FLAGS;

function symlinkError(path: string, err: unknown): ZibratoError {
  return new ZibratoError('ZIB_ERR_UNSAFE_PATH', `${path} is a symbolic link; Zibrato does not write through links (remove it or point the option at the real path)`, { cause: err });
}

/** True for the errno O_NOFOLLOW gives when the last component is a link (ELOOP on Linux, EMLINK on FreeBSD, EFTYPE on NetBSD). */
function isLinkRefusal(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ELOOP' || code === 'EMLINK' || code === 'EFTYPE';
}

/** Opens `path` without following a final symlink; a file it creates is 0600. */
export async function openPrivateFile(path: string, mode: PrivateOpenMode): Promise<FileHandle> {
  try {
    return await open(path, FLAGS[mode], PRIVATE_FILE_MODE);
  } catch (err) {
    throw isLinkRefusal(err) ? symlinkError(path, err) : err;
  }
}

/** Synchronous {@link openPrivateFile}: writes `text` and closes. */
export function writePrivateFileSync(path: string, text: string, mode: 'truncate' | 'exclusive', fileMode = PRIVATE_FILE_MODE): void {
  let fd: number;
  try {
    fd = openSync(path, FLAGS[mode], fileMode);
  } catch (err) {
    throw isLinkRefusal(err) ? symlinkError(path, err) : err;
  }
  try {
    // A file that already existed keeps its old mode through open(); set it.
    fchmodSync(fd, fileMode);
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates `dir` (and missing parents) with mode 0700 and refuses a `dir`
 * that is a symbolic link. Parents that exist keep their mode: they are the
 * user's (a home directory, /var/lib).
 */
export async function makePrivateDir(dir: string): Promise<void> {
  await makeDirs(dir, PRIVATE_DIR_MODE);
  const st = await lstat(dir);
  if (st.isSymbolicLink()) throw symlinkError(dir, undefined);
}

/** Synchronous {@link makePrivateDir}. */
export function makePrivateDirSync(dir: string): void {
  makeDirsSync(dir, PRIVATE_DIR_MODE);
  if (lstatSync(dir).isSymbolicLink()) throw symlinkError(dir, undefined);
}
