/**
 * An in-process HTTPS fake of exactly the Kubernetes API endpoints nkd uses, trusting and presenting the
 * cluster's own generated PKI:
 *
 * - it serves with a certificate issued from the cluster CA (or, for negative tests, from another CA),
 *   valid for 127.0.0.1 and localhost;
 * - it requires a client certificate and verifies it against the cluster CA, like kube-apiserver's
 *   --client-ca-file, and records the client's CN/O (and the SNI name it sent) on every request;
 * - GET /readyz (ready after N ms and/or N calls, or forced either way), GET /api/v1/nodes (a node list
 *   the test mutates), discovery (/api, /apis, /api/v1, /apis/<group>/<version>), server-side apply
 *   (PATCH application/apply-patch+yaml with fieldManager) on any resource path, GET of an applied
 *   object, and list GETs (cluster-wide or per namespace, paged with limit/continue) of any served kind,
 *   returning what was applied. Applying a CustomResourceDefinition makes its kind discoverable.
 * - applied objects get metadata.generation (1, then +1 whenever anything but metadata/status changes);
 * - the Deployment and DaemonSet controllers are simulated: an applied one is served with a status that
 *   turns ready `workloadsReadyAfterMs` after its last change (0: at once; Infinity: never), or as
 *   forced with setWorkloadReady. A DaemonSet wants one pod per node of the fake. Not ready means one
 *   pod short (e.g. 2/3 available), or, with nothing to be short of, the generation not yet observed;
 * - anything else is a 404 Status; `failPath` makes a path fail with a status or a connection reset.
 *
 * Loopback only (127.0.0.1, ephemeral port).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { generateServiceCa, issueServingCert } from '../../src/ignition-service/tls.js';
import type { CertAndKey, ClusterPki } from '../../src/pki/types.js';

// ---------------------------------------------------------------------------------------------- certs

/** A throw-away CA, for a fake that must NOT be trusted (the Ignition service's CA issuer serves). */
export function generateOtherCa(): Promise<CertAndKey> {
  return generateServiceCa();
}

/** A serving certificate issued from `ca` for `names` (IP literals become IP SANs). */
export function issueApiServerCert(ca: CertAndKey, names: readonly string[]): Promise<CertAndKey> {
  return issueServingCert(ca, names);
}

// ------------------------------------------------------------------------------------------ discovery

interface ResourceInfo {
  name: string;
  singularName: string;
  kind: string;
  namespaced: boolean;
}

const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

function resource(name: string, kind: string, namespaced: boolean): ResourceInfo {
  return { name, singularName: kind.toLowerCase(), kind, namespaced };
}

/** groupVersion ("v1", "apps/v1") → resources served there. */
function builtinDiscovery(): Map<string, ResourceInfo[]> {
  return new Map([
    [
      'v1',
      [
        resource('namespaces', 'Namespace', false),
        resource('nodes', 'Node', false),
        resource('serviceaccounts', 'ServiceAccount', true),
        resource('configmaps', 'ConfigMap', true),
        resource('secrets', 'Secret', true),
        resource('services', 'Service', true),
      ],
    ],
    ['apiextensions.k8s.io/v1', [resource('customresourcedefinitions', 'CustomResourceDefinition', false)]],
    [
      'rbac.authorization.k8s.io/v1',
      [
        resource('clusterroles', 'ClusterRole', false),
        resource('clusterrolebindings', 'ClusterRoleBinding', false),
        resource('roles', 'Role', true),
        resource('rolebindings', 'RoleBinding', true),
      ],
    ],
    ['apps/v1', [resource('deployments', 'Deployment', true), resource('daemonsets', 'DaemonSet', true)]],
  ]);
}

// ------------------------------------------------------------------------------------------ the fake

export interface FakeNode {
  name: string;
  ready: boolean;
  /** Ready condition reason/message when not Ready (defaults: KubeletNotReady / "container runtime network not ready"). */
  reason?: string;
  message?: string;
  roles?: string[];
  kubeletVersion?: string;
  osImage?: string;
  internalIP?: string;
}

export interface ClientIdentity {
  cn: string | undefined;
  o: string | undefined;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  client: ClientIdentity;
  /** The SNI server name the client sent, if any. */
  sni: string | undefined;
}

export interface AppliedRecord {
  method: string;
  path: string;
  contentType: string;
  fieldManager: string | null;
  force: string | null;
  /** The request body parsed as YAML (JSON is YAML). */
  body: Record<string, unknown>;
  client: ClientIdentity;
}

export type Failure = { status: number; message?: string } | 'reset';

export interface FakeKubeApiOptions {
  pki: ClusterPki;
  /** CA that issues the serving certificate; defaults to the cluster CA. */
  servingCa?: CertAndKey;
  /** SANs of the serving certificate; defaults to 127.0.0.1 and localhost. */
  servingNames?: string[];
  /** /readyz answers 500 until this many ms after start (or setReadyAfter). */
  readyAfterMs?: number;
  /** /readyz answers 500 for the first N calls. */
  readyAfterCalls?: number;
  nodes?: FakeNode[];
  /**
   * Applied Deployments and DaemonSets turn ready this long after their last change (default 0: at
   * once; Infinity: never, unless forced with setWorkloadReady).
   */
  workloadsReadyAfterMs?: number;
  /**
   * 'handshake' (default): TLS refuses a client certificate not issued by the cluster CA.
   * 'apiserver': like kube-apiserver, any certificate passes the handshake and authentication comes
   * after: an unverified client is anonymous, which may read /readyz, /livez, /healthz and /version
   * and gets 401 everywhere else.
   */
  clientAuth?: 'handshake' | 'apiserver';
}

const PUBLIC_PATHS = new Set(['/readyz', '/livez', '/healthz', '/version']);

export interface FakeKubeApi {
  url: string;
  port: number;
  /** The live node list: mutate it (or use addNode/setNodeReady) and the next GET sees it. */
  nodes: FakeNode[];
  /** Every server-side apply, in order. */
  applied: AppliedRecord[];
  /** Every request, in order. */
  requests: RecordedRequest[];
  /**
   * Called before each request is answered (after it is recorded), e.g. to change the cluster after the
   * Nth node list so that a test advances with the polling rather than with wall-clock time.
   */
  onRequest: ((request: RecordedRequest, count: number) => void) | undefined;
  /**
   * Applied objects by path, as served back by GET (Deployments and DaemonSets with their simulated
   * status added). Tests may add objects or set a status here directly.
   */
  objects: Map<string, Record<string, unknown>>;
  /** Forces /readyz either way (clears any "after" condition). */
  setReady(ready: boolean): void;
  /** /readyz turns ready once `ms` have passed since this call and more than `calls` calls were made. */
  setReadyAfter(after: { ms?: number; calls?: number }): void;
  /** How many times /readyz was called. */
  readyzCalls(): number;
  addNode(node: FakeNode): FakeNode;
  setNodeReady(name: string, ready: boolean, why?: { reason?: string; message?: string }): void;
  removeNode(name: string): void;
  /** Forces an applied (or still to be applied) Deployment or DaemonSet ready or not, from now on. */
  setWorkloadReady(namespace: string, kind: 'Deployment' | 'DaemonSet', name: string, ready: boolean): void;
  /** Makes every request to `path` (no query) fail: with an HTTP status, or by resetting the connection. */
  failPath(path: string, failure: Failure): void;
  clearFailure(path: string): void;
  stop(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function statusBody(code: number, message: string, reason: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

function sendStatus(res: ServerResponse, code: number, message: string): void {
  sendJson(res, code, statusBody(code, message, REASONS[code] ?? 'Unknown'));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function nodeObject(node: FakeNode, created: string): object {
  const labels: Record<string, string> = {
    'kubernetes.io/hostname': node.name,
    'kubernetes.io/os': 'linux',
  };
  for (const role of node.roles ?? []) labels[`node-role.kubernetes.io/${role}`] = '';
  const condition = node.ready
    ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
    : {
        type: 'Ready',
        status: 'False',
        reason: node.reason ?? 'KubeletNotReady',
        message: node.message ?? 'container runtime network not ready: NetworkReady=false',
      };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node.name, uid: `uid-${node.name}`, labels, creationTimestamp: created },
    status: {
      conditions: [{ ...condition, lastHeartbeatTime: created, lastTransitionTime: created }],
      addresses: [
        ...(node.internalIP ? [{ type: 'InternalIP', address: node.internalIP }] : []),
        { type: 'Hostname', address: node.name },
      ],
      nodeInfo: {
        architecture: 'amd64',
        bootID: 'boot',
        containerRuntimeVersion: 'containerd://1.7.0',
        kernelVersion: '6.6.0',
        kubeProxyVersion: node.kubeletVersion ?? 'v1.31.1',
        kubeletVersion: node.kubeletVersion ?? 'v1.31.1',
        machineID: 'machine',
        operatingSystem: 'linux',
        osImage: node.osImage ?? 'NestOS For Container 24.03-LTS',
        systemUUID: 'uuid',
      },
    },
  };
}

// ------------------------------------------------------------------------------ simulated controllers

/** Like the API's omitempty: Deployment status counters that are 0 are left out. */
function withoutZeros(status: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(status).filter(([, v]) => v !== 0));
}

function condition(type: string, status: string, reason: string, message: string): object {
  return { type, status, reason, message };
}

/** What the Deployment controller would report: all replicas available, or one short. */
function deploymentStatus(obj: Record<string, unknown>, generation: number, ready: boolean): object {
  const spec = (obj.spec ?? {}) as { replicas?: number };
  const name = (obj.metadata as { name?: string } | undefined)?.name ?? 'unnamed';
  const want = spec.replicas ?? 1;
  const available = ready ? want : Math.max(0, want - 1);
  const observed = ready || want > 0 ? generation : generation - 1;
  return {
    ...withoutZeros({
      observedGeneration: observed,
      replicas: want,
      updatedReplicas: want,
      readyReplicas: available,
      availableReplicas: available,
      unavailableReplicas: want - available,
    }),
    conditions: [
      ready
        ? condition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
        : condition(
            'Available',
            'False',
            'MinimumReplicasUnavailable',
            'Deployment does not have minimum availability.',
          ),
      ready
        ? condition(
            'Progressing',
            'True',
            'NewReplicaSetAvailable',
            `ReplicaSet "${name}-5d4f8c" has successfully progressed.`,
          )
        : condition(
            'Progressing',
            'True',
            'ReplicaSetUpdated',
            `ReplicaSet "${name}-5d4f8c" is progressing.`,
          ),
    ],
  };
}

/** What the DaemonSet controller would report for `desired` nodes: all available, or one short. */
function daemonSetStatus(desired: number, generation: number, ready: boolean): object {
  const available = ready ? desired : Math.max(0, desired - 1);
  return {
    observedGeneration: ready || desired > 0 ? generation : generation - 1,
    currentNumberScheduled: desired,
    desiredNumberScheduled: desired,
    numberMisscheduled: 0,
    numberReady: available,
    numberAvailable: available,
    ...(desired > available ? { numberUnavailable: desired - available } : {}),
    updatedNumberScheduled: desired,
  };
}

/** An object without its metadata and status: what a change of generation is measured on. */
function specPart(obj: Record<string, unknown> | undefined): string {
  if (!obj) return '';
  const { metadata: _metadata, status: _status, ...rest } = obj;
  return JSON.stringify(rest);
}

/** /api/v1/[namespaces/<ns>/]<resource>[/<name>] and /apis/<group>/<version>/... */
function parseResourcePath(
  path: string,
): { groupVersion: string; namespace?: string; resource: string; name?: string } | undefined {
  const segs = path.split('/').filter(Boolean).map(decodeURIComponent);
  let groupVersion: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) {
    groupVersion = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    groupVersion = `${segs[1]}/${segs[2]}`;
    rest = segs.slice(3);
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length < 1 || rest.length > 2) return undefined;
  return {
    groupVersion,
    resource: rest[0]!,
    ...(namespace ? { namespace } : {}),
    ...(rest[1] ? { name: rest[1] } : {}),
  };
}

export async function startFakeKubeApi(options: FakeKubeApiOptions): Promise<FakeKubeApi> {
  const serving = await issueApiServerCert(
    options.servingCa ?? options.pki.clusterCa,
    options.servingNames ?? ['127.0.0.1', 'localhost'],
  );
  const created = new Date().toISOString();
  const discovery = builtinDiscovery();
  const nodes: FakeNode[] = [...(options.nodes ?? [])];
  const applied: AppliedRecord[] = [];
  const requests: RecordedRequest[] = [];
  const objects = new Map<string, Record<string, unknown>>();
  const failures = new Map<string, Failure>();
  /** Path of an applied object → when its generation last changed (epoch ms). */
  const changedAt = new Map<string, number>();
  /** "<namespace>/<kind>/<name>" → forced readiness of a workload. */
  const forcedWorkloads = new Map<string, boolean>();
  const workloadsReadyAfterMs = options.workloadsReadyAfterMs ?? 0;
  let resourceVersion = 1;

  let readyz = {
    forced: undefined as boolean | undefined,
    since: Date.now(),
    afterMs: options.readyAfterMs ?? 0,
    afterCalls: options.readyAfterCalls ?? 0,
    calls: 0,
  };
  let totalReadyzCalls = 0;

  const findResource = (groupVersion: string, name: string): ResourceInfo | undefined =>
    discovery.get(groupVersion)?.find((r) => r.name === name);

  function registerCrd(crd: Record<string, unknown>): void {
    const spec = crd.spec as
      | {
          group?: string;
          scope?: string;
          names?: { plural?: string; singular?: string; kind?: string };
          versions?: { name?: string; served?: boolean }[];
        }
      | undefined;
    if (!spec?.group || !spec.names?.plural || !spec.names.kind) return;
    for (const v of spec.versions ?? []) {
      if (!v.name || v.served === false) continue;
      const gv = `${spec.group}/${v.name}`;
      const list = discovery.get(gv) ?? [];
      if (!list.some((r) => r.kind === spec.names!.kind)) {
        list.push({
          name: spec.names.plural,
          singularName: spec.names.singular ?? spec.names.kind.toLowerCase(),
          kind: spec.names.kind,
          namespaced: spec.scope === 'Namespaced',
        });
      }
      discovery.set(gv, list);
    }
  }

  /** An applied object as GET serves it: Deployments and DaemonSets with their controller's status. */
  function served(path: string, obj: Record<string, unknown>): Record<string, unknown> {
    const kind = obj.kind;
    if (obj.apiVersion !== 'apps/v1' || (kind !== 'Deployment' && kind !== 'DaemonSet')) return obj;
    const meta = obj.metadata as { name: string; namespace?: string; generation: number };
    const forced = forcedWorkloads.get(`${meta.namespace}/${kind}/${meta.name}`);
    const ready = forced ?? Date.now() - (changedAt.get(path) ?? 0) >= workloadsReadyAfterMs;
    const status =
      kind === 'Deployment'
        ? deploymentStatus(obj, meta.generation, ready)
        : daemonSetStatus(nodes.length, meta.generation, ready);
    return { ...obj, status };
  }

  /** GET of a collection: what was applied there (all namespaces unless the path names one), paged. */
  function sendList(
    res: ServerResponse,
    url: URL,
    target: { groupVersion: string; namespace?: string; resource: string },
  ): void {
    const info = findResource(target.groupVersion, target.resource);
    if (!info || (target.namespace !== undefined && !info.namespaced)) {
      sendStatus(res, 404, 'the server could not find the requested resource');
      return;
    }
    const all = [...objects]
      .filter(([p]) => {
        const t = parseResourcePath(p);
        return (
          t?.groupVersion === target.groupVersion &&
          t.resource === target.resource &&
          (target.namespace === undefined || t.namespace === target.namespace)
        );
      })
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([p, o]) => served(p, o));
    const offset = Number(url.searchParams.get('continue') ?? '0') || 0;
    const limit = Number(url.searchParams.get('limit') ?? '0') || all.length;
    const items = all.slice(offset, offset + limit);
    const next = offset + limit < all.length ? { continue: String(offset + limit) } : {};
    sendJson(res, 200, {
      apiVersion: target.groupVersion,
      kind: `${info.kind}List`,
      metadata: { resourceVersion: String(resourceVersion), ...next },
      items,
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://fake');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const socket = req.socket as TLSSocket;
    const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
    const client: ClientIdentity = { cn: peer?.subject?.CN, o: peer?.subject?.O };
    const sniName = (socket as { servername?: unknown }).servername;
    const sni = typeof sniName === 'string' && sniName !== '' ? sniName : undefined;
    const recorded: RecordedRequest = { method, path, query: url.search, client, sni };
    requests.push(recorded);
    fake.onRequest?.(recorded, requests.filter((r) => r.method === method && r.path === path).length);
    if (!socket.authorized && !PUBLIC_PATHS.has(path)) {
      sendStatus(res, 401, 'Unauthorized');
      return;
    }

    const failure = failures.get(path);
    if (failure === 'reset') {
      req.socket.destroy();
      return;
    }
    if (failure) {
      if (path === '/readyz') {
        res.writeHead(failure.status, { 'Content-Type': 'text/plain' });
        res.end(failure.message ?? 'readyz check failed\n');
      } else {
        sendStatus(res, failure.status, failure.message ?? 'injected failure');
      }
      return;
    }

    if (method === 'GET' && path === '/readyz') {
      totalReadyzCalls++;
      readyz.calls++;
      const ready =
        readyz.forced ?? (Date.now() - readyz.since >= readyz.afterMs && readyz.calls > readyz.afterCalls);
      if (ready) {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok');
      } else {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(
          '[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n[+]informer-sync ok\n' +
            '[-]poststarthook/rbac/bootstrap-roles failed: reason withheld\nreadyz check failed\n',
        );
      }
      return;
    }
    if (method === 'GET' && path === '/api') {
      sendJson(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
      return;
    }
    if (method === 'GET' && path === '/apis') {
      const groups = new Map<string, string[]>();
      for (const gv of discovery.keys()) {
        if (!gv.includes('/')) continue;
        const [group, version] = gv.split('/') as [string, string];
        groups.set(group, [...(groups.get(group) ?? []), version]);
      }
      sendJson(res, 200, {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [...groups].map(([name, versions]) => ({
          name,
          versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
          preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
        })),
      });
      return;
    }
    const gvMatch = /^\/(?:api\/([^/]+)|apis\/([^/]+\/[^/]+))\/?$/.exec(path);
    if (method === 'GET' && gvMatch) {
      const gv = gvMatch[1] ?? gvMatch[2]!;
      const list = discovery.get(gv);
      if (!list) {
        sendStatus(res, 404, 'the server could not find the requested resource');
        return;
      }
      sendJson(res, 200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: gv,
        resources: list.map((r) => ({ ...r, verbs: VERBS })),
      });
      return;
    }
    if (method === 'GET' && path === '/api/v1/nodes') {
      sendJson(res, 200, {
        kind: 'NodeList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(resourceVersion) },
        items: nodes.map((n) => nodeObject(n, created)),
      });
      return;
    }
    const nodeMatch = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path);
    if (method === 'GET' && nodeMatch) {
      const node = nodes.find((n) => n.name === decodeURIComponent(nodeMatch[1]!));
      if (node) sendJson(res, 200, nodeObject(node, created));
      else sendStatus(res, 404, `nodes "${nodeMatch[1]}" not found`);
      return;
    }

    const target = parseResourcePath(path);
    if (method === 'PATCH' && target?.name) {
      await handleApply(
        req,
        res,
        path,
        url,
        target as Required<Pick<typeof target, 'name'>> & typeof target,
        client,
      );
      return;
    }
    if (method === 'GET' && target?.name) {
      const obj = objects.get(path);
      if (obj) sendJson(res, 200, served(path, obj));
      else sendStatus(res, 404, `${target.resource} "${target.name}" not found`);
      return;
    }
    if (method === 'GET' && target) {
      sendList(res, url, target);
      return;
    }
    sendStatus(res, 404, 'the server could not find the requested resource');
  }

  async function handleApply(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    url: URL,
    target: { groupVersion: string; namespace?: string; resource: string; name: string },
    client: ClientIdentity,
  ): Promise<void> {
    const contentType = String(req.headers['content-type'] ?? '');
    const text = await readBody(req);
    if (contentType.split(';')[0]!.trim() !== 'application/apply-patch+yaml') {
      sendStatus(
        res,
        415,
        `the fake only supports server-side apply, not ${contentType || 'no content type'}`,
      );
      return;
    }
    const fieldManager = url.searchParams.get('fieldManager');
    if (!fieldManager) {
      sendStatus(res, 400, 'PATCH requests with apply content type must have a fieldManager');
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = parseYaml(text) as Record<string, unknown>;
    } catch (err) {
      sendStatus(res, 400, `error decoding YAML: ${(err as Error).message}`);
      return;
    }
    applied.push({
      method: 'PATCH',
      path,
      contentType,
      fieldManager,
      force: url.searchParams.get('force'),
      body,
      client,
    });
    const info = findResource(target.groupVersion, target.resource);
    if (!info) {
      sendStatus(res, 404, 'the server could not find the requested resource');
      return;
    }
    const meta = (body.metadata ?? {}) as Record<string, unknown>;
    if (body.apiVersion !== target.groupVersion || body.kind !== info.kind) {
      sendStatus(
        res,
        400,
        `the body's ${String(body.apiVersion)} ${String(body.kind)} does not match ${path}`,
      );
      return;
    }
    if (meta.name !== target.name) {
      sendStatus(
        res,
        400,
        `the name of the object (${String(meta.name)}) does not match the name on the URL`,
      );
      return;
    }
    if (info.namespaced !== (target.namespace !== undefined)) {
      sendStatus(res, 404, `${info.kind} is ${info.namespaced ? '' : 'not '}namespaced`);
      return;
    }
    if (target.namespace && meta.namespace !== undefined && meta.namespace !== target.namespace) {
      sendStatus(res, 400, 'the namespace of the object does not match the namespace on the request');
      return;
    }
    const previous = objects.get(path);
    const previousMeta = (previous?.metadata ?? {}) as Record<string, unknown>;
    const changed = specPart(previous) !== specPart(body);
    const previousGeneration = typeof previousMeta.generation === 'number' ? previousMeta.generation : 0;
    const stored = {
      ...body,
      metadata: {
        ...meta,
        ...(target.namespace ? { namespace: target.namespace } : {}),
        uid: previousMeta.uid ?? randomUUID(),
        resourceVersion: String(++resourceVersion),
        generation: changed ? previousGeneration + 1 : previousGeneration,
        creationTimestamp: previousMeta.creationTimestamp ?? new Date().toISOString(),
      },
      // A status stays until an apply brings another (tests may also set one in `objects` directly).
      ...(body.status === undefined && previous?.status !== undefined ? { status: previous.status } : {}),
    };
    objects.set(path, stored);
    if (changed) changedAt.set(path, Date.now());
    if (info.kind === 'CustomResourceDefinition') registerCrd(stored);
    sendJson(res, previous ? 200 : 201, served(path, stored));
  }

  const server: Server = createServer(
    {
      key: serving.keyPem,
      cert: serving.certPem,
      ca: options.pki.clusterCa.certPem,
      requestCert: true,
      rejectUnauthorized: (options.clientAuth ?? 'handshake') === 'handshake',
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendStatus(res, 500, `fake kube-api: ${(err as Error).message}`);
        else res.destroy();
      });
    },
  );
  // A rejected client certificate is a handshake error, not a request: nothing to answer.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const findNode = (name: string): FakeNode => {
    const node = nodes.find((n) => n.name === name);
    if (!node) throw new Error(`fake kube-api: no node ${name}`);
    return node;
  };

  const fake: FakeKubeApi = {
    url: `https://127.0.0.1:${port}`,
    port,
    nodes,
    applied,
    requests,
    onRequest: undefined,
    objects,
    setReady(ready) {
      readyz = { ...readyz, forced: ready };
    },
    setReadyAfter(after) {
      readyz = {
        forced: undefined,
        since: Date.now(),
        afterMs: after.ms ?? 0,
        afterCalls: after.calls ?? 0,
        calls: 0,
      };
    },
    readyzCalls: () => totalReadyzCalls,
    addNode(node) {
      const copy = { ...node };
      nodes.push(copy);
      return copy;
    },
    setNodeReady(name, ready, why = {}) {
      const node = findNode(name);
      node.ready = ready;
      node.reason = why.reason;
      node.message = why.message;
    },
    removeNode(name) {
      const i = nodes.findIndex((n) => n.name === name);
      if (i >= 0) nodes.splice(i, 1);
    },
    setWorkloadReady(namespace, kind, name, ready) {
      forcedWorkloads.set(`${namespace}/${kind}/${name}`, ready);
    },
    failPath(path, failure) {
      failures.set(path, failure);
    },
    clearFailure(path) {
      failures.delete(path);
    },
    stop() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return fake;
}

/** The same fake, presenting a serving certificate from a CA the cluster does not know. */
export async function startFakeKubeApiWithForeignCa(
  options: Omit<FakeKubeApiOptions, 'servingCa'>,
): Promise<FakeKubeApi> {
  return startFakeKubeApi({ ...options, servingCa: await generateOtherCa() });
}
