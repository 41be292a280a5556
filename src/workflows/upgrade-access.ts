// The admin client for commands that act on a deployed cluster from its state alone.
import type { ClusterClient } from '../cluster/types.js';
import { clusterPaths } from '../state/paths.js';
import { adminClientFor, provisionedClusterAccess } from './cluster-access.js';

export async function adminClient(stateDir: string, name: string): Promise<ClusterClient> {
  const { target, pki } = await provisionedClusterAccess(clusterPaths(stateDir, name));
  return adminClientFor(pki, target);
}
