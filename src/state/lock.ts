// One nkd at a time per cluster: a lock file created with O_EXCL holding the owner's pid. A lock whose
// process is gone (a crash, a killed run) is taken over, so users never have to clean up by hand.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, NkdError } from '../errors.js';

export interface ClusterLock {
  release(): void;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(path: string): boolean {
  try {
    const fd = openSync(path, 'wx', 0o600);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Locks this process holds: a second operation on the same cluster in one process is refused too. */
const heldHere = new Set<string>();

export function lockCluster(clusterDir: string, clusterName: string): ClusterLock {
  const path = join(clusterDir, '.lock');
  if (heldHere.has(path)) {
    throw new NkdError(
      `another operation of this nkd (pid ${process.pid}) is working on cluster ${clusterName}; wait for it to finish (lock: ${path})`,
      ExitCode.State,
    );
  }
  const release = () => {
    heldHere.delete(path);
    rmSync(path, { force: true });
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(path)) {
      heldHere.add(path);
      return { release };
    }
    const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
    if (Number.isInteger(owner) && owner !== process.pid && processAlive(owner)) {
      throw new NkdError(
        `another nkd (pid ${owner}) is working on cluster ${clusterName}; wait for it to finish (lock: ${path})`,
        ExitCode.State,
      );
    }
    rmSync(path, { force: true }); // stale: its owner is gone
  }
  throw new NkdError(`cannot take the lock ${path} for cluster ${clusterName}`, ExitCode.State);
}
