// Pods, PodDisruptionBudgets and the eviction subresource of the fake Kubernetes API, as the disruption
// controller and kube-apiserver's eviction REST handler behave: a budget's status is computed from the
// pods it selects, and an eviction that would leave fewer healthy pods than the budget wants is refused
// with 429 TooManyRequests; otherwise the pod is deleted.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendJson, sendStatus } from './fake-http.js';
import { isObject, matchesLabels, resourcePath, type Json } from './fake-objects.js';
import { deleteObject, sendNotFound, type FakeContext, type NamedTarget } from './fake-store.js';

export interface FakePod {
  namespace: string;
  name: string;
  nodeName: string;
  labels?: Record<string, string>;
  /** The controller owning the pod (a DaemonSet's pods are skipped by drains). */
  ownerKind?: 'DaemonSet' | 'ReplicaSet';
  /** Defaults to the pod name without its last "-suffix". */
  ownerName?: string;
  /** A static pod's mirror (kubernetes.io/config.mirror annotation, owned by its Node). */
  mirror?: boolean;
  /** Ready condition (default true). */
  ready?: boolean;
  /** Default Running. */
  phase?: string;
  /** spec.terminationGracePeriodSeconds (unset: Kubernetes' default of 30 s). */
  graceSeconds?: number;
}

export interface FakePodDisruptionBudget {
  namespace: string;
  name: string;
  matchLabels: Record<string, string>;
  minAvailable?: number | string;
  maxUnavailable?: number | string;
}

export function podObject(pod: FakePod, resourceVersion: string): Json {
  const ownerName = pod.ownerName ?? pod.name.replace(/-[^-]+$/, '');
  const owner = pod.mirror
    ? { apiVersion: 'v1', kind: 'Node', name: pod.nodeName, uid: `uid-${pod.nodeName}`, controller: true }
    : pod.ownerKind
      ? {
          apiVersion: 'apps/v1',
          kind: pod.ownerKind,
          name: ownerName,
          uid: randomUUID(),
          controller: true,
          blockOwnerDeletion: true,
        }
      : undefined;
  const hash = randomUUID().replace(/-/g, '');
  const ready = pod.ready ?? true;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: pod.name,
      namespace: pod.namespace,
      uid: randomUUID(),
      resourceVersion,
      creationTimestamp: new Date().toISOString(),
      ...(pod.labels ? { labels: { ...pod.labels } } : {}),
      ...(pod.mirror
        ? {
            annotations: {
              'kubernetes.io/config.hash': hash,
              'kubernetes.io/config.mirror': hash,
              'kubernetes.io/config.source': 'file',
            },
          }
        : {}),
      ...(owner ? { ownerReferences: [owner] } : {}),
    },
    spec: {
      nodeName: pod.nodeName,
      containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }],
      ...(pod.graceSeconds !== undefined ? { terminationGracePeriodSeconds: pod.graceSeconds } : {}),
    },
    status: {
      phase: pod.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  };
}

export function pdbObject(pdb: FakePodDisruptionBudget, resourceVersion: string): Json {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: {
      name: pdb.name,
      namespace: pdb.namespace,
      uid: randomUUID(),
      resourceVersion,
      generation: 1,
      creationTimestamp: new Date().toISOString(),
    },
    spec: {
      selector: { matchLabels: { ...pdb.matchLabels } },
      ...(pdb.minAvailable !== undefined ? { minAvailable: pdb.minAvailable } : {}),
      ...(pdb.maxUnavailable !== undefined ? { maxUnavailable: pdb.maxUnavailable } : {}),
    },
  };
}

function meta(obj: Json): Json {
  return isObject(obj.metadata) ? obj.metadata : {};
}

/** Counted by budgets: Ready, and not being deleted. */
function healthy(pod: Json): boolean {
  if (meta(pod).deletionTimestamp) return false;
  const conditions = (pod.status as { conditions?: { type: string; status: string }[] } | undefined)
    ?.conditions;
  return conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

type Selector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
};

/** policy/v1 semantics: no selector selects nothing, an empty one every pod of the namespace. */
function selects(selector: Selector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  if (!matchesLabels(selector.matchLabels ?? {}, labels)) return false;
  return (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    const value = labels?.[key];
    if (operator === 'In') return value !== undefined && values.includes(value);
    if (operator === 'NotIn') return value === undefined || !values.includes(value);
    if (operator === 'Exists') return value !== undefined;
    return value === undefined; // DoesNotExist
  });
}

export function namespacePods(ctx: FakeContext, namespace?: string): [string, Json][] {
  const prefix =
    namespace === undefined ? undefined : `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/`;
  return [...ctx.objects].filter(([path]) =>
    prefix ? path.startsWith(prefix) : /^\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+$/.test(path),
  );
}

function resolve(value: number | string, expected: number): number {
  if (typeof value === 'number') return value;
  const pct = /^(\d+)%$/.exec(value);
  return pct ? Math.ceil((Number(pct[1]) * expected) / 100) : Number(value) || 0;
}

/**
 * What the disruption controller would report for a budget, from the pods it selects now. With
 * maxUnavailable or a percentage, the expected count is the owning controllers' scale, which the fake
 * does not know: it takes the most pods the budget has selected at once (pods evicted and not replaced
 * keep counting, as a ReplicaSet would still want them).
 */
export function pdbStatus(ctx: FakeContext, pdb: Json): Json {
  const spec = (pdb.spec ?? {}) as {
    selector?: Selector;
    minAvailable?: number | string;
    maxUnavailable?: number | string;
  };
  const matched = namespacePods(ctx, meta(pdb).namespace as string)
    .map(([, pod]) => pod)
    .filter((pod) => selects(spec.selector, meta(pod).labels as Record<string, string> | undefined));
  const live = matched.filter((pod) => !meta(pod).deletionTimestamp).length;
  let expected = matched.length;
  if (spec.maxUnavailable !== undefined || typeof spec.minAvailable === 'string') {
    const key = `${String(meta(pdb).namespace)}/${String(meta(pdb).name)}/${String(meta(pdb).uid)}`;
    expected = Math.max(ctx.budgetScale.get(key) ?? 0, live);
    ctx.budgetScale.set(key, expected);
  }
  const current = matched.filter(healthy).length;
  let desired = 0;
  if (spec.minAvailable !== undefined) desired = resolve(spec.minAvailable, expected);
  else if (spec.maxUnavailable !== undefined)
    desired = Math.max(0, expected - resolve(spec.maxUnavailable, expected));
  return {
    observedGeneration: meta(pdb).generation ?? 1,
    disruptionsAllowed: Math.max(0, current - desired),
    currentHealthy: current,
    desiredHealthy: desired,
    expectedPods: expected,
  };
}

/** POST /api/v1/namespaces/<ns>/pods/<name>/eviction. */
export function evictPod(ctx: FakeContext, res: ServerResponse, target: NamedTarget, text: string): void {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    sendStatus(res, 400, `error decoding JSON: ${(err as Error).message}`);
    return;
  }
  if (!isObject(body) || body.kind !== 'Eviction' || !/^policy\/v1(beta1)?$/.test(String(body.apiVersion))) {
    sendStatus(res, 400, 'the body of an eviction must be a policy/v1 Eviction');
    return;
  }
  if (meta(body).name !== target.name) {
    sendStatus(res, 400, 'name in URL does not match name in Eviction object');
    return;
  }
  const podTarget: NamedTarget = {
    groupVersion: 'v1',
    namespace: target.namespace,
    resource: 'pods',
    name: target.name,
  };
  const pod = ctx.objects.get(resourcePath(podTarget));
  if (!pod) {
    sendNotFound(res, podTarget);
    return;
  }
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  const ignoreBudgets =
    phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!meta(pod).deletionTimestamp;
  if (!ignoreBudgets) {
    const labels = meta(pod).labels as Record<string, string> | undefined;
    const budgets = [...ctx.objects]
      .filter(([path]) =>
        path.startsWith(
          `/apis/policy/v1/namespaces/${encodeURIComponent(target.namespace!)}/poddisruptionbudgets/`,
        ),
      )
      .map(([, pdb]) => pdb)
      .filter((pdb) => selects((pdb.spec as { selector?: Selector } | undefined)?.selector, labels));
    if (budgets.length > 1) {
      sendStatus(
        res,
        500,
        'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
      );
      return;
    }
    if (budgets.length === 1) {
      const status = pdbStatus(ctx, budgets[0]!) as {
        disruptionsAllowed: number;
        currentHealthy: number;
        desiredHealthy: number;
      };
      // IfHealthyBudget (the default): a pod that is not Ready may go while the budget is met.
      const unhealthyButMet = !healthy(pod) && status.currentHealthy >= status.desiredHealthy;
      if (!unhealthyButMet && status.disruptionsAllowed <= 0) {
        const name = meta(budgets[0]!).name as string;
        sendStatus(res, 429, "Cannot evict pod as it would violate the pod's disruption budget.", {
          details: {
            causes: [
              {
                reason: 'DisruptionBudget',
                message: `The disruption budget ${name} needs ${status.desiredHealthy} healthy pods and has ${status.currentHealthy} currently`,
              },
            ],
          },
        });
        return;
      }
    }
  }
  deleteObject(ctx, undefined, podTarget);
  sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}
