// Day-2 changes inside a deploy: nodes added to a running cluster join with a freshly minted,
// short-lived bootstrap token (never the deploy-time one); workers removed are cordoned, drained
// (PodDisruptionBudgets honoured) and deleted from the cluster before their machines are destroyed.
import { setTimeout as delay } from 'node:timers/promises';
import { selects } from '../housekeeper/agent/drain.js';
import { housekeeperKube } from '../housekeeper/kube-client.js';
import { readLeave } from '../housekeeper/agent/leave.js';
import {
  KubeStatusError,
  LEAVE_ANNOTATION,
  type HousekeeperKube,
  type PodObject,
} from '../housekeeper/types.js';
import { ExitCode, NkdError } from '../errors.js';
import { newBootstrapToken } from '../pki/generate.js';
import type { ClusterPki } from '../pki/types.js';
import type { ClusterDiff } from '../plan/diff.js';
import type { NodePlan } from '../plan/types.js';
import { joinTokensPath, readJoinTokenEntries, type JoinToken } from './join-token-file.js';
import { writePrivateFile, type ClusterPaths } from '../state/paths.js';
import type { ApiTarget } from './cluster-access.js';

/** How long a scale-out token is valid: long enough to boot and join, short enough to be worthless after. */
export const JOIN_TOKEN_TTL_MS = 60 * 60_000;

export type { JoinToken } from './join-token-file.js';

export interface DiffPolicy {
  allowControlPlaneChanges: boolean;
  /** Housekeeper's agent removes a leaving control-plane node's etcd member. */
  housekeeper: boolean;
  /** The planned API endpoint's host: the node serving it cannot leave. */
  endpointHost: string;
}

/** Refuses what nkd will not do to a running cluster; control-plane changes need an explicit yes. */
export function checkDiffPolicy(diff: ClusterDiff, policy: DiffPolicy): void {
  const problems = diff.forbidden.map((f) => `${f.path}: ${f.before} → ${f.after}: ${f.why}`);
  const cpRemoved = diff.remove.filter((n) => n.role === 'control-plane');
  const cpAdded = diff.add.filter((n) => n.role === 'control-plane');
  const names = (nodes: readonly NodePlan[]) => nodes.map((n) => n.name).join(', ');
  if (!diff.firstDeploy && (cpAdded.length > 0 || cpRemoved.length > 0) && !policy.allowControlPlaneChanges) {
    const what = [
      cpAdded.length > 0 ? `adding ${names(cpAdded)}` : '',
      cpRemoved.length > 0 ? `removing ${names(cpRemoved)}` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    problems.push(
      `${what} changes the control plane and etcd membership: pass --allow-control-plane-changes`,
    );
  }
  if (cpRemoved.length > 0 && !policy.housekeeper) {
    problems.push(
      `removing control-plane nodes (${names(cpRemoved)}) needs Housekeeper (spec.housekeeper.enabled): its agent removes each etcd member`,
    );
  }
  const endpointNode = cpRemoved.find((n) => n.address === policy.endpointHost);
  if (endpointNode) {
    problems.push(
      `${endpointNode.name} serves the API endpoint ${policy.endpointHost}: it cannot be removed`,
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

/** The policy inputs a plan carries. */
export function policyFor(
  plan: { housekeeper: { enabled: boolean }; kubernetes: { controlPlaneEndpoint: { host: string } } },
  allowControlPlaneChanges: boolean,
): DiffPolicy {
  return {
    allowControlPlaneChanges,
    housekeeper: plan.housekeeper.enabled,
    endpointHost: plan.kubernetes.controlPlaneEndpoint.host,
  };
}

export interface JoinTokens {
  /** Node name → the token its config carries (every node added to a running cluster, ever). */
  byNode: ReadonlyMap<string, string>;
  /** The token minted for this run's additions, whose Secret must exist before they boot. */
  current: JoinToken | undefined;
}

/**
 * The tokens nodes added to a running cluster join with, kept in the state (0600): a node keeps the
 * token it was first rendered with, so its config never changes on a re-run (a resumed scale-out, a later
 * deploy), and only nodes that have none yet get a freshly minted one.
 */
export function joinTokensFor(
  paths: ClusterPaths,
  plan: { nodes: readonly NodePlan[] },
  added: readonly NodePlan[],
  now = new Date(),
): JoinTokens {
  const file = joinTokensPath(paths);
  const entries: JoinToken[] = readJoinTokenEntries(paths);
  const covered = new Set(entries.flatMap((e) => e.nodes));
  const fresh = added
    .filter((n) => !covered.has(n.name))
    .map((n) => n.name)
    .sort();
  if (fresh.length > 0) {
    entries.push({
      token: newBootstrapToken(),
      expires: new Date(now.getTime() + JOIN_TOKEN_TTL_MS).toISOString(),
      nodes: fresh,
    });
    writePrivateFile(file, `${JSON.stringify({ entries }, null, 2)}\n`);
  }
  const planned = new Set(plan.nodes.map((n) => n.name));
  const byNode = new Map<string, string>();
  for (const entry of entries)
    for (const node of entry.nodes) if (planned.has(node)) byNode.set(node, entry.token);
  // The newest entry still matters while one of its nodes is planned (a resumed scale-out included).
  const last = entries.at(-1);
  const current =
    last && last.nodes.some((n) => planned.has(n)) && added.some((n) => last.nodes.includes(n.name))
      ? last
      : undefined;
  return { byNode, current };
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

/** Kubernetes' default grace period, for pods that do not set their own. */
const DEFAULT_GRACE_SECONDS = 30;
/** Beyond the grace period: the kubelet's and the API's own latency on a loaded machine. */
const TERMINATION_SLACK_MS = 15_000;

/** How long deleted pods may take to go: the longest grace period among them, plus some slack. */
function terminationAllowanceMs(pods: PodObject[]): number {
  const grace = Math.max(
    0,
    ...pods.map((p) => p.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS),
  );
  return grace * 1000 + TERMINATION_SLACK_MS;
}

function drainable(pod: PodObject): boolean {
  if (pod.metadata.annotations?.['kubernetes.io/config.mirror']) return false;
  if (pod.metadata.ownerReferences?.some((o) => o.kind === 'DaemonSet')) return false;
  return !['Succeeded', 'Failed'].includes(pod.status?.phase ?? '');
}

/**
 * Cordons and drains one node through the Eviction API, then deletes its Node object. At the timeout a
 * budget that still blocks is named (with `force` the pod is deleted instead), and pods that never finish
 * terminating end the drain too: it never waits forever.
 */
type DrainOptions = {
  timeoutMs: number;
  force: boolean;
  log: (line: string) => void;
  pollMs?: number;
  signal?: AbortSignal;
};

export async function drainAndDelete(
  kube: HousekeeperKube & { deleteNode(name: string): Promise<void> },
  node: string,
  options: DrainOptions,
): Promise<void> {
  if (!(await kube.getNode(node))) return void options.log(`${node}: already gone from the cluster`);
  await drainNode(kube, node, options);
  await deleteNode(kube, node);
  options.log(`${node}: drained and deleted from the cluster`);
}

async function drainNode(kube: HousekeeperKube, node: string, options: DrainOptions): Promise<void> {
  const existing = await kube.getNode(node);
  if (!existing) return;
  if (!existing.spec?.unschedulable) await kube.patchNode(node, { spec: { unschedulable: true } });
  options.log(`${node}: cordoned; draining`);
  const deadline = Date.now() + options.timeoutMs;
  // Set once the pods were deleted at the deadline: they may take their grace period to terminate.
  let forcedUntil: number | undefined;
  for (;;) {
    if (options.signal?.aborted)
      throw new NkdError('interrupted; run the same command again to resume', ExitCode.Interrupted);
    const pods = (await kube.listPods({ nodeName: node })).filter(drainable);
    if (pods.length === 0) break;
    const blocked = await evictAll(
      kube,
      pods.filter((p) => !p.metadata.deletionTimestamp),
    );
    if (Date.now() > deadline) {
      if (blocked.length > 0 && !options.force)
        throw await blockedError(kube, node, blocked, options.timeoutMs);
      if (forcedUntil !== undefined) {
        if (Date.now() <= forcedUntil) {
          await abortableDelay(options.pollMs ?? 2000, options.signal);
          continue;
        }
        // Deleted and still there after their grace period: the node's kubelet is not finishing them.
        throw new NkdError(
          `cannot drain ${node}: ${pods.map(podName).join(', ')} never finished terminating; check the node, or remove it by hand`,
          ExitCode.ClusterOperation,
        );
      }
      for (const pod of pods) await deleteIgnoringMissing(kube, pod);
      forcedUntil = Date.now() + terminationAllowanceMs(pods);
    }
    await abortableDelay(options.pollMs ?? 2000, options.signal);
  }
}

/**
 * A control-plane node leaves: the other control-plane nodes must all be Ready (so the remaining etcd
 * members keep quorum), it is drained, its Housekeeper agent removes its etcd member, then its Node
 * object goes.
 */
export async function removeControlPlaneNode(
  kube: HousekeeperKube & { deleteNode(name: string): Promise<void> },
  node: string,
  remaining: readonly string[],
  options: DrainOptions & { leaveTimeoutMs: number },
): Promise<void> {
  const nodes = await kube.listNodes();
  const notReady = remaining.filter((name) => {
    const n = nodes.find((x) => x.metadata.name === name);
    return !n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  });
  if (notReady.length > 0) {
    throw new NkdError(
      `not removing control-plane node ${node}: ${notReady.join(', ')} ${notReady.length === 1 ? 'is' : 'are'} not Ready, and etcd would be left without a safe quorum`,
      ExitCode.ClusterOperation,
    );
  }
  const existing = nodes.find((n) => n.metadata.name === node);
  if (!existing) return void options.log(`${node}: already gone from the cluster`);
  const key = `leave-${node}`;
  if (readLeave(existing).progress?.phase !== 'done') {
    await drainNode(kube, node, options);
    await kube.patchNode(node, {
      metadata: { annotations: { [LEAVE_ANNOTATION]: JSON.stringify({ key }) } },
    });
    options.log(`${node}: asked its Housekeeper agent to remove its etcd member`);
    await waitForLeave(kube, node, key, options);
  }
  await deleteNode(kube, node);
  options.log(`${node}: etcd member removed, drained and deleted from the cluster`);
}

async function waitForLeave(
  kube: HousekeeperKube,
  node: string,
  key: string,
  options: DrainOptions & { leaveTimeoutMs: number },
): Promise<void> {
  const deadline = Date.now() + options.leaveTimeoutMs;
  for (;;) {
    if (options.signal?.aborted)
      throw new NkdError('interrupted; run the same command again to resume', ExitCode.Interrupted);
    const current = await kube.getNode(node);
    const progress = current ? readLeave(current).progress : undefined;
    if (progress?.key === key && progress.phase === 'done') return;
    if (progress?.key === key && progress.phase === 'failed') {
      throw new NkdError(
        `${node}: removing its etcd member failed: ${progress.lastError ?? 'no detail'}`,
        ExitCode.ClusterOperation,
      );
    }
    if (Date.now() > deadline) {
      throw new NkdError(
        `${node}: its Housekeeper agent did not remove its etcd member within ${Math.round(options.leaveTimeoutMs / 1000)}s (is the housekeeper-agent pod running there?)`,
        ExitCode.ClusterOperation,
      );
    }
    await abortableDelay(options.pollMs ?? 2000, options.signal);
  }
}

function podName(pod: PodObject): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
}

/** Asks to evict each pod; resolves with the ones a disruption budget refused (HTTP 429). */
async function evictAll(kube: HousekeeperKube, pods: readonly PodObject[]): Promise<PodObject[]> {
  const blocked: PodObject[] = [];
  for (const pod of pods) {
    try {
      await kube.evictPod(pod.metadata.namespace ?? 'default', pod.metadata.name);
    } catch (err) {
      if (err instanceof KubeStatusError && err.status === 429) blocked.push(pod);
      else if (!(err instanceof KubeStatusError && err.status === 404)) throw err;
    }
  }
  return blocked;
}

async function blockedError(
  kube: HousekeeperKube,
  node: string,
  blocked: readonly PodObject[],
  timeoutMs: number,
): Promise<NkdError> {
  const budgets = await kube.listPodDisruptionBudgets();
  const names = blocked.map((pod) => {
    const pdb = budgets.filter((b) => b.metadata.namespace === pod.metadata.namespace && selects(b, pod));
    return `${podName(pod)} (blocked by ${pdb.map((b) => `${b.metadata.namespace}/${b.metadata.name}`).join(', ') || 'a disruption budget'})`;
  });
  return new NkdError(
    `cannot drain ${node}: evictions still refused after ${Math.round(timeoutMs / 1000)}s: ${names.join('; ')}; fix the budget or pass --force`,
    ExitCode.ClusterOperation,
  );
}

async function deleteIgnoringMissing(kube: HousekeeperKube, pod: PodObject): Promise<void> {
  try {
    await kube.deletePod(pod.metadata.namespace ?? 'default', pod.metadata.name);
  } catch (err) {
    if (!(err instanceof KubeStatusError && err.status === 404)) throw err;
  }
}

function abortableDelay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);
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
