// The health gate between nodes, as the operator reads it from the pods: the cluster's own components
// must be running and Ready again before the next node starts, and etcd whole before a control plane.
import type { PodObject } from './types.js';

const CRITICAL_PRIORITY = new Set(['system-node-critical', 'system-cluster-critical']);

/**
 * The pods the gate watches: all of kube-system, and every pod of a system-critical priority class
 * wherever it runs (a CNI lives in its own namespace: kube-flannel, calico-system, ...).
 */
export function isGated(pod: PodObject): boolean {
  const priority = pod.spec?.priorityClassName;
  return (
    pod.metadata.namespace === 'kube-system' || (priority !== undefined && CRITICAL_PRIORITY.has(priority))
  );
}

/** Running and Ready (or finished): what the gate asks of every watched pod. */
export function podHealthy(pod: PodObject): boolean {
  if (pod.metadata.deletionTimestamp) return true; // on its way out; its replacement is judged
  // Finished pods never become Ready again: a Failed one (evicted, OOM-killed) was replaced by its
  // controller or is garbage, and must not hold the rollout forever.
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return true;
  return (
    pod.status?.phase === 'Running' &&
    (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

const podId = (p: PodObject) => `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;

/** The watched pods that are not healthy, as namespace/name. */
export function unhealthyPods(pods: readonly PodObject[]): string[] {
  return pods.filter((p) => isGated(p) && !podHealthy(p)).map(podId);
}

/**
 * Why etcd is not whole, or undefined: one Ready etcd static pod (kubeadm labels them component=etcd) per
 * control plane. A control plane is not taken down while a member is already missing: that would cost
 * the quorum the rollout relies on.
 */
export function etcdProblem(pods: readonly PodObject[], controlPlanes: number): string | undefined {
  const members = pods.filter(
    (p) =>
      p.metadata.namespace === 'kube-system' &&
      p.metadata.labels?.component === 'etcd' &&
      !p.metadata.deletionTimestamp,
  );
  const ready = members.filter(podHealthy).length;
  if (controlPlanes === 0 || ready >= controlPlanes) return undefined;
  return `${ready} of ${controlPlanes} etcd members are Ready`;
}
