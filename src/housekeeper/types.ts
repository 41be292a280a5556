// The Housekeeper contract shared by the operator, the node agent, `nkd upgrade` and the tests: the
// Update API (templates/housekeeper/crd.yaml is its schema), the node annotations through which the
// operator hands a node to its agent and the agent reports back, and the small Kubernetes surface both
// need (HousekeeperKube), so tests can run them against the in-process API fake or an in-memory double.

import type { MaintenanceWindow } from './windows.js';

export const UPDATE_API_VERSION = 'housekeeper.io/v1alpha1';
export const UPDATE_KIND = 'Update';
export const UPDATE_PLURAL = 'updates';

/** Set by the operator on a node it selects: what the agent must bring the node to (JSON, NodeTarget). */
export const TARGET_ANNOTATION = 'housekeeper.io/target';
/** Written by the agent: where it is with its node (JSON, NodeProgress). Survives the node's reboot. */
export const PROGRESS_ANNOTATION = 'housekeeper.io/progress';
/** Written by the agent: the OS image the node booted (from rpm-ostree), '' if not an image-based boot. */
export const OS_IMAGE_ANNOTATION = 'housekeeper.io/os-image';
/**
 * Written by the agent of a control-plane node: the Kubernetes version of its control-plane static pods
 * (what `kubeadm upgrade` last brought it to), '' when they are missing or disagree. The kubelet's version
 * does not say this: on NestOS the kubelet comes with the OS image.
 */
export const CONTROL_PLANE_VERSION_ANNOTATION = 'housekeeper.io/control-plane-version';

/**
 * Set by nkd (scale-in) on a control-plane node about to be removed: its agent removes the node's etcd
 * member (JSON, NodeLeave). Progress comes back in LEAVE_PROGRESS_ANNOTATION (JSON, LeaveProgress).
 */
/**
 * On a pod, "true": the agent's drain leaves it where it is, as it leaves DaemonSet pods. For pods that must
 * outlive the drain of their node, such as the Housekeeper operator on a single control plane (evicted, it
 * has nowhere to go while that node is cordoned, and a failed upgrade there would never be reported).
 */
export const STAY_ON_DRAIN_ANNOTATION = 'housekeeper.io/stay-on-drain';
export const LEAVE_ANNOTATION = 'housekeeper.io/leave';
export const LEAVE_PROGRESS_ANNOTATION = 'housekeeper.io/leave-progress';

export interface NodeLeave {
  key: string;
}

export interface LeaveProgress {
  key: string;
  phase: 'removing-etcd-member' | 'done' | 'failed';
  at: string;
  lastError?: string;
}

export type NodeRole = 'control-plane' | 'worker';

export const NODE_UPGRADE_PHASES = [
  'pending',
  'draining',
  'upgrading-os',
  'rebooting',
  'upgrading-kubernetes',
  'verifying',
  'done',
  'failed',
] as const;
export type NodeUpgradePhase = (typeof NODE_UPGRADE_PHASES)[number];

export type UpdatePhase = 'Pending' | 'Progressing' | 'Paused' | 'Completed' | 'Failed';

export interface UpdateSpec {
  /** Container image of the NestOS release to rebase onto (rpm-ostree); unset: keep the OS. */
  osImageURL?: string;
  /** Kubernetes version (vX.Y.Z); unset: keep the version. */
  kubeVersion?: string;
  /** Delete pods whose eviction a PodDisruptionBudget still blocks at the drain timeout. */
  evictPodForce?: boolean;
  /** Drain pods with emptyDir volumes, losing that data (kubectl drain --delete-emptydir-data). */
  deleteEmptyDirData?: boolean;
  /** Workers upgraded at once (control-plane nodes always go one at a time). Default 1. */
  maxUnavailable?: number | string;
  /** Finish the nodes in progress, then start no other. */
  paused?: boolean;
  /** When nodes may start (UTC); always when unset. Nodes in progress finish outside them. */
  maintenanceWindows?: MaintenanceWindow[];
  /** Per node; default 300. */
  drainTimeoutSeconds?: number;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface NodeUpgradeStatus {
  name: string;
  role: NodeRole;
  phase: NodeUpgradePhase;
  startedAt?: string;
  finishedAt?: string;
  lastTransitionTime?: string;
  lastError?: string;
  message?: string;
}

export interface UpdateStatus {
  observedGeneration?: number;
  phase?: UpdatePhase;
  conditions?: Condition[];
  nodes?: NodeUpgradeStatus[];
  startedAt?: string;
  completedAt?: string;
}

export interface UpdateObject {
  apiVersion: typeof UPDATE_API_VERSION;
  kind: typeof UPDATE_KIND;
  metadata: {
    name: string;
    namespace: string;
    generation?: number;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
  };
  spec: UpdateSpec;
  status?: UpdateStatus;
}

/** What the operator asks of one node (the TARGET_ANNOTATION value). */
export interface NodeTarget {
  /** `<namespace>/<name>@<generation>` of the Update: progress for another key is stale. */
  key: string;
  osImageURL?: string;
  kubeVersion?: string;
  /** This node runs `kubeadm upgrade apply` (the cluster-wide step); every other one `kubeadm upgrade node`. */
  firstControlPlane: boolean;
  evictPodForce: boolean;
  /** Set only when true: the Update consents to losing emptyDir data. */
  deleteEmptyDirData?: boolean;
  drainTimeoutSeconds: number;
}

/** What the agent reports (the PROGRESS_ANNOTATION value). */
export interface NodeProgress {
  /** The NodeTarget.key this progress is for. */
  key: string;
  phase: NodeUpgradePhase;
  startedAt: string;
  lastTransitionTime: string;
  finishedAt?: string;
  lastError?: string;
  message?: string;
  /** Set by the agent once it cordoned the node, so it uncordons only what it cordoned. */
  cordonedByAgent?: boolean;
  /**
   * kubeadm run from the staged deployment before the reboot: `staged` while it runs (a restarted agent
   * runs it again, it is idempotent, then reboots), `done` once it succeeded (nothing left after the boot).
   */
  kubeadm?: 'staged' | 'done';
}

// ------------------------------------------------------------------ the Kubernetes surface they use

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

export interface NodeObject {
  metadata: ObjectMeta;
  spec?: { unschedulable?: boolean; taints?: { key: string; effect: string; value?: string }[] };
  status?: {
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    nodeInfo?: { kubeletVersion?: string; osImage?: string };
  };
}

export interface PodObject {
  metadata: ObjectMeta;
  spec?: {
    nodeName?: string;
    priorityClassName?: string;
    terminationGracePeriodSeconds?: number;
    volumes?: { name: string; emptyDir?: object }[];
  };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
  };
}

export interface PodDisruptionBudgetObject {
  metadata: ObjectMeta;
  spec?: {
    selector?: { matchLabels?: Record<string, string> };
    minAvailable?: number | string;
    maxUnavailable?: number | string;
  };
  status?: {
    disruptionsAllowed?: number;
    currentHealthy?: number;
    desiredHealthy?: number;
    expectedPods?: number;
  };
}

export interface LeaseObject {
  apiVersion?: 'coordination.k8s.io/v1';
  kind?: 'Lease';
  metadata: ObjectMeta;
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** The API answered with an HTTP error status: 404, 409 (conflict), 429 (eviction blocked), ... */
export { KubeStatusError } from '../kube/errors.js';

/** JSON merge patch (RFC 7386): null deletes a key. */
export type MergePatch<T> = {
  [K in keyof T]?: NonNullable<T[K]> extends object ? MergePatch<NonNullable<T[K]>> | null : T[K] | null;
};

/**
 * Everything the operator and agent ask of the API server. Each method rejects with KubeStatusError for
 * an HTTP error status (get* methods resolve undefined on 404 instead), and with another Error when no
 * HTTP answer came.
 */
export interface HousekeeperKube {
  /** GET /version: the API server's gitVersion (vX.Y.Z), readable by every identity. */
  serverVersion(): Promise<string>;
  getNode(name: string): Promise<NodeObject | undefined>;
  listNodes(): Promise<NodeObject[]>;
  /** JSON merge patch of a node (annotations, labels, spec.unschedulable). */
  patchNode(name: string, patch: MergePatch<NodeObject>): Promise<NodeObject>;
  /** Pods of a namespace or of all namespaces, optionally only those on one node (fieldSelector spec.nodeName). */
  listPods(options: { namespace?: string; nodeName?: string }): Promise<PodObject[]>;
  /** POST pods/<name>/eviction (policy/v1). A PodDisruptionBudget blocking it rejects with status 429. */
  evictPod(namespace: string, name: string): Promise<void>;
  deletePod(namespace: string, name: string): Promise<void>;
  listPodDisruptionBudgets(namespace?: string): Promise<PodDisruptionBudgetObject[]>;
  listUpdates(namespace: string): Promise<UpdateObject[]>;
  getUpdate(namespace: string, name: string): Promise<UpdateObject | undefined>;
  /** Replaces .status through the status subresource (merge patch of {status}). */
  patchUpdateStatus(namespace: string, name: string, status: UpdateStatus): Promise<UpdateObject>;
  getLease(namespace: string, name: string): Promise<LeaseObject | undefined>;
  /** Rejects with 409 when it exists already. */
  createLease(namespace: string, lease: LeaseObject): Promise<LeaseObject>;
  /** PUT with metadata.resourceVersion: rejects with 409 when someone else updated it first. */
  updateLease(namespace: string, lease: LeaseObject): Promise<LeaseObject>;
  /** POST a core/v1 Event (what `kubectl describe` shows under Events). */
  createEvent(namespace: string, event: EventObject): Promise<void>;
}

export interface EventObject {
  metadata: { generateName: string; namespace?: string };
  involvedObject: { apiVersion: string; kind: string; name: string; namespace?: string; uid?: string };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  source: { component: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
}

/** The host, as the agent drives it: one command at a time (tests script it). */
export interface HostExecutor {
  run(command: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}
