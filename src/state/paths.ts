// Where nkd keeps each cluster's state, and how it writes there: directories 0700, files 0600, written
// atomically (an interrupted run never leaves a half-written secret or asset), never through a link,
// and only into directories nkd may trust (trust.ts) from the state directory down.
import {
  chmodSync,
  constants,
  closeSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { clusterNameProblem } from '../config/cluster-name.js';
import { ExitCode, NkdError } from '../errors.js';
import {
  fsError,
  isTempName,
  isWithin,
  lstatOrUndefined,
  makeDirs,
  removeStaleTemps,
  writeFileAtomic,
} from './safe-fs.js';
import { assertTrusted } from './trust.js';

export { resolveStateDir, STATE_DIR_ENV } from './state-dir.js';

export interface ClusterPaths {
  root: string;
  pki: string;
  assets: string;
  ignition: string;
  kubeadm: string;
  plan: string;
  adminKubeconfig: string;
  logs: string;
}

/**
 * State directories in use by this process: everything from one of them down is held to the trust
 * rules. Recorded by clusterPaths, the one place a cluster's location is derived.
 */
const stateRoots = new Set<string>();

/** Where cluster `name` lives; an invalid name is refused here too, so no caller can escape `clusters/`. */
export function clusterPaths(stateDir: string, name: string): ClusterPaths {
  const problem = clusterNameProblem(name);
  if (problem) {
    throw new NkdError(
      `${JSON.stringify(name.slice(0, 60))} is not a cluster name: it ${problem}`,
      ExitCode.Usage,
    );
  }
  const absolute = resolve(stateDir);
  stateRoots.add(absolute);
  const root = join(absolute, 'clusters', name);
  const assets = join(root, 'assets');
  return {
    root,
    pki: join(root, 'pki'),
    assets,
    ignition: join(assets, 'ignition'),
    kubeadm: join(assets, 'kubeadm'),
    plan: join(root, 'plan.json'),
    adminKubeconfig: join(root, 'admin.conf'),
    logs: join(root, 'logs'),
  };
}

/** Where the trust rules start for `path`: its state directory, or (outside any) the path itself. */
function trustedFrom(path: string): string {
  let best: string | undefined;
  for (const root of stateRoots)
    if (isWithin(path, root) && (!best || root.length > best.length)) best = root;
  return best ?? path;
}

/** Creates `path` (and missing parents) 0700; refuses links and directories nkd may not trust. */
export function ensurePrivateDir(path: string): void {
  const absolute = resolve(path);
  makeDirs(absolute, trustedFrom(absolute));
  try {
    chmodSync(absolute, 0o700);
  } catch (err) {
    throw fsError(err, 'change the mode of', absolute);
  }
}

/**
 * Checks, without creating anything, that every existing directory from the state directory down to
 * `path` may be trusted; returns whether `path` exists. For commands that only read or remove.
 */
export function checkPrivateDir(path: string): boolean {
  const absolute = resolve(path);
  const from = trustedFrom(absolute);
  const chain: string[] = [];
  for (let p = absolute; isWithin(p, from); p = dirname(p)) {
    chain.unshift(p);
    if (p === from) break;
  }
  for (const dir of chain) {
    const st = lstatOrUndefined(dir);
    if (!st) return false;
    assertTrusted(dir, st, 'dir');
  }
  return true;
}

/** The directories of a cluster's state that nkd writes files into. */
function clusterDirs(paths: ClusterPaths): string[] {
  const dirs = [paths.root, paths.logs, paths.pki, paths.assets, paths.ignition, paths.kubeadm];
  const more = ['ignition-service', 'engine', join('assets', 'pointer')].map((d) => join(paths.root, d));
  return [...dirs, ...more];
}

/**
 * Checks, before any work, every directory of a cluster's state that exists (see checkPrivateDir) and
 * every entry in them: a link or a file nkd may not trust refuses the command while nothing changed.
 */
export function checkClusterDirs(paths: ClusterPaths): void {
  for (const dir of clusterDirs(paths)) {
    if (!checkPrivateDir(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (isTempName(entry.name)) continue; // removed under the lock
      const path = join(dir, entry.name);
      const st = lstatOrUndefined(path);
      if (st) assertTrusted(path, st, st.isDirectory() ? 'dir' : 'file');
    }
  }
}

/**
 * Removes what a killed run left half-done (temporary files, a PKI staging directory); only under the
 * cluster lock, when no other nkd can be writing them.
 */
export function removeClusterTemps(paths: ClusterPaths): void {
  for (const dir of clusterDirs(paths)) if (checkPrivateDir(dir)) removeStaleTemps(dir);
}

/** Writes through an exclusive 0600 temporary file, fsync and a rename (state files, secrets). */
export function writePrivateFile(path: string, contents: string): void {
  ensurePrivateDir(dirname(path));
  writeFileAtomic(path, contents, { fsync: true });
}

/**
 * Makes `dir` hold exactly `files` (name → contents), all 0600: unchanged files are left alone (creating
 * files is the slow part of a large render, and untouched files keep their mtime), changed ones are
 * rewritten, files no longer planned are removed (links themselves, never their targets). Rendering is
 * deterministic, so an interrupted sync is completed by the next run; callers write their completion
 * marker (plan.json) after this.
 */
export function syncDirectory(dir: string, files: ReadonlyMap<string, string>): void {
  ensurePrivateDir(dir);
  for (const name of readdirSync(dir)) {
    if (!files.has(name) || isTempName(name)) rmSync(join(dir, name), { recursive: true, force: true });
  }
  writeFilesIfChanged(dir, files);
}

/** The current text of a file nkd wrote, or undefined when the file is absent (never through a link). */
function currentText(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    const st = lstatOrUndefined(path);
    if (st) assertTrusted(path, st, 'file'); // names a link as such
    throw fsError(err, 'read', path);
  }
  try {
    const st = fstatSync(fd);
    assertTrusted(path, st, 'file');
    return (st.mode & 0o777) === 0o600 ? readFileSync(fd, 'utf8') : undefined;
  } finally {
    closeSync(fd);
  }
}

/** Writes each file whose content differs (or that is missing), 0600; other files are left alone. */
export function writeFilesIfChanged(dir: string, files: ReadonlyMap<string, string>): void {
  ensurePrivateDir(dir);
  for (const [name, contents] of files) {
    const path = join(dir, name);
    // A file of another mode is rewritten (rather than chmod-ed): it comes out 0600 from the first byte.
    if (currentText(path) !== contents) writeFileAtomic(path, contents);
  }
}
