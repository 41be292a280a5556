// `nkd upgrade`: asks Housekeeper for a rolling upgrade by creating an Update object with exactly the
// requested values (the original NKD sent an empty one), after a preflight against the live cluster;
// pauses/resumes it; and follows its status node by node.
import { HOUSEKEEPER_NAMESPACE } from '../addons/housekeeper/manifests.js';
import type { ClusterClient, NodeSummary } from '../cluster/types.js';
import { waitFor } from '../cluster/wait.js';
import { isSupported, parseKubeVersion, unsupportedReason } from '../config/versions.js';
import { ExitCode, NkdError } from '../errors.js';
import { capValue } from '../lib/cap.js';
import {
  UPDATE_API_VERSION,
  UPDATE_KIND,
  type NodeUpgradeStatus,
  type UpdateObject,
  type UpdateSpec,
} from '../housekeeper/types.js';

export interface UpgradeRequest {
  kubeVersion?: string;
  osImageURL?: string;
  maxUnavailable?: number;
  evictPodForce?: boolean;
  drainTimeoutSeconds?: number;
  paused?: boolean;
}

const UPDATES_PATH = `/apis/housekeeper.io/v1alpha1/namespaces/${HOUSEKEEPER_NAMESPACE}/updates`;
const FINISHED = new Set(['Completed']);

/** Pure: why this upgrade must not start, given the live nodes and the existing Updates. */
export function upgradeRefusals(
  request: UpgradeRequest,
  nodes: readonly NodeSummary[],
  updates: readonly UpdateObject[],
): string[] {
  const problems: string[] = [];
  if (!request.kubeVersion && !request.osImageURL)
    problems.push('nothing to upgrade: give --kube-version and/or --os-image');
  if (request.kubeVersion) {
    const asked = capValue(request.kubeVersion);
    const target = parseKubeVersion(request.kubeVersion);
    if (!target) problems.push(`--kube-version ${asked} must look like v1.37.2`);
    else if (!isSupported(target)) problems.push(`--kube-version ${unsupportedReason(asked, target)}`);
    else {
      for (const node of nodes) {
        const current = parseKubeVersion(node.kubeletVersion);
        if (!current) continue;
        const order =
          [target.major - current.major, target.minor - current.minor, target.patch - current.patch].find(
            (d) => d !== 0,
          ) ?? 0;
        if (order < 0)
          problems.push(`${node.name} runs ${node.kubeletVersion}: ${asked} would be a downgrade`);
        else if (target.major === current.major && target.minor - current.minor > 1)
          problems.push(
            `${node.name} runs ${node.kubeletVersion}: Kubernetes upgrades one minor version at a time (next: v${current.major}.${current.minor + 1}.x)`,
          );
      }
    }
  }
  if (request.osImageURL !== undefined && !/^[^\s]+$/.test(request.osImageURL))
    problems.push(`--os-image "${capValue(request.osImageURL)}" is not an image reference`);
  for (const update of updates) {
    if (!FINISHED.has(update.status?.phase ?? 'Pending')) {
      const how =
        update.status?.phase === 'Failed' ? ' (it failed: fix the cause, then delete it with kubectl)' : '';
      problems.push(
        `Update ${update.metadata.name} is ${update.status?.phase ?? 'Pending'}${how}; one upgrade at a time`,
      );
    }
  }
  return problems;
}

/** Pure: the Update object, carrying only what was asked (the CRD's defaults fill the rest). */
export function updateObject(name: string, request: UpgradeRequest): UpdateObject {
  const spec: UpdateSpec = {};
  if (request.osImageURL !== undefined) spec.osImageURL = request.osImageURL;
  if (request.kubeVersion !== undefined) spec.kubeVersion = request.kubeVersion;
  if (request.maxUnavailable !== undefined) spec.maxUnavailable = request.maxUnavailable;
  if (request.evictPodForce) spec.evictPodForce = true;
  if (request.drainTimeoutSeconds !== undefined) spec.drainTimeoutSeconds = request.drainTimeoutSeconds;
  if (request.paused) spec.paused = true;
  return {
    apiVersion: UPDATE_API_VERSION,
    kind: UPDATE_KIND,
    metadata: { name, namespace: HOUSEKEEPER_NAMESPACE },
    spec,
  };
}

export function updateName(now: Date): string {
  return `upgrade-${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;
}

export async function listUpdates(client: ClusterClient): Promise<UpdateObject[]> {
  const items = await listUpdatesIfInstalled(client);
  if (items === undefined) {
    throw new NkdError(
      'Housekeeper is not installed in this cluster (no Update API): deploy with spec.housekeeper.enabled',
      ExitCode.State,
    );
  }
  return items;
}

/** The Updates, oldest first; undefined when the cluster has no Update API (no Housekeeper). */
export async function listUpdatesIfInstalled(client: ClusterClient): Promise<UpdateObject[] | undefined> {
  const items = await client.listObjects(UPDATES_PATH);
  if (items === undefined) return undefined;
  return (items as unknown as UpdateObject[]).sort(
    (a, b) =>
      (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
}

/** The Update a pause/resume/status acts on: the newest unfinished one, else the newest. */
export function currentUpdate(updates: readonly UpdateObject[]): UpdateObject | undefined {
  return [...updates].reverse().find((u) => !FINISHED.has(u.status?.phase ?? 'Pending')) ?? updates.at(-1);
}

export async function startUpgrade(
  client: ClusterClient,
  request: UpgradeRequest,
  now = new Date(),
): Promise<UpdateObject> {
  const [nodes, updates] = await Promise.all([client.listNodes(), listUpdates(client)]);
  const refusals = upgradeRefusals(request, nodes, updates);
  if (refusals.length > 0) {
    const running = refusals.some((r) => r.includes('one upgrade at a time'));
    throw new NkdError(
      `upgrade refused: ${refusals[0]}`,
      running ? ExitCode.State : ExitCode.Usage,
      refusals.slice(1),
    );
  }
  const update = updateObject(updateName(now), request);
  await client.apply([update as never]);
  return update;
}

/** Pause or resume with a merge patch of spec.paused alone: every other field stays as it was. */
export async function setPaused(client: ClusterClient, paused: boolean): Promise<UpdateObject> {
  const update = currentUpdate(await listUpdates(client));
  if (!update || FINISHED.has(update.status?.phase ?? ''))
    throw new NkdError('no upgrade in progress', ExitCode.State);
  if (update.status?.phase === 'Failed') {
    // Editing the spec would start a new generation and hand the failed node out again, silently.
    throw new NkdError(
      `upgrade ${update.metadata.name} failed: fix the cause, delete it (kubectl -n housekeeper-system delete update ${update.metadata.name}) and start a new one`,
      ExitCode.State,
    );
  }
  return (await client.mergePatch(`${UPDATES_PATH}/${update.metadata.name}`, {
    spec: { paused },
  })) as unknown as UpdateObject;
}

export function describeNode(node: NodeUpgradeStatus): string {
  const detail = node.lastError ?? node.message;
  return `${node.name} (${node.role}): ${node.phase}${detail ? ` — ${detail}` : ''}`;
}

/** Follows one Update until it completes (resolves), fails (exit 8) or the deadline passes (exit 7). */
export async function watchUpgrade(
  client: ClusterClient,
  name: string,
  options: {
    timeoutMs: number;
    onNode: (line: string, node: NodeUpgradeStatus) => void;
    onLine: (line: string) => void;
    signal?: AbortSignal;
    pollMs?: number;
  },
): Promise<UpdateObject> {
  const seen = new Map<string, string>();
  let last: UpdateObject | undefined;
  const update = await waitFor<UpdateObject>({
    what: `Update ${name} to complete`,
    timeoutMs: options.timeoutMs,
    initialDelayMs: options.pollMs ?? 2000,
    maxDelayMs: options.pollMs ?? 5000,
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (line) => options.onLine(line),
    probe: async () => {
      const current = (await client.getObject(`${UPDATES_PATH}/${name}`)) as unknown as
        UpdateObject | undefined;
      if (!current) return { done: false, status: `Update ${name} not found` };
      last = current;
      for (const node of current.status?.nodes ?? []) {
        const key = `${node.phase}|${node.lastError ?? ''}`;
        if (seen.get(node.name) === key) continue;
        seen.set(node.name, key);
        options.onNode(describeNode(node), node);
      }
      const phase = current.status?.phase;
      // A failed rollout ends the wait too; it is reported below, not waited out.
      if (phase === 'Completed' || phase === 'Failed') return { done: true, value: current };
      const nodes = current.status?.nodes ?? [];
      const done = nodes.filter((n) => n.phase === 'done').length;
      return { done: false, status: `${phase ?? 'Pending'}: ${done}/${nodes.length} nodes done` };
    },
    diagnose: () => (last?.status?.nodes ?? []).filter((n) => n.phase !== 'done').map(describeNode),
  });
  if (update.status?.phase === 'Failed') {
    const failed = (update.status.nodes ?? []).filter((n) => n.phase === 'failed');
    throw new NkdError(
      `upgrade ${name} failed${failed.length > 0 ? `: ${failed.map(describeNode).join('; ')}` : ''}`,
      ExitCode.ClusterOperation,
      (update.status.conditions ?? []).map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`),
    );
  }
  return update;
}
