// The admin client for commands that act on a deployed cluster from its state alone.
import { existsSync } from 'node:fs';
import { clusterClientFromPki } from '../cluster/client.js';
import type { ClusterClient } from '../cluster/types.js';
import { ExitCode, NkdError } from '../errors.js';
import { clusterPaths } from '../state/paths.js';
import { clusterAccess } from './cluster-access.js';

export async function adminClient(stateDir: string, name: string): Promise<ClusterClient> {
  const paths = clusterPaths(stateDir, name);
  if (!existsSync(paths.root)) throw new NkdError(`no cluster named ${name} in ${stateDir}`, ExitCode.State);
  const { target, pki, outputs } = await clusterAccess(paths);
  if (!outputs)
    throw new NkdError(
      `cluster ${name} was never provisioned: run \`nkd deploy -f <config>\` first`,
      ExitCode.State,
    );
  return clusterClientFromPki(
    pki,
    target.server,
    target.tlsServerName ? { tlsServerName: target.tlsServerName } : {},
  );
}
