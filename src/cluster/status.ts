/**
 * A cluster's status as `nkd status` reports it, gathered with the cluster's own credentials: the API
 * server (readyz, and its serving certificate as seen over verified TLS), the nodes against the plan,
 * Housekeeper's workloads and Update objects, and the expiry of the certificates kept in the state.
 *
 * Every part degrades on its own: a failing part carries a one-line error and the others are still
 * reported. When the API server cannot be reached at all (no connection, timeout, TLS failure), the
 * parts that need it are not attempted, so an unreachable cluster costs one request timeout, and the
 * local certificate dates are still there.
 */
import {
  HOUSEKEEPER_AGENT_DAEMONSET,
  HOUSEKEEPER_NAMESPACE,
  HOUSEKEEPER_OPERATOR_DEPLOYMENT,
} from '../addons/housekeeper/manifests.js';
import type { ClusterPki } from '../pki/types.js';
import { certificateExpiries, daysUntil, type CertificateExpiry } from '../pki/expiry.js';
import type { ClusterPlan } from '../plan/types.js';
import { KubeApiError } from '../kube/errors.js';
import type { ClusterClient, NodeSummary, ServerCertificate, WorkloadRef } from './types.js';
import { oneLine } from './wait.js';
import { failingReadyzChecks } from './waits.js';
import { workloadPath, workloadReadiness, type WorkloadReadiness } from './workloads.js';

export const HOUSEKEEPER_STATUS_NAMESPACE = HOUSEKEEPER_NAMESPACE;
const OPERATOR: Omit<WorkloadRef, 'namespace'> = {
  kind: 'Deployment',
  name: HOUSEKEEPER_OPERATOR_DEPLOYMENT,
};
const AGENT: Omit<WorkloadRef, 'namespace'> = { kind: 'DaemonSet', name: HOUSEKEEPER_AGENT_DAEMONSET };
const UPDATES_PATH = '/apis/housekeeper.io/v1alpha1/updates';
/** Certificates closer than this to their expiry are warned about. */
export const EXPIRY_WARNING_DAYS = 90;

export interface ApiStatus {
  /** GET /readyz answered 200. */
  ready: boolean;
  /** Some HTTP answer came back. */
  reachable: boolean;
  /** HTTP status of /readyz, or null without an answer. */
  httpStatus: number | null;
  failingChecks: string[];
  /** One line: why it is not ready (failing checks, or the connection error); null when ready. */
  error: string | null;
  /** The serving certificate the server presented (verified against the cluster CA), or null. */
  servingCertificate: (ServerCertificate & { daysLeft: number }) | null;
  servingCertificateError: string | null;
}

export interface NodeStatus {
  name: string;
  roles: string[];
  kubeletVersion: string;
  osImage: string;
  ready: boolean;
  /** Known to the API server. A planned node that never joined has `registered: false`. */
  registered: boolean;
  /** In the cluster plan. */
  planned: boolean;
  internalIP?: string;
  /** For a registered node that is not Ready: the Ready condition's reason and message. */
  notReadyReason?: string;
}

export interface HousekeeperWorkload extends WorkloadReadiness {
  kind: WorkloadRef['kind'];
  name: string;
  found: boolean;
}

export interface UpdateObjectStatus {
  namespace: string;
  name: string;
  /** status.phase (Pending, Progressing, Paused, Completed, Failed), or null before the operator set one. */
  phase: string | null;
  kubeVersion?: string;
  osImageURL?: string;
}

export interface HousekeeperStatus {
  namespace: string;
  /** Enabled in the cluster's config. */
  enabled: boolean;
  /** 'unknown' when the API could not tell (see `error`). */
  state: 'installed' | 'not-installed' | 'unknown';
  error: string | null;
  operator: HousekeeperWorkload | null;
  agent: HousekeeperWorkload | null;
  /** The Update objects, or null when their CRD is not served (or they could not be listed). */
  updates: UpdateObjectStatus[] | null;
  updatesError: string | null;
}

export interface ClusterStatus {
  cluster: string;
  server: string;
  checkedAt: string;
  /**
   * API ready, every planned node registered and every node Ready, Housekeeper (when installed) rolled
   * out, and no certificate expired. Expiring certificates only warn.
   */
  healthy: boolean;
  api: ApiStatus;
  /** listed: false when the node list could not be read (error says why; items is then empty). */
  nodes: { listed: boolean; error: string | null; items: NodeStatus[] };
  housekeeper: HousekeeperStatus;
  certificates: CertificateExpiry[];
  /** One line each: certificates expiring within 90 days or expired, failed Updates. */
  warnings: string[];
}

export type StatusClient = Pick<
  ClusterClient,
  'server' | 'readyz' | 'serverCertificate' | 'listNodes' | 'getObject' | 'listObjects'
>;

/** Errors meaning nothing will get through: no need to try the other requests. */
function unreachable(err: unknown): boolean {
  return err instanceof KubeApiError && err.kind !== 'http' && err.kind !== 'protocol';
}

function settledError(result: PromiseSettledResult<unknown>): string | null {
  return result.status === 'rejected' ? oneLine(result.reason) : null;
}

export async function gatherClusterStatus(
  client: StatusClient,
  options: { plan: ClusterPlan; pki: ClusterPki; housekeeperNamespace?: string; now?: Date },
): Promise<ClusterStatus> {
  const { plan } = options;
  const now = options.now ?? new Date();
  const namespace = options.housekeeperNamespace ?? HOUSEKEEPER_STATUS_NAMESPACE;
  const certificates = certificateExpiries(options.pki, now);
  const [readyz, cert] = await Promise.allSettled([client.readyz(), client.serverCertificate()]);
  const api = apiStatus(readyz, cert, now);

  let nodes: ClusterStatus['nodes'];
  let housekeeper: HousekeeperStatus;
  const base = { namespace, enabled: plan.housekeeper.enabled };
  if (readyz.status === 'rejected' && unreachable(readyz.reason)) {
    const error = `not read: the API server is unreachable`;
    nodes = { listed: false, error, items: [] };
    housekeeper = { ...base, ...unknownHousekeeper(error) };
  } else {
    const operatorRef = { ...OPERATOR, namespace };
    const agentRef = { ...AGENT, namespace };
    const [list, operator, agent, updates] = await Promise.allSettled([
      client.listNodes(),
      client.getObject(workloadPath(operatorRef)),
      client.getObject(workloadPath(agentRef)),
      client.listObjects(UPDATES_PATH),
    ]);
    nodes =
      list.status === 'fulfilled'
        ? { listed: true, error: null, items: mergeNodes(plan, list.value) }
        : { listed: false, error: settledError(list), items: [] };
    housekeeper = { ...base, ...housekeeperStatus(operatorRef, agentRef, operator, agent, updates) };
  }

  const warnings: string[] = [];
  const dated = [...certificates];
  if (api.servingCertificate) {
    const { subject, notAfter, daysLeft } = api.servingCertificate;
    dated.push({ name: 'API server serving certificate', subject, notAfter, daysLeft });
  }
  for (const c of dated) {
    const day = c.notAfter.slice(0, 10);
    if (c.daysLeft < 0) warnings.push(`the ${c.name} expired on ${day}`);
    else if (c.daysLeft < EXPIRY_WARNING_DAYS) {
      warnings.push(`the ${c.name} expires in ${c.daysLeft} day${c.daysLeft === 1 ? '' : 's'} (${day})`);
    }
  }
  for (const u of housekeeper.updates ?? []) {
    if (u.phase === 'Failed') warnings.push(`Update ${u.namespace}/${u.name} failed`);
  }

  // Planned nodes that never registered are in the list, not Ready.
  const nodesHealthy = nodes.listed && nodes.items.every((n) => n.ready);
  const housekeeperHealthy =
    housekeeper.state === 'not-installed' ||
    (housekeeper.state === 'installed' && !!housekeeper.operator?.ready && !!housekeeper.agent?.ready);
  const healthy = api.ready && nodesHealthy && housekeeperHealthy && dated.every((c) => c.daysLeft >= 0);
  return {
    cluster: plan.name,
    server: client.server,
    checkedAt: now.toISOString(),
    healthy,
    api,
    nodes,
    housekeeper,
    certificates,
    warnings,
  };
}

function apiStatus(
  readyz: PromiseSettledResult<Awaited<ReturnType<ClusterClient['readyz']>>>,
  cert: PromiseSettledResult<ServerCertificate>,
  now: Date,
): ApiStatus {
  const servingCertificate =
    cert.status === 'fulfilled'
      ? { ...cert.value, daysLeft: daysUntil(new Date(cert.value.notAfter), now) }
      : null;
  const certFields = { servingCertificate, servingCertificateError: settledError(cert) };
  if (readyz.status === 'rejected') {
    const error = oneLine(readyz.reason);
    return { ready: false, reachable: false, httpStatus: null, failingChecks: [], error, ...certFields };
  }
  const { ok, status, body } = readyz.value;
  const failingChecks = ok ? [] : failingReadyzChecks(body);
  const first = oneLine(body);
  const error = ok
    ? null
    : failingChecks.length > 0
      ? `/readyz answered HTTP ${status}; failing checks: ${failingChecks.join(', ')}`
      : `/readyz answered HTTP ${status}${first && first !== '(no detail)' ? `: ${first.slice(0, 200)}` : ''}`;
  return { ready: ok, reachable: true, httpStatus: status, failingChecks, error, ...certFields };
}

/** Planned nodes in plan order (registered or not), then registered nodes the plan does not know. */
function mergeNodes(plan: ClusterPlan, listed: NodeSummary[]): NodeStatus[] {
  const byName = new Map(listed.map((n) => [n.name, n]));
  const planned = new Set(plan.nodes.map((n) => n.name));
  const fromSummary = (n: NodeSummary, isPlanned: boolean): NodeStatus => {
    const out: NodeStatus = {
      name: n.name,
      roles: n.roles,
      kubeletVersion: n.kubeletVersion,
      osImage: n.osImage,
      ready: n.ready,
      registered: true,
      planned: isPlanned,
    };
    if (n.internalIP) out.internalIP = n.internalIP;
    const why = [n.readyReason, n.readyMessage].filter(Boolean).join(': ');
    if (!n.ready) out.notReadyReason = why || `Ready=${n.readyStatus}`;
    return out;
  };
  return [
    ...plan.nodes.map((p): NodeStatus => {
      const found = byName.get(p.name);
      if (found) return fromSummary(found, true);
      return {
        name: p.name,
        roles: [p.role],
        kubeletVersion: '',
        osImage: '',
        ready: false,
        registered: false,
        planned: true,
      };
    }),
    ...listed
      .filter((n) => !planned.has(n.name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((n) => fromSummary(n, false)),
  ];
}

function unknownHousekeeper(error: string): Omit<HousekeeperStatus, 'namespace' | 'enabled'> {
  return { state: 'unknown', error, operator: null, agent: null, updates: null, updatesError: error };
}

function housekeeperWorkload(
  ref: WorkloadRef,
  obj: Record<string, unknown> | undefined,
): HousekeeperWorkload {
  const head = { kind: ref.kind, name: ref.name };
  if (!obj) return { ...head, found: false, ready: false, summary: 'not found' };
  return { ...head, found: true, ...workloadReadiness(ref.kind, obj) };
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function updateStatus(obj: Record<string, unknown>): UpdateObjectStatus {
  const metadata = (obj.metadata ?? {}) as Record<string, unknown>;
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  const status = (obj.status ?? {}) as Record<string, unknown>;
  const out: UpdateObjectStatus = {
    namespace: str(metadata.namespace) ?? '',
    name: str(metadata.name) ?? '',
    phase: str(status.phase) ?? null,
  };
  const kubeVersion = str(spec.kubeVersion);
  const osImageURL = str(spec.osImageURL);
  if (kubeVersion) out.kubeVersion = kubeVersion;
  if (osImageURL) out.osImageURL = osImageURL;
  return out;
}

function housekeeperStatus(
  operatorRef: WorkloadRef,
  agentRef: WorkloadRef,
  operator: PromiseSettledResult<Record<string, unknown> | undefined>,
  agent: PromiseSettledResult<Record<string, unknown> | undefined>,
  updates: PromiseSettledResult<Record<string, unknown>[] | undefined>,
): Omit<HousekeeperStatus, 'namespace' | 'enabled'> {
  const updateFields = {
    updates: updates.status === 'fulfilled' && updates.value ? updates.value.map(updateStatus) : null,
    updatesError: settledError(updates),
  };
  if (operator.status === 'rejected' || agent.status === 'rejected') {
    const error = settledError(operator) ?? settledError(agent);
    return { state: 'unknown', error, operator: null, agent: null, ...updateFields };
  }
  if (operator.value === undefined && agent.value === undefined) {
    return { state: 'not-installed', error: null, operator: null, agent: null, ...updateFields };
  }
  return {
    state: 'installed',
    error: null,
    operator: housekeeperWorkload(operatorRef, operator.value),
    agent: housekeeperWorkload(agentRef, agent.value),
    ...updateFields,
  };
}
