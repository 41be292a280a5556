/**
 * HousekeeperKube: what the Housekeeper operator and node agent (and the deployer's scale-in drain) ask
 * of the API server, made through nkd's one Kubernetes client (src/kube, node:https only: the image
 * carries no client library).
 *
 * - every request verifies the server against the cluster CA with `rejectUnauthorized: true`;
 * - authentication by bearer token (in a pod: the service account's projected token, re-read as it
 *   rotates) or by client certificate;
 * - JSON bodies; patches are JSON merge patches (`application/merge-patch+json`, RFC 7386);
 * - lists are paged (limit/continue);
 * - an HTTP error status rejects with KubeStatusError (status, one line with the API's message); get*
 *   resolve undefined on 404; a transport failure rejects with KubeApiError.
 */
import { kubeClient, type KubeClientOptions } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import { inClusterConfig, type InClusterOptions } from '../kube/in-cluster.js';
import { listAll } from '../kube/list.js';
import {
  UPDATE_API_VERSION,
  UPDATE_PLURAL,
  type HousekeeperKube,
  type LeaseObject,
  type NodeObject,
  type PodDisruptionBudgetObject,
  type PodObject,
  type UpdateObject,
  type UpdateStatus,
} from './types.js';

export { SERVICE_ACCOUNT_DIR, type InClusterOptions } from '../kube/in-cluster.js';
export type { KubeAuth } from '../kube/client.js';

const MERGE_PATCH = 'application/merge-patch+json';
const LEASE_API_VERSION = 'coordination.k8s.io/v1';
/** Every field of UpdateStatus: those a new status leaves out are deleted (null in the merge patch). */
const UPDATE_STATUS_FIELDS: readonly (keyof UpdateStatus)[] = [
  'observedGeneration',
  'phase',
  'conditions',
  'nodes',
  'startedAt',
  'completedAt',
];

export interface HousekeeperKubeOptions extends KubeClientOptions {
  /** Items per list page (default 500). */
  listPageSize?: number;
}

export type ClosableHousekeeperKube = HousekeeperKube & {
  close(): void;
  deleteNode(name: string): Promise<void>;
};

const seg = encodeURIComponent;

function namespaced(prefix: string, namespace: string | undefined, plural: string): string {
  return namespace === undefined ? `${prefix}/${plural}` : `${prefix}/namespaces/${seg(namespace)}/${plural}`;
}

const podsPath = (namespace?: string): string => namespaced('/api/v1', namespace, 'pods');
const updatesPath = (namespace: string): string =>
  namespaced(`/apis/${UPDATE_API_VERSION}`, namespace, UPDATE_PLURAL);
const leasesPath = (namespace: string): string =>
  namespaced(`/apis/${LEASE_API_VERSION}`, namespace, 'leases');

export function housekeeperKube(options: HousekeeperKubeOptions): ClosableHousekeeperKube {
  const transport = kubeClient({ userAgent: 'nkd-housekeeper', ...options });
  const { server } = transport;

  async function object<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const result = await transport.call(method, path, {
      ...(body === undefined ? {} : { body }),
      ...(contentType ? { contentType } : {}),
    });
    if (!result || typeof result !== 'object' || Array.isArray(result)) {
      throw new KubeApiError(`${server}: ${method} ${path} did not return an object`, 'protocol');
    }
    return result as T;
  }

  async function getOrMissing<T>(path: string): Promise<T | undefined> {
    const result = await transport.call('GET', path, { allowMissing: true });
    if (result === undefined) return undefined;
    if (!result || typeof result !== 'object' || Array.isArray(result)) {
      throw new KubeApiError(`${server}: GET ${path} did not return an object`, 'protocol');
    }
    return result as T;
  }

  function list<T>(path: string, query: Record<string, string> = {}): Promise<T[]> {
    return listAll<T>(transport, path, {
      query,
      ...(options.listPageSize !== undefined ? { pageSize: options.listPageSize } : {}),
    });
  }

  return {
    async serverVersion() {
      const version = await object<{ gitVersion?: unknown }>('GET', '/version');
      if (typeof version.gitVersion !== 'string') {
        throw new KubeApiError(`${server}: GET /version has no gitVersion`, 'protocol');
      }
      return version.gitVersion;
    },
    getNode(name) {
      return getOrMissing<NodeObject>(`/api/v1/nodes/${seg(name)}`);
    },
    listNodes() {
      return list<NodeObject>('/api/v1/nodes');
    },
    patchNode(name, patch) {
      return object<NodeObject>('PATCH', `/api/v1/nodes/${seg(name)}`, patch, MERGE_PATCH);
    },
    listPods({ namespace, nodeName }) {
      return list<PodObject>(
        podsPath(namespace),
        nodeName === undefined ? {} : { fieldSelector: `spec.nodeName=${nodeName}` },
      );
    },
    async evictPod(namespace, name) {
      await transport.call('POST', `${podsPath(namespace)}/${seg(name)}/eviction`, {
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
      });
    },
    /** For the deployer's scale-down only (the operator and agent never delete nodes; their RBAC says so). */
    async deleteNode(name: string) {
      await transport.call('DELETE', `/api/v1/nodes/${seg(name)}`);
    },
    async deletePod(namespace, name) {
      await transport.call('DELETE', `${podsPath(namespace)}/${seg(name)}`);
    },
    listPodDisruptionBudgets(namespace) {
      return list<PodDisruptionBudgetObject>(
        namespaced('/apis/policy/v1', namespace, 'poddisruptionbudgets'),
      );
    },
    listUpdates(namespace) {
      return list<UpdateObject>(updatesPath(namespace));
    },
    getUpdate(namespace, name) {
      return getOrMissing<UpdateObject>(`${updatesPath(namespace)}/${seg(name)}`);
    },
    patchUpdateStatus(namespace, name, status) {
      // A merge patch would keep what the new status leaves out: null deletes it, so status is replaced.
      const replacement: Record<string, unknown> = {};
      for (const field of UPDATE_STATUS_FIELDS) replacement[field] = null;
      for (const [field, value] of Object.entries(status)) replacement[field] = value ?? null;
      return object<UpdateObject>(
        'PATCH',
        `${updatesPath(namespace)}/${seg(name)}/status`,
        { status: replacement },
        MERGE_PATCH,
      );
    },
    getLease(namespace, name) {
      return getOrMissing<LeaseObject>(`${leasesPath(namespace)}/${seg(name)}`);
    },
    createLease(namespace, lease) {
      return object<LeaseObject>('POST', leasesPath(namespace), leaseBody(namespace, lease));
    },
    async updateLease(namespace, lease) {
      if (!lease.metadata.resourceVersion) {
        throw new Error(
          `updateLease ${namespace}/${lease.metadata.name}: metadata.resourceVersion is required`,
        );
      }
      return object<LeaseObject>(
        'PUT',
        `${leasesPath(namespace)}/${seg(lease.metadata.name)}`,
        leaseBody(namespace, lease),
      );
    },
    async createEvent(namespace, event) {
      await transport.call('POST', namespaced('/api/v1', namespace, 'events'), {
        body: { apiVersion: 'v1', kind: 'Event', ...event, metadata: { ...event.metadata, namespace } },
      });
    },
    close() {
      transport.close();
    },
  };
}

function leaseBody(namespace: string, lease: LeaseObject): LeaseObject {
  return {
    ...lease,
    apiVersion: LEASE_API_VERSION,
    kind: 'Lease',
    metadata: { ...lease.metadata, namespace },
  };
}

/**
 * The client of a pod's service account: the API server from KUBERNETES_SERVICE_HOST/PORT, the CA and
 * token from the service account volume (`options.secretsDir`, default
 * /var/run/secrets/kubernetes.io/serviceaccount), the token re-read at most once a minute. Throws, saying
 * why, when not running in a cluster.
 */
export function inClusterKube(
  env: NodeJS.ProcessEnv = process.env,
  options: InClusterOptions & { requestTimeoutMs?: number } = {},
): ClosableHousekeeperKube {
  const config = inClusterConfig(env, options);
  return housekeeperKube({
    server: config.server,
    caPem: config.caPem,
    auth: { bearerToken: config.bearerToken },
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  });
}
