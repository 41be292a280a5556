// How nkd reaches a deployed cluster's API from the deployer: the endpoint the provider reported
// (outputs.json: a floating IP, a forwarded port...) when it differs from the planned one, verified
// against the planned endpoint's name, which is what the API server certificate is issued for.
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { clusterConfigSchema, type ClusterConfig } from '../config/schema.js';
import type { ProvisionOutputs } from '../../providers/types.js';
import { ExitCode, NkdError } from '../errors.js';
import { loadPki, PkiStateError } from '../pki/index.js';
import type { ClusterPki } from '../pki/types.js';
import { clusterClientFromPki } from '../cluster/client.js';
import type { ClusterClient } from '../cluster/types.js';
import { endpointText, parseEndpointText } from '../plan/plan.js';
import type { ClusterPlan } from '../plan/types.js';
import { writePrivateFile, type ClusterPaths } from '../state/paths.js';
import { readStateFile, requireKeys, type StateFileSpec } from '../state/read-state-file.js';

export interface ApiTarget {
  /** `https://host:port` to connect to. */
  server: string;
  /** Set when `server`'s host is not the planned endpoint host: verify the certificate against this. */
  tlsServerName?: string;
}

/** Pure: the URL to dial and the name to verify, from the plan and (when provisioned) the outputs. */
export function apiTarget(
  plan: ClusterPlan,
  outputs: Pick<ProvisionOutputs, 'apiEndpoint'> | undefined,
): ApiTarget {
  const planned = plan.kubernetes.controlPlaneEndpoint;
  const reachable = outputs?.apiEndpoint ? parseEndpointText(outputs.apiEndpoint) : undefined;
  if (!reachable) return { server: `https://${endpointText(planned)}` };
  const server = `https://${endpointText(reachable)}`;
  return reachable.host === planned.host ? { server } : { server, tlsServerName: planned.host };
}

export function readPlan(paths: ClusterPaths): ClusterPlan {
  if (!existsSync(paths.plan)) {
    throw new NkdError(
      `cluster state in ${paths.root} has no plan.json: run \`nkd deploy -f <config>\` first`,
      ExitCode.State,
    );
  }
  return readStateFile<ClusterPlan>(paths.plan, PLAN_FILE)!;
}

const REDEPLOY = 'run `nkd deploy -f <config>` (with the config the cluster was deployed from) to rewrite it';
const PLAN_FILE: StateFileSpec<ClusterPlan> = {
  remedy: REDEPLOY,
  check: (value) => {
    const top = requireKeys({
      name: 'string',
      nodes: 'array',
      kubernetes: 'object',
      network: 'object',
      platform: 'object',
    })(value);
    if (top) return top;
    const plan = value as ClusterPlan;
    // What every reader of a plan relies on: the endpoint, the platform, each node's name and role.
    const endpoint = plan.kubernetes.controlPlaneEndpoint as unknown as Record<string, unknown> | undefined;
    if (typeof endpoint?.host !== 'string' || typeof endpoint.port !== 'number')
      return 'has no valid "kubernetes.controlPlaneEndpoint"';
    if (typeof plan.platform.name !== 'string') return 'has no valid "platform.name"';
    const bad = plan.nodes.findIndex(
      (n: unknown) =>
        typeof n !== 'object' ||
        n === null ||
        typeof (n as Record<string, unknown>).name !== 'string' ||
        typeof (n as Record<string, unknown>).role !== 'string',
    );
    return bad >= 0 ? `has no valid "nodes[${bad}]"` : undefined;
  },
};
const OUTPUTS_FILE: StateFileSpec<ProvisionOutputs> = {
  remedy: REDEPLOY,
  check: (value) => {
    const { apiEndpoint, nodes } = value as Record<string, unknown>;
    if (apiEndpoint !== undefined && typeof apiEndpoint !== 'string') return 'has no valid "apiEndpoint"';
    if (nodes !== undefined && !Array.isArray(nodes)) return 'has no valid "nodes" (array)';
    return undefined;
  },
};
const DEPLOYED_CONFIG_FILE: StateFileSpec<DeployedConfig> = {
  remedy: REDEPLOY,
  check: (value) =>
    requireKeys({ configFile: 'string', baseDir: 'string', config: 'object' })(value) ??
    // It was a validated config when written: anything else was changed outside nkd.
    (clusterConfigSchema.safeParse((value as DeployedConfig).config).success
      ? undefined
      : 'holds a config that does not validate'),
};

export function outputsPath(paths: ClusterPaths): string {
  return join(paths.root, 'outputs.json');
}

/** The plan the infrastructure was last provisioned for (written when provisioning finishes). */
export function deployedPlanPath(paths: ClusterPaths): string {
  return join(paths.root, 'deployed-plan.json');
}

export function readDeployedPlan(paths: ClusterPaths): ClusterPlan | undefined {
  const file = deployedPlanPath(paths);
  return readStateFile<ClusterPlan>(file, PLAN_FILE);
}

/** The validated config the infrastructure was last provisioned from, and where it came from. */
export interface DeployedConfig {
  configFile: string;
  baseDir: string;
  config: ClusterConfig;
}

function deployedConfigPath(paths: ClusterPaths): string {
  return join(paths.root, 'deployed-config.json');
}

export function writeDeployedConfig(paths: ClusterPaths, deployed: DeployedConfig): void {
  const configFile = deployed.configFile === '-' ? '-' : resolve(deployed.configFile);
  writePrivateFile(deployedConfigPath(paths), `${JSON.stringify({ ...deployed, configFile }, null, 2)}\n`);
}

export function readDeployedConfig(paths: ClusterPaths): DeployedConfig | undefined {
  const file = deployedConfigPath(paths);
  return readStateFile<DeployedConfig>(file, DEPLOYED_CONFIG_FILE);
}

/** The provider's outputs of the last successful provisioning, if any. */
export function readOutputs(paths: ClusterPaths): ProvisionOutputs | undefined {
  const file = outputsPath(paths);
  return readStateFile<ProvisionOutputs>(file, OUTPUTS_FILE);
}

/** Everything needed to talk to the cluster, from its state directory alone. */
export async function clusterAccess(
  paths: ClusterPaths,
): Promise<{ plan: ClusterPlan; outputs: ProvisionOutputs | undefined; pki: ClusterPki; target: ApiTarget }> {
  if (!existsSync(paths.root)) {
    throw new NkdError(
      `no cluster named ${basename(paths.root)} in ${dirname(dirname(paths.root))}`,
      ExitCode.State,
    );
  }
  const plan = readPlan(paths);
  const outputs = readOutputs(paths);
  let pki: ClusterPki;
  try {
    pki = await loadPki(paths.pki);
  } catch (err) {
    if (err instanceof PkiStateError) throw new NkdError(err.message, ExitCode.State);
    throw err;
  }
  return { plan, outputs, pki, target: apiTarget(plan, outputs) };
}

/** nkd's admin client for a target: the cluster CA, the admin certificate, the name to verify. */
export function adminClientFor(pki: ClusterPki, target: ApiTarget, requestTimeoutMs?: number): ClusterClient {
  return clusterClientFromPki(pki, target.server, {
    ...(target.tlsServerName ? { tlsServerName: target.tlsServerName } : {}),
    ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}),
  });
}

/** clusterAccess for a cluster that was provisioned (its provider outputs exist). */
export async function provisionedClusterAccess(
  paths: ClusterPaths,
): Promise<Awaited<ReturnType<typeof clusterAccess>> & { outputs: ProvisionOutputs }> {
  const access = await clusterAccess(paths);
  if (!access.outputs) {
    throw new NkdError(
      `cluster ${basename(paths.root)} was never provisioned: run \`nkd deploy -f <config>\` first`,
      ExitCode.State,
    );
  }
  return { ...access, outputs: access.outputs };
}
