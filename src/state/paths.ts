// Where nkd keeps each cluster's state, and how it writes there: directories 0700, files 0600,
// written atomically so an interrupted run never leaves a half-written secret or asset.
import { mkdirSync, renameSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

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

export function clusterPaths(stateDir: string, name: string): ClusterPaths {
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
 * Replaces a whole directory at once: `fill` writes into a fresh sibling, which then takes the old
 * one's place, so files of nodes no longer planned disappear and readers never see a mix.
 */
export function replaceDirectory(path: string, fill: (dir: string) => void): void {
  const staging = `${path}.new-${process.pid}`;
  const previous = `${path}.old-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  ensurePrivateDir(staging);
  try {
    fill(staging);
  } catch (cause) {
    rmSync(staging, { recursive: true, force: true });
    throw cause;
  }
  if (existsSync(path)) renameSync(path, previous);
  renameSync(staging, path);
  rmSync(previous, { recursive: true, force: true });
}
