/**
 * An in-memory HousekeeperKube for the Housekeeper operator and agent tests: nodes, pods, PDBs, Update
 * objects and leases in maps, with the API behaviour they rely on:
 *
 * - patchNode is a JSON merge patch (null deletes); every call is logged in `calls`;
 * - evictPod answers 404 for a missing pod and 429 while a PDB selecting the pod allows no disruption
 *   (status.disruptionsAllowed <= 0; a successful eviction uses one up), like the Eviction API;
 * - an evicted or deleted pod disappears at once, or, with `graceful`, gets a deletionTimestamp and stays
 *   until `finishTerminating()`;
 * - get* resolve undefined for a missing object, other calls reject with KubeStatusError(404);
 * - createLease answers 409 when it exists, updateLease 409 on a stale resourceVersion.
 *
 * Objects go in and out as deep copies, so neither side can change the other's by reference.
 */
import { selects } from '../../src/housekeeper/agent/drain.js';
import {
  KubeStatusError,
  OS_IMAGE_ANNOTATION,
  PROGRESS_ANNOTATION,
  TARGET_ANNOTATION,
  type HousekeeperKube,
  type EventObject,
  type LeaseObject,
  type MergePatch,
  type NodeObject,
  type NodeProgress,
  type NodeTarget,
  type PodDisruptionBudgetObject,
  type PodObject,
  type UpdateObject,
  type UpdateStatus,
} from '../../src/housekeeper/types.js';

const copy = <T>(value: T): T => structuredClone(value);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386 merge patch. */
export function mergePatch<T>(target: T, patch: unknown): T {
  if (!isObject(patch)) return copy(patch) as T;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out as T;
}

export interface NodeSetup {
  kubeletVersion?: string;
  controlPlane?: boolean;
  ready?: boolean;
  unschedulable?: boolean;
}

export interface PodSetup {
  node: string;
  /** Kind of the controlling owner; 'none' for a bare pod. Default ReplicaSet. */
  owner?: 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'none';
  labels?: Record<string, string>;
  mirror?: boolean;
  phase?: string;
  deletionTimestamp?: string;
}

export class MemoryKube implements HousekeeperKube {
  readonly nodes = new Map<string, NodeObject>();
  readonly pods = new Map<string, PodObject>();
  readonly pdbs: PodDisruptionBudgetObject[] = [];
  readonly updates = new Map<string, UpdateObject>();
  readonly leases = new Map<string, LeaseObject>();
  /** `patchNode <name> <json>`, `evict <ns>/<pod>`, `delete <ns>/<pod>`, in call order. */
  readonly calls: string[] = [];
  /** Evicted/deleted pods linger with a deletionTimestamp until finishTerminating(). */
  graceful = false;
  /** What GET /version answers. */
  apiServerVersion = 'v1.29.6';
  private version = 0;

  constructor(private readonly now: () => Date = () => new Date()) {}

  // ------------------------------------------------------------------------------- test set-up

  addNode(name: string, setup: NodeSetup = {}): void {
    this.nodes.set(name, {
      metadata: {
        name,
        labels: setup.controlPlane ? { 'node-role.kubernetes.io/control-plane': '' } : {},
        annotations: {},
      },
      spec: setup.unschedulable ? { unschedulable: true } : {},
      status: {
        conditions: [{ type: 'Ready', status: setup.ready === false ? 'False' : 'True' }],
        nodeInfo: { kubeletVersion: setup.kubeletVersion ?? 'v1.29.6' },
      },
    });
  }

  addPod(namespace: string, name: string, setup: PodSetup): void {
    const owner = setup.owner ?? 'ReplicaSet';
    this.pods.set(`${namespace}/${name}`, {
      metadata: {
        name,
        namespace,
        labels: setup.labels ?? {},
        annotations: setup.mirror ? { 'kubernetes.io/config.mirror': 'hash' } : {},
        ...(owner !== 'none' && {
          ownerReferences: [{ kind: owner, name: `${name}-owner`, controller: true }],
        }),
        ...(setup.deletionTimestamp && { deletionTimestamp: setup.deletionTimestamp }),
      },
      spec: { nodeName: setup.node },
      status: { phase: setup.phase ?? 'Running' },
    });
  }

  addPdb(namespace: string, name: string, matchLabels: Record<string, string>, disruptionsAllowed = 0): void {
    this.pdbs.push({
      metadata: { name, namespace },
      spec: { selector: { matchLabels }, minAvailable: 1 },
      status: { disruptionsAllowed },
    });
  }

  node(name: string): NodeObject {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`memory kube: no node ${name}`);
    return node;
  }

  setTarget(name: string, target: NodeTarget): void {
    this.node(name).metadata.annotations = {
      ...this.node(name).metadata.annotations,
      [TARGET_ANNOTATION]: JSON.stringify(target),
    };
  }

  setProgress(name: string, progress: NodeProgress): void {
    this.node(name).metadata.annotations = {
      ...this.node(name).metadata.annotations,
      [PROGRESS_ANNOTATION]: JSON.stringify(progress),
    };
  }

  progress(name: string): NodeProgress | undefined {
    const raw = this.node(name).metadata.annotations?.[PROGRESS_ANNOTATION];
    return raw === undefined ? undefined : (JSON.parse(raw) as NodeProgress);
  }

  osImage(name: string): string | undefined {
    return this.node(name).metadata.annotations?.[OS_IMAGE_ANNOTATION];
  }

  setKubelet(name: string, version: string): void {
    this.node(name).status = { ...this.node(name).status, nodeInfo: { kubeletVersion: version } };
  }

  setReady(name: string, ready: boolean): void {
    this.node(name).status = {
      ...this.node(name).status,
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    };
  }

  /** Pods still terminating are gone now. */
  finishTerminating(): void {
    for (const [key, pod] of this.pods) if (pod.metadata.deletionTimestamp) this.pods.delete(key);
  }

  // ------------------------------------------------------------------------------- the API

  async getNode(name: string): Promise<NodeObject | undefined> {
    const node = this.nodes.get(name);
    return node && copy(node);
  }

  async listNodes(): Promise<NodeObject[]> {
    return [...this.nodes.values()].map(copy);
  }

  async patchNode(name: string, patch: MergePatch<NodeObject>): Promise<NodeObject> {
    this.calls.push(`patchNode ${name} ${JSON.stringify(patch)}`);
    const node = this.nodes.get(name);
    if (!node) throw new KubeStatusError(404, `nodes "${name}" not found`);
    const patched = mergePatch(node, patch);
    this.nodes.set(name, patched);
    return copy(patched);
  }

  /** Events created, in order. */
  readonly events: EventObject[] = [];

  async createEvent(namespace: string, event: EventObject): Promise<void> {
    this.events.push(copy({ ...event, metadata: { ...event.metadata, namespace } }));
  }

  async serverVersion(): Promise<string> {
    return this.apiServerVersion;
  }

  async listPods(options: { namespace?: string; nodeName?: string }): Promise<PodObject[]> {
    return [...this.pods.values()]
      .filter((p) => options.namespace === undefined || p.metadata.namespace === options.namespace)
      .filter((p) => options.nodeName === undefined || p.spec?.nodeName === options.nodeName)
      .map(copy);
  }

  async evictPod(namespace: string, name: string): Promise<void> {
    this.calls.push(`evict ${namespace}/${name}`);
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) throw new KubeStatusError(404, `pods "${name}" not found`);
    const budgets = this.pdbs.filter((b) => b.metadata.namespace === namespace && selects(b, pod));
    if (budgets.some((b) => (b.status?.disruptionsAllowed ?? 0) <= 0)) {
      throw new KubeStatusError(429, "Cannot evict pod as it would violate the pod's disruption budget.");
    }
    for (const b of budgets)
      b.status = { ...b.status, disruptionsAllowed: (b.status?.disruptionsAllowed ?? 0) - 1 };
    this.remove(namespace, name);
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    this.calls.push(`delete ${namespace}/${name}`);
    if (!this.pods.has(`${namespace}/${name}`)) throw new KubeStatusError(404, `pods "${name}" not found`);
    this.remove(namespace, name);
  }

  async listPodDisruptionBudgets(namespace?: string): Promise<PodDisruptionBudgetObject[]> {
    return this.pdbs.filter((b) => namespace === undefined || b.metadata.namespace === namespace).map(copy);
  }

  async listUpdates(namespace: string): Promise<UpdateObject[]> {
    return [...this.updates.values()].filter((u) => u.metadata.namespace === namespace).map(copy);
  }

  async getUpdate(namespace: string, name: string): Promise<UpdateObject | undefined> {
    const update = this.updates.get(`${namespace}/${name}`);
    return update && copy(update);
  }

  async patchUpdateStatus(namespace: string, name: string, status: UpdateStatus): Promise<UpdateObject> {
    const update = this.updates.get(`${namespace}/${name}`);
    if (!update) throw new KubeStatusError(404, `updates "${name}" not found`);
    const patched = mergePatch(update, { status });
    this.updates.set(`${namespace}/${name}`, patched);
    return copy(patched);
  }

  async getLease(namespace: string, name: string): Promise<LeaseObject | undefined> {
    const lease = this.leases.get(`${namespace}/${name}`);
    return lease && copy(lease);
  }

  async createLease(namespace: string, lease: LeaseObject): Promise<LeaseObject> {
    const key = `${namespace}/${lease.metadata.name}`;
    if (this.leases.has(key))
      throw new KubeStatusError(409, `leases "${lease.metadata.name}" already exists`);
    return this.storeLease(key, namespace, lease);
  }

  async updateLease(namespace: string, lease: LeaseObject): Promise<LeaseObject> {
    const key = `${namespace}/${lease.metadata.name}`;
    const current = this.leases.get(key);
    if (!current) throw new KubeStatusError(404, `leases "${lease.metadata.name}" not found`);
    if (current.metadata.resourceVersion !== lease.metadata.resourceVersion) {
      throw new KubeStatusError(
        409,
        'the object has been modified; please apply your changes to the latest version',
      );
    }
    return this.storeLease(key, namespace, lease);
  }

  private storeLease(key: string, namespace: string, lease: LeaseObject): LeaseObject {
    const stored = copy({
      ...lease,
      metadata: { ...lease.metadata, namespace, resourceVersion: String(++this.version) },
    });
    this.leases.set(key, stored);
    return copy(stored);
  }

  private remove(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const pod = this.pods.get(key);
    if (!pod) return;
    if (!this.graceful) {
      this.pods.delete(key);
    } else if (!pod.metadata.deletionTimestamp) {
      // Like the API: deletionTimestamp is when the grace period (30 s by default) runs out.
      pod.metadata.deletionTimestamp = new Date(this.now().getTime() + 30_000).toISOString();
    }
  }
}
