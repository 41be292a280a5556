// What nkd accepts in its state directory: only what it could have created itself. A symbolic link, an
// entry owned by another user or one that others may write could redirect or expose secrets (keys,
// tokens, Ignition configs), so each is refused with a line naming it and what to do, as ssh's
// StrictModes does for ~/.ssh.
import type { Stats } from 'node:fs';
import { ExitCode, NkdError } from '../errors.js';

/** The user nkd runs as (undefined where the platform has no uids). */
export function currentUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

/** Why `st` (an lstat/fstat of `path`) is not an entry nkd may trust, or undefined when it is. */
export function distrustReason(path: string, st: Stats, kind: 'dir' | 'file'): string | undefined {
  if (st.isSymbolicLink()) {
    return `${path} is a symbolic link: nkd does not follow links in its state directory; remove the link (check who made it) and run again`;
  }
  if (kind === 'dir' && !st.isDirectory()) return `${path} is not a directory: move it away and run again`;
  if (kind === 'file' && !st.isFile()) return `${path} is not a regular file: move it away and run again`;
  const uid = currentUid();
  if (uid !== undefined && st.uid !== uid) {
    return `${path} is owned by uid ${st.uid}, not by you (uid ${uid}): nkd only uses state it created; move it away (or chown it if it is yours) and run again`;
  }
  if ((st.mode & 0o022) !== 0) {
    return `${path} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}): run \`chmod go-w ${path}\` after checking its content, then run again`;
  }
  return undefined;
}

/** Throws the state error (exit 4) when `st` is not trustworthy. */
export function assertTrusted(path: string, st: Stats, kind: 'dir' | 'file'): void {
  const reason = distrustReason(path, st, kind);
  if (reason) throw new NkdError(reason, ExitCode.State);
}
