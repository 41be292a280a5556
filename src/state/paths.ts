// Where nkd keeps each cluster's state, and how it writes there: directories 0700, files 0600,
// written atomically so an interrupted run never leaves a half-written secret or asset.
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { clusterNameProblem } from '../config/cluster-name.js';
import { ExitCode, NkdError } from '../errors.js';

export const STATE_DIR_ENV = 'NKD_STATE_DIR';

export function resolveStateDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = flag ?? env[STATE_DIR_ENV];
  return resolve(chosen !== undefined && chosen !== '' ? chosen : join(homedir(), '.nkd'));
}

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

/** Where cluster `name` lives; an invalid name is refused here too, so no caller can escape `clusters/`. */
export function clusterPaths(stateDir: string, name: string): ClusterPaths {
  const problem = clusterNameProblem(name);
  if (problem)
    throw new NkdError(
      `${JSON.stringify(name.slice(0, 60))} is not a cluster name: it ${problem}`,
      ExitCode.Usage,
    );
  const root = join(stateDir, 'clusters', name);
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

export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
}

/** Writes through a temporary file and a rename, with mode 0600 from the first byte. */
export function writePrivateFile(path: string, contents: string): void {
  const temp = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(temp, contents, { mode: 0o600 });
  renameSync(temp, path);
}

/**
 * Makes `dir` hold exactly `files` (name → contents), all 0600: unchanged files are left alone (creating
 * files is the slow part of a large render, and untouched files keep their mtime), changed ones are
 * rewritten, files no longer planned are removed. Rendering is deterministic, so an interrupted sync
 * is completed by the next run; callers write their completion marker (plan.json) after this.
 */
export function syncDirectory(dir: string, files: ReadonlyMap<string, string>): void {
  ensurePrivateDir(dir);
  for (const name of readdirSync(dir)) {
    if (!files.has(name)) rmSync(join(dir, name), { recursive: true, force: true });
  }
  writeFilesIfChanged(dir, files);
}

/** Writes each file whose content differs (or that is missing), 0600; other files are left alone. */
export function writeFilesIfChanged(dir: string, files: ReadonlyMap<string, string>): void {
  ensurePrivateDir(dir);
  const existing = new Set(readdirSync(dir));
  for (const [name, contents] of files) {
    const path = join(dir, name);
    if (!existing.has(name)) {
      // New file: created 0600 from the first byte (a umask can only remove permissions).
      writeFileSync(path, contents, { mode: 0o600 });
      continue;
    }
    if (readFileSync(path, 'utf8') !== contents) writeFileSync(path, contents);
    chmodSync(path, 0o600);
  }
}
