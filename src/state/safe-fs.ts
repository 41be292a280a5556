// File-system primitives of the state directory: directories made one level at a time (a bounded
// walk, never Node's recursive mkdir, which spins forever where mkdir keeps failing with ENOENT, as in
// /proc), files written through an exclusive 0600 temporary file and a rename (never through a link,
// never half-written), and the system's refusals turned into one line naming the path (exit 4).
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, parse as parsePath, sep } from 'node:path';
import { ExitCode, NkdError } from '../errors.js';
import { assertTrusted } from './trust.js';

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted (immutable, or a file system that refuses it)',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is a file, not a directory',
  ENOENT: 'the file system does not allow it there',
  EEXIST: 'it already exists',
  EISDIR: 'it is a directory',
  ENOTEMPTY: 'the directory is not empty',
  ENAMETOOLONG: 'the path is too long',
  ELOOP: 'a part of the path is a symbolic link',
};

/** The one-line state error for a failed file-system operation (an NkdError passes through). */
export function fsError(err: unknown, action: string, path: string): NkdError {
  if (err instanceof NkdError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const reason = REASONS[code] ?? (code || String(err));
  return new NkdError(`cannot ${action} ${path}: ${reason}`, ExitCode.State);
}

/** lstat, or undefined when nothing is there. */
export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a parent is a file, so nothing can be there (creating it then says why).
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw fsError(err, 'read', path);
  }
}

/** Creates one directory (0700); true when it was created, false when something was already there. */
function mkdirOne(path: string): boolean {
  try {
    mkdirSync(path, { mode: 0o700 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw fsError(err, 'create the directory', path);
  }
}

/**
 * Makes sure `path` is a directory, creating it and its missing parents (0700) one level at a time.
 * Below `trustedFrom` (inclusive), every component, existing or new, must pass the trust rules.
 */
export function makeDirs(path: string, trustedFrom: string): void {
  const chain: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    chain.unshift(p);
    if (p === parsePath(p).root) break;
  }
  for (const dir of chain) {
    const checked = isWithin(dir, trustedFrom);
    let st = lstatOrUndefined(dir);
    if (!st) {
      mkdirOne(dir);
      st = lstatSync(dir);
    }
    if (checked) assertTrusted(dir, st, 'dir');
    else if (!st.isDirectory() && !st.isSymbolicLink()) {
      throw new NkdError(`cannot create ${path}: ${dir} is a file, not a directory`, ExitCode.State);
    }
  }
}

/** Whether `path` is `dir` or below it. */
export function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
}

const TEMP_SUFFIX = '.tmp';

/** Names of temporary files: `.NAME.<random>.tmp`, next to the file they become. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
}

/** Whether a directory entry is a temporary file or directory nkd left behind (an interrupted write). */
export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith(TEMP_SUFFIX);
}

/**
 * Writes `contents` to `path` through a new 0600 temporary file (O_EXCL, O_NOFOLLOW) and a rename,
 * so the file is never readable by others, never written through a link, never seen half-written.
 * Whatever is at `path` must be a regular file nkd may trust (or nothing).
 */
export function writeFileAtomic(path: string, contents: string, options: { fsync?: boolean } = {}): void {
  const existing = lstatOrUndefined(path);
  if (existing) assertTrusted(path, existing, 'file');
  const temp = tempPathFor(path);
  let fd: number | undefined;
  try {
    fd = openSync(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    const data = Buffer.from(contents, 'utf8');
    for (let off = 0; off < data.length;) off += writeSync(fd, data, off, data.length - off);
    if (options.fsync) fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // never created, or already renamed
    }
    throw fsError(err, 'write', path);
  }
}

/** Removes the temporary files and directories an interrupted run left in `dir` (caller holds the lock). */
export function removeStaleTemps(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // no such directory yet
  }
  for (const name of names) {
    if (isTempName(name)) rmSync(join(dir, name), { recursive: true, force: true });
  }
}
