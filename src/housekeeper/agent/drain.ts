// Cordon and drain, like `kubectl drain`, one pass at a time: each pass evicts what is still running,
// then returns 'draining' while something is left, so the agent's loop is the wait and a restarted agent
// simply carries on. The drain timeout counts from when `draining` was recorded, which survives restarts.

import {
  KubeStatusError,
  STAY_ON_DRAIN_ANNOTATION,
  type PodDisruptionBudgetObject,
  type PodObject,
} from '../types.js';
import type { StepContext, StepResult } from './context.js';
import { StepFailure } from './progress.js';
import { upgradePathProblem } from './skew.js';

const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
/**
 * The cluster autoscaler's annotation naming a pod's local volumes that hold nothing worth keeping
 * (comma-separated volume names): honoured the same way here, so scratch space (the Housekeeper
 * operator's own /tmp) does not block a drain that would refuse real emptyDir data.
 */
export const SAFE_TO_EVICT_LOCAL_VOLUMES = 'cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes';
/** Parts of a message beyond this many are counted, not listed: the annotation should stay readable. */
const LISTED = 3;

type PodKind = 'skip' | 'terminating' | 'evict';

function podId(pod: PodObject): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
}

function controllerOf(pod: PodObject) {
  return pod.metadata.ownerReferences?.find((ref) => ref.controller === true);
}

/**
 * DaemonSet pods would come straight back (and tolerate the cordon), static pods belong to the kubelet
 * and cannot be evicted through the API, finished pods hold nothing, pods marked to stay (the operator)
 * asked not to be: none of them is drained.
 */
export function classifyPod(pod: PodObject): PodKind {
  if (controllerOf(pod)?.kind === 'DaemonSet') return 'skip';
  if (pod.metadata.annotations?.[MIRROR_ANNOTATION] !== undefined) return 'skip';
  if (pod.metadata.annotations?.[STAY_ON_DRAIN_ANNOTATION] === 'true') return 'skip';
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return 'skip';
  return pod.metadata.deletionTimestamp ? 'terminating' : 'evict';
}

/** Whether the pod has an emptyDir volume its owner did not declare safe to lose. */
function keepsLocalData(pod: PodObject): boolean {
  const safe = new Set(
    (pod.metadata.annotations?.[SAFE_TO_EVICT_LOCAL_VOLUMES] ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
  );
  return (pod.spec?.volumes ?? []).some((v) => v.emptyDir !== undefined && !safe.has(v.name));
}

/** Cordon, recording first whether the cordon is the agent's own, so it never lifts an admin's cordon. */
export async function cordon(ctx: StepContext): Promise<void> {
  const { progress } = ctx;
  const schedulable = ctx.node.spec?.unschedulable !== true;
  if (progress.phase !== 'draining') {
    const ours = schedulable || ctx.inheritedCordon;
    await progress.enter('draining', ours ? { cordonedByAgent: true } : {});
  } else if (schedulable && progress.current?.cordonedByAgent !== true) {
    // Uncordoned since the drain began (by someone, or the agent stopped between record and patch).
    await progress.note({ cordonedByAgent: true });
  }
  if (schedulable) {
    ctx.log('cordoning the node');
    await ctx.kube.patchNode(ctx.nodeName, { spec: { unschedulable: true } });
  }
}

export async function cordonAndDrain(ctx: StepContext): Promise<StepResult> {
  // Before the first side effect: a version kubeadm cannot reach must not cost a drained node.
  if (ctx.progress.phase === 'pending' && ctx.target.kubeVersion) {
    const problem = upgradePathProblem(await ctx.kube.serverVersion(), ctx.target.kubeVersion);
    if (problem) throw new StepFailure(`not started: ${problem}`);
  }
  await cordon(ctx);
  return drainPass(ctx);
}

async function drainPass(ctx: StepContext): Promise<StepResult> {
  const { kube, target, progress, nodeName } = ctx;
  const drainStart = progress.phaseStartedMs;
  const first = await kube.listPods({ nodeName });
  const toEvict = first.filter((p) => classifyPod(p) === 'evict');
  if (!target.deleteEmptyDirData) {
    // As kubectl drain without --delete-emptydir-data: an emptyDir's data goes with its pod.
    const local = toEvict.filter(keepsLocalData);
    if (local.length > 0) {
      throw new StepFailure(
        `${listed(local.map((p) => `pod ${podId(p)}`))} keeps data in an emptyDir volume that the drain ` +
          'would delete; set deleteEmptyDirData on the Update to accept that',
      );
    }
  }
  if (!target.evictPodForce) {
    // As kubectl drain without --force: a bare pod is gone for good once evicted, so that takes consent.
    const bare = toEvict.filter((p) => !controllerOf(p));
    if (bare.length > 0) {
      throw new StepFailure(
        `${listed(bare.map((p) => `pod ${podId(p)}`))} not managed by a controller: evicting would lose ` +
          'it for good; delete it yourself or set evictPodForce',
      );
    }
  }
  const refused = new Map<string, KubeStatusError>();
  for (const pod of toEvict) {
    const id = podId(pod);
    try {
      await kube.evictPod(pod.metadata.namespace ?? 'default', pod.metadata.name);
      ctx.evicted.add(id);
      ctx.log(`evicted pod ${id}`);
    } catch (err) {
      if (!(err instanceof KubeStatusError)) throw err; // no answer from the API: the next pass retries
      if (err.status !== 404) refused.set(id, err);
    }
  }
  const pods = toEvict.length > 0 ? await kube.listPods({ nodeName }) : first;
  // Terminating pods count when the drain made them so (or they began going since it started).
  const ours = (p: PodObject) =>
    ctx.evicted.has(podId(p)) || Date.parse(p.metadata.deletionTimestamp ?? '') >= drainStart;
  const running = pods.filter((p) => classifyPod(p) === 'evict');
  const going = pods.filter((p) => classifyPod(p) === 'terminating' && ours(p));
  if (running.length === 0 && going.length === 0) return 'next';

  const reasons = await describe(ctx, running, going, refused);
  if (ctx.now().getTime() < drainStart + target.drainTimeoutSeconds * 1000) {
    await progress.note({ message: `draining: ${reasons}` });
    return 'draining';
  }
  if (target.evictPodForce) {
    // Pods still refused at the timeout are deleted (PodDisruptionBudgets do not guard deletes); pods
    // already terminating are on their way and are not waited for any longer.
    for (const pod of running) {
      try {
        await kube.deletePod(pod.metadata.namespace ?? 'default', pod.metadata.name);
        ctx.log(`deleted pod ${podId(pod)} (evictPodForce)`);
      } catch (err) {
        if (!(err instanceof KubeStatusError && err.status === 404)) throw err;
      }
    }
    return 'next';
  }
  const hint = running.length > 0 ? '; set evictPodForce to delete such pods at the timeout' : '';
  throw new StepFailure(`drain did not finish within ${target.drainTimeoutSeconds}s: ${reasons}${hint}`);
}

/** Why each pod is still there, naming the PodDisruptionBudgets that refuse an eviction. */
async function describe(
  ctx: StepContext,
  running: PodObject[],
  going: PodObject[],
  refused: Map<string, KubeStatusError>,
): Promise<string> {
  const budgets = new Map<string, PodDisruptionBudgetObject[]>();
  const parts: string[] = [];
  for (const pod of running) {
    const id = podId(pod);
    const err = refused.get(id);
    if (err && isBudgetRefusal(err)) {
      const namespace = pod.metadata.namespace ?? 'default';
      if (!budgets.has(namespace)) budgets.set(namespace, await ctx.kube.listPodDisruptionBudgets(namespace));
      const names = (budgets.get(namespace) ?? [])
        .filter((pdb) => selects(pdb, pod))
        .map((pdb) => `PodDisruptionBudget ${namespace}/${pdb.metadata.name}`);
      parts.push(
        `eviction of pod ${id} blocked by ${names.length > 0 ? names.join(', ') : 'a PodDisruptionBudget'}`,
      );
    } else if (err?.status === 429) {
      // API priority and fairness throttling this client: nothing about the pod; the next pass retries.
      parts.push(`eviction of pod ${id} throttled by the API server (429), retrying`);
    } else if (err) {
      parts.push(`eviction of pod ${id} refused (${err.status}: ${err.message})`);
    } else {
      parts.push(`pod ${id} not evicted yet`);
    }
  }
  if (going.length > 0) parts.push(`${listed(going.map((p) => `pod ${podId(p)}`))} still terminating`);
  return listed(parts, '; ');
}

/**
 * A 429 from the Eviction API is a PodDisruptionBudget refusing only when it says so (its message, or the
 * DisruptionBudget cause folded into it); API priority and fairness answers 429 too, for any request.
 */
export function isBudgetRefusal(err: KubeStatusError): boolean {
  return err.status === 429 && /disruption budget/i.test(err.message);
}

function listed(items: string[], separator = ', '): string {
  const shown = items.slice(0, LISTED).join(separator);
  return items.length > LISTED ? `${shown}${separator}and ${items.length - LISTED} more` : shown;
}

interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/**
 * A policy/v1 PDB selector against a pod's labels: an absent selector selects nothing, an empty one
 * everything. matchExpressions is not in the shared type but real objects carry it, so it is read too.
 */
export function selects(pdb: PodDisruptionBudgetObject, pod: PodObject): boolean {
  const selector = pdb.spec?.selector as
    { matchLabels?: Record<string, string>; matchExpressions?: Requirement[] } | undefined;
  if (!selector) return false;
  const labels = pod.metadata.labels ?? {};
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  return (
    byLabels &&
    (selector.matchExpressions ?? []).every((r) => {
      const has = Object.hasOwn(labels, r.key);
      const value = labels[r.key];
      if (r.operator === 'Exists') return has;
      if (r.operator === 'DoesNotExist') return !has;
      const listedValue = has && value !== undefined && (r.values ?? []).includes(value);
      return r.operator === 'In' ? listedValue : !listedValue;
    })
  );
}
