// Choosing the state directory and checking it before any command does work: a path nkd cannot use
// (a file, under a file, not writable, immutable, on /proc or /sys, not the user's) is refused at once
// with one line naming it and what to do, before a plan is printed or anything is written.
import { accessSync, constants, realpathSync, statfsSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ExitCode, NkdError } from '../errors.js';
import { fsError, lstatOrUndefined } from './safe-fs.js';
import { currentUid, distrustReason } from './trust.js';

export const STATE_DIR_ENV = 'NKD_STATE_DIR';

/** `~` and `~/...` as the shell would expand them (a value from a config file or a quoted flag). */
function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  if (path.startsWith('~')) {
    throw new NkdError(
      `state directory ${JSON.stringify(path.slice(0, 60))}: only ~ and ~/ are expanded; give the full path`,
      ExitCode.Usage,
    );
  }
  return path;
}

/**
 * The state directory from --state-dir (or NKD_STATE_DIR, which oclif hands over as the flag), else
 * ~/.nkd. An explicit empty value is a usage error: a script's unset variable must not pick ~/.nkd.
 */
export function resolveStateDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = flag ?? (env[STATE_DIR_ENV] || undefined);
  if (chosen === '') {
    throw new NkdError(
      '--state-dir is empty: give a directory (or leave the flag out for ~/.nkd)',
      ExitCode.Usage,
    );
  }
  return resolve(chosen === undefined ? join(homedir(), '.nkd') : expandHome(chosen));
}

/** Pseudo file systems nkd can never keep state on (statfs f_type). */
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x1cd1: 'devpts',
  0x73636673: 'securityfs',
  0xcafe4a11: 'bpf',
};

/** Above the state directory, as ssh's StrictModes: root's or the user's, and not writable by others unless sticky (/tmp). */
function ancestorProblem(dir: string, st: Stats): string | undefined {
  const uid = currentUid();
  if (uid !== undefined && st.uid !== 0 && st.uid !== uid) {
    return `${dir} (above the state directory) is owned by uid ${st.uid}: another user could replace the state; choose a state directory under a directory of yours`;
  }
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
    return `${dir} (above the state directory) is writable by group or others: another user could replace the state; run \`chmod go-w ${dir}\` or choose another state directory`;
  }
  return undefined;
}

function refuse(message: string): never {
  throw new NkdError(message, ExitCode.State);
}

/**
 * Checks the state directory before any work: an existing one must be a directory nkd may trust; with
 * `write`, an existing one must be writable and a missing one creatable. Returns the directory to use (a state
 * directory that is a link of the user's or root's is followed once, here).
 */
export function checkStateDir(stateDir: string, options: { write: boolean }): string {
  let dir = stateDir;
  let st = lstatOrUndefined(dir);
  if (st?.isSymbolicLink()) {
    const uid = currentUid();
    if (uid !== undefined && st.uid !== 0 && st.uid !== uid) {
      refuse(
        `state directory ${dir} is a symbolic link owned by uid ${st.uid}, not by you: remove it or choose another`,
      );
    }
    try {
      dir = realpathSync(dir);
    } catch (err) {
      throw fsError(err, 'use the state directory', stateDir);
    }
    st = lstatOrUndefined(dir);
  }
  // The nearest existing directory at or above the state directory (bounded: one step per component).
  let existing = dir;
  let existingSt = st;
  while (!existingSt) {
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
    existingSt = lstatOrUndefined(existing);
  }
  if (!existingSt) refuse(`cannot create the state directory ${dir}: no part of it exists`);
  if (existing === dir) {
    if (!existingSt.isDirectory())
      refuse(`state directory ${dir} is not a directory: choose another --state-dir`);
    const reason = distrustReason(dir, existingSt, 'dir');
    if (reason) refuse(`state directory ${reason}`);
  } else if (!existingSt.isDirectory() && !existingSt.isSymbolicLink()) {
    refuse(`cannot create the state directory ${dir}: ${existing} is a file, not a directory`);
  }
  checkAncestors(existing === dir ? dirname(dir) : existing);
  checkFileSystem(existing, dir);
  if (options.write) checkWritable(existing, dir);
  return dir;
}

function checkAncestors(from: string): void {
  let real: string;
  try {
    real = realpathSync(from);
  } catch (err) {
    throw fsError(err, 'use the state directory under', from);
  }
  for (let p = real; ; p = dirname(p)) {
    const st = lstatOrUndefined(p);
    const problem = st && ancestorProblem(p, st);
    if (problem) refuse(problem);
    if (dirname(p) === p) break;
  }
}

function checkFileSystem(existing: string, dir: string): void {
  let type: number;
  try {
    type = statfsSync(existing).type;
  } catch {
    return; // no statfs here: the writability check still applies
  }
  const name = PSEUDO_FS[type];
  if (name)
    refuse(
      `cannot keep state in ${dir}: ${existing} is on ${name}, a virtual file system; choose another --state-dir`,
    );
}

/** Writable by this user (access(2) also reports immutable directories and read-only file systems). */
function checkWritable(existing: string, dir: string): void {
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EPERM'
        ? 'it is immutable (chattr +i?)'
        : code === 'EROFS'
          ? 'the file system is read-only'
          : 'permission denied';
    const what =
      existing === dir
        ? `state directory ${dir} is not writable`
        : `cannot create the state directory ${dir} in ${existing}`;
    refuse(`${what}: ${why}; choose another --state-dir`);
  }
}
