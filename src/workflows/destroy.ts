// `nkd destroy`: from the cluster's state alone. The engine removes whatever the stack holds (also
// after a provisioning that failed half-way: the stack records every resource created), then the local
// state goes. A failure keeps the state, so the same command can be run again.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ProvisioningEngine } from '../engine/types.js';
import { lockCluster } from '../state/lock.js';
import type { ClusterPaths } from '../state/paths.js';
import { deployStatePath } from './deploy-state.js';
import { deployedPlanPath, outputsPath } from './cluster-access.js';
import type { Reporter } from './events.js';

export interface DestroyOptions {
  cluster: string;
  paths: ClusterPaths;
  /** Undefined when the cluster was never provisioned (no engine state): nothing to ask an engine. */
  engine: ProvisioningEngine | undefined;
  reporter: Reporter;
  signal: AbortSignal;
  keepState: boolean;
}

export async function runDestroy(
  options: DestroyOptions,
): Promise<{ engineRan: boolean; stateRemoved: boolean }> {
  const { paths, reporter } = options;
  const lock = lockCluster(paths.root, options.cluster);
  let engineRan = false;
  try {
    if (options.engine?.hasState(paths.root)) {
      reporter.emit({ type: 'info', message: `Destroying every resource of cluster ${options.cluster}` });
      await options.engine.destroy({
        cluster: options.cluster,
        clusterDir: paths.root,
        onProgress: (line) => reporter.emit({ type: 'info', message: `  ${line}` }),
        signal: options.signal,
      });
      engineRan = true;
    } else {
      reporter.emit({
        type: 'info',
        message: options.keepState
          ? `Cluster ${options.cluster} was never provisioned: nothing to destroy`
          : `Cluster ${options.cluster} was never provisioned: only its local state is removed`,
      });
    }
    // The infrastructure is gone: a kept state must not claim otherwise to a later deploy.
    rmSync(deployStatePath(paths.root), { force: true });
    rmSync(outputsPath(paths), { force: true });
    rmSync(deployedPlanPath(paths), { force: true });
    rmSync(join(paths.root, 'deployed-config.json'), { force: true });
    // The upgrades belonged to the machines that are gone: a new deploy starts from its config.
    rmSync(join(paths.root, 'upgrades.json'), { force: true });
  } finally {
    lock.release();
  }
  if (!options.keepState) rmSync(paths.root, { recursive: true, force: true });
  return { engineRan, stateRemoved: !options.keepState && !existsSync(paths.root) };
}
