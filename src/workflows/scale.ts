// Day-2 changes inside a deploy: nodes added to a running cluster join with a freshly minted,
// short-lived bootstrap token (never the deploy-time one); workers removed are cordoned, drained
// (PodDisruptionBudgets honoured) and deleted from the cluster before their machines are destroyed.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { selects } from '../housekeeper/agent/drain.js';
import { housekeeperKube } from '../housekeeper/kube-client.js';
import { KubeStatusError, type HousekeeperKube, type PodObject } from '../housekeeper/types.js';
import { ExitCode, NkdError } from '../errors.js';
import { newBootstrapToken } from '../pki/generate.js';
import type { ClusterPki } from '../pki/types.js';
import type { ClusterDiff } from '../plan/diff.js';
import type { NodePlan } from '../plan/types.js';
import { writePrivateFile, type ClusterPaths } from '../state/paths.js';
import type { ApiTarget } from './cluster-access.js';

/** How long a scale-out token is valid: long enough to boot and join, short enough to be worthless after. */
export const JOIN_TOKEN_TTL_MS = 60 * 60_000;

export interface JoinToken {
  token: string;
  expires: string;
  nodes: string[];
}

/** Refuses what nkd will not do to a running cluster; control-plane growth needs an explicit yes. */
export function checkDiffPolicy(diff: ClusterDiff, options: { allowControlPlaneChanges: boolean }): void {
  const problems = diff.forbidden.map((f) => `${f.path}: ${f.before} → ${f.after}: ${f.why}`);
  const cpRemoved = diff.remove.filter((n) => n.role === 'control-plane');
  if (cpRemoved.length > 0) {
    problems.push(
      `removing control-plane nodes (${cpRemoved.map((n) => n.name).join(', ')}) is not supported yet: nkd cannot remove their etcd members safely`,
    );
  }
  const cpAdded = diff.add.filter((n) => n.role === 'control-plane');
  if (!diff.firstDeploy && cpAdded.length > 0 && !options.allowControlPlaneChanges) {
    problems.push(
      `adding control-plane nodes (${cpAdded.map((n) => n.name).join(', ')}) changes etcd membership: pass --allow-control-plane-changes`,
    );
  }
  if (problems.length > 0) {
    throw new NkdError(
      `the config asks for ${problems.length} change(s) nkd will not make to the running cluster`,
      ExitCode.InvalidConfig,
      problems,
    );
  }
}

function tokensPath(paths: ClusterPaths): string {
  return join(paths.root, 'join-token.json');
}

/**
 * The token new nodes join with: kept in the state (0600) so a re-run renders them byte-identically, and
 * minted anew once it is close to expiry or when other nodes are added.
 */
export function joinTokenFor(
  paths: ClusterPaths,
  nodes: readonly NodePlan[],
  now = new Date(),
): JoinToken | undefined {
  if (nodes.length === 0) return undefined;
  const names = nodes.map((n) => n.name).sort();
  const file = tokensPath(paths);
  if (existsSync(file)) {
    const kept = JSON.parse(readFileSync(file, 'utf8')) as JoinToken;
    const fresh = Date.parse(kept.expires) - now.getTime() > JOIN_TOKEN_TTL_MS / 2;
    if (fresh && names.every((n) => kept.nodes.includes(n))) return kept;
  }
  const token: JoinToken = {
    token: newBootstrapToken(),
    expires: new Date(now.getTime() + JOIN_TOKEN_TTL_MS).toISOString(),
    nodes: names,
  };
  writePrivateFile(file, `${JSON.stringify(token, null, 2)}\n`);
  return token;
}

/** The bootstrap token Secret kubeadm's join understands (kube-system/bootstrap-token-<id>). */
export function bootstrapTokenSecret(
  token: JoinToken,
): Record<string, unknown> & { apiVersion: string; kind: string } {
  const [id, secret] = token.token.split('.') as [string, string];
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
    type: 'bootstrap.kubernetes.io/token',
    stringData: {
      description: `nkd: joins ${token.nodes.join(', ')}`,
      'token-id': id,
      'token-secret': secret,
      expiration: token.expires,
      'usage-bootstrap-authentication': 'true',
      'usage-bootstrap-signing': 'true',
      'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
    },
  };
}

export function adminKube(pki: ClusterPki, target: ApiTarget): ReturnType<typeof housekeeperKube> {
  return housekeeperKube({
    server: target.server,
    caPem: pki.clusterCa.certPem,
    auth: { clientCertPem: pki.admin.certPem, clientKeyPem: pki.admin.keyPem },
    ...(target.tlsServerName ? { tlsServerName: target.tlsServerName } : {}),
  });
}

function drainable(pod: PodObject): boolean {
  if (pod.metadata.annotations?.['kubernetes.io/config.mirror']) return false;
  if (pod.metadata.ownerReferences?.some((o) => o.kind === 'DaemonSet')) return false;
  return !['Succeeded', 'Failed'].includes(pod.status?.phase ?? '');
}

/**
 * Cordons and drains one node through the Eviction API, then deletes its Node object. A budget that
 * still blocks at the timeout is named; with `force` the pod is deleted instead.
 */
export async function drainAndDelete(
  kube: HousekeeperKube & { deleteNode(name: string): Promise<void> },
  node: string,
  options: {
    timeoutMs: number;
    force: boolean;
    log: (line: string) => void;
    pollMs?: number;
    signal?: AbortSignal;
  },
): Promise<void> {
  const existing = await kube.getNode(node);
  if (!existing) return void options.log(`${node}: already gone from the cluster`);
  if (!existing.spec?.unschedulable) await kube.patchNode(node, { spec: { unschedulable: true } });
  options.log(`${node}: cordoned; draining`);
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (options.signal?.aborted)
      throw new NkdError('interrupted; run the same command again to resume', ExitCode.Interrupted);
    const pods = (await kube.listPods({ nodeName: node })).filter(drainable);
    if (pods.length === 0) break;
    const blocked: PodObject[] = [];
    for (const pod of pods.filter((p) => !p.metadata.deletionTimestamp)) {
      try {
        await kube.evictPod(pod.metadata.namespace ?? 'default', pod.metadata.name);
      } catch (err) {
        if (err instanceof KubeStatusError && err.status === 429) blocked.push(pod);
        else if (!(err instanceof KubeStatusError && err.status === 404)) throw err;
      }
    }
    if (blocked.length > 0 && Date.now() > deadline) {
      if (options.force) {
        for (const pod of blocked)
          await kube.deletePod(pod.metadata.namespace ?? 'default', pod.metadata.name);
        continue;
      }
      const budgets = await kube.listPodDisruptionBudgets();
      const names = blocked.map((pod) => {
        const pdb = budgets.filter((b) => b.metadata.namespace === pod.metadata.namespace && selects(b, pod));
        return `${pod.metadata.namespace}/${pod.metadata.name} (blocked by ${pdb.map((b) => `${b.metadata.namespace}/${b.metadata.name}`).join(', ') || 'a disruption budget'})`;
      });
      throw new NkdError(
        `cannot drain ${node}: evictions still refused after ${Math.round(options.timeoutMs / 1000)}s: ${names.join('; ')}; fix the budget or pass --force`,
        ExitCode.ClusterOperation,
      );
    }
    await delay(options.pollMs ?? 2000);
  }
  await deleteNode(kube, node);
  options.log(`${node}: drained and deleted from the cluster`);
}

async function deleteNode(
  kube: HousekeeperKube & { deleteNode(name: string): Promise<void> },
  node: string,
): Promise<void> {
  try {
    await kube.deleteNode(node);
  } catch (err) {
    if (!(err instanceof KubeStatusError && err.status === 404)) throw err;
  }
}
