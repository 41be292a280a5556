// Reads back every state file a cluster has before a command changes any of them: a corrupt or
// half-present file refuses the command (exit 4) while everything is still as it was, instead of part
// way through rewriting the assets.
import { join } from 'node:path';
import { readServiceCa } from '../ignition-service/tls.js';
import type { ClusterPaths } from '../state/paths.js';
import { readDeployedConfig, readDeployedPlan, readOutputs } from './cluster-access.js';
import { readDeployState } from './deploy-state.js';
import { readNodeTokens } from './ignition-delivery.js';
import { readJoinTokenEntries } from './join-token-file.js';

/** Throws the state error of the first existing state file that is unusable; reads only. */
export function checkClusterState(paths: ClusterPaths): void {
  readDeployState(paths.root);
  readOutputs(paths);
  readDeployedPlan(paths);
  readDeployedConfig(paths);
  readJoinTokenEntries(paths);
  const service = join(paths.root, 'ignition-service');
  readServiceCa(service);
  readNodeTokens(service);
}
