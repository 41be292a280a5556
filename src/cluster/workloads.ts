/**
 * Rollout of Deployments and DaemonSets (add-ons, Housekeeper): which workloads a set of manifests
 * holds, whether one has rolled out, and a wait for all of them built on waitFor.
 *
 * Readiness follows the controllers' own bookkeeping, the way `kubectl rollout status` reads it:
 *
 * - both kinds: the controller has seen the current spec (status.observedGeneration >= metadata.generation);
 *   until then every count in the status describes an older spec.
 * - Deployment: spec.replicas (default 1) replicas updated and available, no old replicas left
 *   (status.replicas <= updatedReplicas), and not Progressing=False with ProgressDeadlineExceeded. A
 *   Deployment past its progress deadline is not ready, but the wait goes on: the controller keeps
 *   trying (an image pull may still succeed), and the summary says so.
 * - DaemonSet: every pod the controller wants (status.desiredNumberScheduled) updated and available.
 *   With an OnDelete update strategy old pods are only replaced by hand, so "updated" is not required.
 *   A DaemonSet that wants 0 pods is ready once its generation is observed: the controller then found
 *   no node that can run it (node selectors, taints), and nothing will change without a node that can.
 *   The summary says so, so that it is not mistaken for a running agent.
 *
 * Counts the API leaves out are 0 (Deployment status fields are omitempty).
 */
import type { ClusterClient, WorkloadRef } from './types.js';
import type { KubeObject } from './types.js';
import { formatClock, oneLine, waitFor, type WaitEvent, type WaitOptions } from './wait.js';
import type { ClusterWaitOptions } from './waits.js';

/** Image pulls of add-ons on fresh nodes can take a while; no add-on should need more. */
export const DEFAULT_WORKLOADS_TIMEOUT_MS = 15 * 60_000;

export interface WorkloadReadiness {
  ready: boolean;
  /** One line: "2/3 available", "1/1 available; 1 old replica pending termination", ... */
  summary: string;
}

export interface WorkloadStatus extends WorkloadReadiness {
  ref: WorkloadRef;
}

/** "kube-system/DaemonSet/calico-node". */
export function workloadId(ref: WorkloadRef): string {
  return `${ref.namespace}/${ref.kind}/${ref.name}`;
}

/** The API path of a workload: /apis/apps/v1/namespaces/<ns>/deployments|daemonsets/<name>. */
export function workloadPath(ref: WorkloadRef): string {
  const plural = ref.kind === 'Deployment' ? 'deployments' : 'daemonsets';
  return `/apis/apps/v1/namespaces/${encodeURIComponent(ref.namespace)}/${plural}/${encodeURIComponent(ref.name)}`;
}

/** The apps/v1 Deployments and DaemonSets among `objects`, in order; no namespace means "default". */
export function workloadsOf(objects: readonly KubeObject[]): WorkloadRef[] {
  const refs: WorkloadRef[] = [];
  for (const obj of objects) {
    if (obj.apiVersion !== 'apps/v1') continue;
    if (obj.kind !== 'Deployment' && obj.kind !== 'DaemonSet') continue;
    const name = obj.metadata?.name;
    if (typeof name !== 'string' || name === '') continue;
    const namespace = obj.metadata?.namespace;
    refs.push({
      kind: obj.kind,
      namespace: typeof namespace === 'string' && namespace !== '' ? namespace : 'default',
      name,
    });
  }
  return refs;
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Pure: has this Deployment or DaemonSet (as read from the API) rolled out? */
export function workloadReadiness(
  kind: WorkloadRef['kind'],
  obj: Record<string, unknown>,
): WorkloadReadiness {
  const metadata = record(obj.metadata);
  const spec = record(obj.spec);
  const status = record(obj.status);
  const generation = count(metadata.generation);
  const observed = typeof status.observedGeneration === 'number' ? status.observedGeneration : undefined;
  if (observed === undefined || observed < generation) {
    const seen = observed === undefined ? 'none yet' : `generation ${observed}`;
    return {
      ready: false,
      summary: `the ${kind} controller has not observed generation ${generation} yet (${seen})`,
    };
  }
  return kind === 'Deployment' ? deploymentReadiness(spec, status) : daemonSetReadiness(spec, status);
}

function deploymentReadiness(
  spec: Record<string, unknown>,
  status: Record<string, unknown>,
): WorkloadReadiness {
  const want = typeof spec.replicas === 'number' ? spec.replicas : 1;
  const updated = count(status.updatedReplicas);
  const available = count(status.availableReplicas);
  const old = count(status.replicas) - updated;
  const parts = [`${available}/${want} available`];
  if (updated < want) parts.push(`${updated}/${want} updated`);
  if (old > 0) parts.push(`${plural(old, 'old replica')} pending termination`);
  const conditions = Array.isArray(status.conditions) ? status.conditions.map(record) : [];
  const progressing = conditions.find((c) => c.type === 'Progressing');
  const deadlineExceeded =
    progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded';
  if (deadlineExceeded) {
    const why = typeof progressing.message === 'string' ? `: ${oneLine(progressing.message)}` : '';
    parts.push(`progress deadline exceeded${why}`);
  }
  const ready = !deadlineExceeded && updated >= want && available >= want && old <= 0;
  return { ready, summary: parts.join('; ') };
}

function daemonSetReadiness(
  spec: Record<string, unknown>,
  status: Record<string, unknown>,
): WorkloadReadiness {
  const desired = count(status.desiredNumberScheduled);
  const available = count(status.numberAvailable);
  const updated = count(status.updatedNumberScheduled);
  const onDelete = record(spec.updateStrategy).type === 'OnDelete';
  if (desired === 0) return { ready: true, summary: '0/0 available (no node can run it)' };
  const parts = [`${available}/${desired} available`];
  if (!onDelete && updated < desired) parts.push(`${updated}/${desired} updated`);
  return { ready: available >= desired && (onDelete || updated >= desired), summary: parts.join('; ') };
}

/** Progress of the workload wait: the generic events, plus one event per workload rolled out. */
export type WorkloadWaitEvent =
  WaitEvent | { type: 'workload-ready'; workload: WorkloadRef; summary: string; message: string };

/**
 * Waits until every workload exists and has rolled out (workloadReadiness). States its deadline, backs
 * off, reports changes only and each workload rolling out once; on timeout throws a WaitTimeoutError
 * (exit 7) whose details give each workload's last summary. Resolves with the final statuses.
 */
export async function waitForWorkloads(
  client: Pick<ClusterClient, 'getObject'>,
  refs: readonly WorkloadRef[],
  options: ClusterWaitOptions<WorkloadWaitEvent> & { what?: string } = {},
): Promise<WorkloadStatus[]> {
  const now = options.now ?? Date.now;
  const emit = options.onProgress ?? (() => {});
  const unique = [...new Map(refs.map((r) => [workloadId(r), r])).values()];
  const last = new Map<string, WorkloadStatus>();
  const reported = new Set<string>();
  let lastError: { message: string; at: number } | undefined;

  const probeOne = async (ref: WorkloadRef): Promise<WorkloadStatus> => {
    const obj = await client.getObject(workloadPath(ref));
    if (!obj) return { ref, ready: false, summary: 'not found' };
    return { ref, ...workloadReadiness(ref.kind, obj) };
  };

  const n = unique.length;
  const tuning: Partial<WaitOptions<unknown>> = {};
  if (options.now) tuning.now = options.now;
  if (options.sleep) tuning.sleep = options.sleep;
  if (options.initialDelayMs !== undefined) tuning.initialDelayMs = options.initialDelayMs;
  if (options.maxDelayMs !== undefined) tuning.maxDelayMs = options.maxDelayMs;
  if (options.signal) tuning.signal = options.signal;

  return waitFor<WorkloadStatus[]>({
    what: options.what ?? `${plural(n, 'workload')} to roll out`,
    timeoutMs: options.timeoutMs ?? DEFAULT_WORKLOADS_TIMEOUT_MS,
    ...tuning,
    onProgress: emit,
    probe: async () => {
      let statuses: WorkloadStatus[];
      try {
        statuses = await Promise.all(unique.map(probeOne));
      } catch (err) {
        lastError = { message: oneLine(err), at: now() };
        throw err;
      }
      for (const s of statuses) {
        const id = workloadId(s.ref);
        last.set(id, s);
        if (!s.ready || reported.has(id)) continue;
        reported.add(id);
        const message = `${id} rolled out (${s.summary})`;
        emit(message, { type: 'workload-ready', workload: s.ref, summary: s.summary, message });
      }
      const waiting = statuses.filter((s) => !s.ready);
      if (waiting.length === 0) return { done: true, value: statuses };
      const detail = waiting.map((s) => `${workloadId(s.ref)}: ${s.summary}`).join(', ');
      return { done: false, status: `${n - waiting.length}/${n} rolled out; ${detail}` };
    },
    diagnose: async () => {
      const lines = unique.map((ref) => {
        const s = last.get(workloadId(ref));
        return `${workloadId(ref)}: ${s ? s.summary : 'never read'}`;
      });
      if (lastError) {
        const at = formatClock(new Date(lastError.at), { seconds: true });
        lines.push(`last API error (${at}): ${lastError.message}`);
      }
      if (options.diagnose) {
        try {
          lines.push(...(await options.diagnose()));
        } catch (err) {
          lines.push(`(gathering further diagnostics failed: ${oneLine(err)})`);
        }
      }
      return lines;
    },
  });
}
