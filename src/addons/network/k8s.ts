// Small builders for the pieces both CNI manifests repeat. Plain objects: the manifests are sent to the
// API server verbatim, so nothing here may add a field the author did not mean.
import type { KubeObject } from '../../cluster/types.js';

/** Tolerates every taint: no key with operator Exists matches all keys, and no effect matches all effects. */
export const TOLERATE_EVERYTHING = { operator: 'Exists' } as const;

/** Keys of a `kubernetes.io/os` node selector: the bundled images are Linux-only. */
export const LINUX_ONLY = { 'kubernetes.io/os': 'linux' } as const;

export function hostPathVolume(name: string, path: string, type?: string): Record<string, unknown> {
  return { name, hostPath: type ? { path, type } : { path } };
}

export function mount(name: string, mountPath: string, extra: Record<string, unknown> = {}) {
  return { name, mountPath, ...extra };
}

export function fieldEnv(name: string, fieldPath: string) {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

export function configMapEnv(name: string, configMap: string, key: string) {
  return { name, valueFrom: { configMapKeyRef: { name: configMap, key } } };
}

export function serviceAccount(
  name: string,
  namespace: string,
  labels: Record<string, string> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace, ...(Object.keys(labels).length > 0 ? { labels } : {}) },
  };
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export function clusterRole(name: string, rules: PolicyRule[]): KubeObject {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules };
}

/** Binds the ClusterRole `name` to the ServiceAccount of the same name in `namespace`. */
export function clusterRoleBinding(name: string, namespace: string): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  };
}

/** JSON for a ConfigMap value: two-space indent and a final newline, as a person would write it. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
