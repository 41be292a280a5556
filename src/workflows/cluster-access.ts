// How nkd reaches a deployed cluster's API from the deployer: the endpoint the provider reported
// (outputs.json: a floating IP, a forwarded port...) when it differs from the planned one, verified
// against the planned endpoint's name, which is what the API server certificate is issued for.
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ClusterConfig } from '../config/schema.js';
import type { ProvisionOutputs } from '../../providers/types.js';
import { ExitCode, NkdError } from '../errors.js';
import { loadPki, PkiStateError } from '../pki/index.js';
import type { ClusterPki } from '../pki/types.js';
import { clusterClientFromPki } from '../cluster/client.js';
import type { ClusterClient } from '../cluster/types.js';
import { endpointText, parseEndpointText } from '../plan/plan.js';
import type { ClusterPlan } from '../plan/types.js';
import { isJsonObject, readStateJsonSync } from '../state/files.js';
import { writePrivateFile, type ClusterPaths } from '../state/paths.js';

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

// Shape checks of what nkd wrote: enough that later code never meets a missing field as a crash.
function isClusterPlan(v: unknown): v is ClusterPlan {
  return (
    isJsonObject(v) &&
    v.kind === 'ClusterPlan' &&
    typeof v.name === 'string' &&
    Array.isArray(v.nodes) &&
    v.nodes.every((n) => isJsonObject(n) && typeof n.name === 'string') &&
    isJsonObject(v.kubernetes) &&
    isJsonObject(v.kubernetes.controlPlaneEndpoint) &&
    isJsonObject(v.network) &&
    isJsonObject(v.platform)
  );
}

function isDeployedConfig(v: unknown): v is DeployedConfig {
  return (
    isJsonObject(v) &&
    typeof v.configFile === 'string' &&
    typeof v.baseDir === 'string' &&
    isJsonObject(v.config) &&
    isJsonObject(v.config.metadata) &&
    isJsonObject(v.config.spec)
  );
}

function isProvisionOutputs(v: unknown): v is ProvisionOutputs {
  return (
    isJsonObject(v) &&
    typeof v.apiEndpoint === 'string' &&
    Array.isArray(v.nodes) &&
    v.nodes.every((n) => isJsonObject(n) && typeof n.name === 'string')
  );
}

export function readPlan(paths: ClusterPaths): ClusterPlan {
  if (!existsSync(paths.plan)) {
    throw new NkdError(
      `cluster state in ${paths.root} has no plan.json: run \`nkd deploy -f <config>\` first`,
      ExitCode.State,
    );
  }
  return readStateJsonSync(paths.plan, 'the cluster plan', isClusterPlan);
}

export function outputsPath(paths: ClusterPaths): string {
  return join(paths.root, 'outputs.json');
}

/** The plan the infrastructure was last provisioned for (written when provisioning finishes). */
export function deployedPlanPath(paths: ClusterPaths): string {
  return join(paths.root, 'deployed-plan.json');
}

export function readDeployedPlan(paths: ClusterPaths): ClusterPlan | undefined {
  const file = deployedPlanPath(paths);
  if (!existsSync(file)) return undefined;
  return readStateJsonSync(file, 'the provisioned plan', isClusterPlan);
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
  if (!existsSync(file)) return undefined;
  return readStateJsonSync(file, 'the provisioned config', isDeployedConfig);
}

/** The provider's outputs of the last successful provisioning, if any. */
export function readOutputs(paths: ClusterPaths): ProvisionOutputs | undefined {
  const file = outputsPath(paths);
  if (!existsSync(file)) return undefined;
  return readStateJsonSync(file, "the provider's outputs", isProvisionOutputs);
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
