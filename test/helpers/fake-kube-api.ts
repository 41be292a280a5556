/**
 * An in-process HTTPS fake of the Kubernetes API endpoints nkd and Housekeeper use, trusting and
 * presenting the cluster's own generated PKI:
 *
 * - it serves with a certificate issued from the cluster CA (or, for negative tests, from another CA),
 *   valid for 127.0.0.1 and localhost;
 * - it authenticates like kube-apiserver (fake-auth.ts): a client certificate verified against the
 *   cluster CA (--client-ca-file), or a bearer token of `bearerTokens` (--token-auth-file; an unknown
 *   token is a 401), and records the identity (and the SNI name sent) of every request;
 * - GET /readyz (ready after N ms and/or N calls, or forced either way) and discovery (/api, /apis,
 *   /api/v1, /apis/<group>/<version>, fake-discovery.ts);
 * - nodes are a list the test mutates (`nodes`), served as Node objects and patchable with JSON merge
 *   patches that write back into it (fake-nodes.ts);
 * - every other served kind lives in a generic store (fake-store.ts): create, get, list (paged, label
 *   and field selectors), replace with optimistic concurrency, JSON merge patch (also of the status
 *   subresource), delete, and server-side apply (fake-apply.ts). Creating or applying a
 *   CustomResourceDefinition makes its kind discoverable;
 * - pods (addPod), PodDisruptionBudgets with a computed status, and evictions that respect them
 *   (fake-pods.ts);
 * - the Deployment and DaemonSet controllers are simulated: an applied one is served with a status that
 *   turns ready `workloadsReadyAfterMs` after its last change (0: at once; Infinity: never), or as
 *   forced with setWorkloadReady. A DaemonSet wants one pod per node of the fake. Not ready means one
 *   pod short (e.g. 2/3 available), or, with nothing to be short of, the generation not yet observed;
 * - anything else is a 404 Status; `failPath` makes a path fail with a status or a connection reset.
 *
 * Loopback only (127.0.0.1, ephemeral port).
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import type { PodDisruptionBudgetObject, PodObject } from '../../src/housekeeper/types.js';
import { generateServiceCa, issueServingCert } from '../../src/ignition-service/tls.js';
import type { CertAndKey } from '../../src/pki/types.js';
import { serverSideApply, type AppliedRecord } from './fake-apply.js';
import { authenticate } from './fake-auth.js';
import { Discovery } from './fake-discovery.js';
import { mediaType, readBody, sendJson, sendStatus } from './fake-http.js';
import { handleNodes, type FakeNode } from './fake-nodes.js';
import { parseResourcePath, resourcePath, type Json } from './fake-objects.js';
import { evictPod, namespacePods, pdbObject, pdbStatus, podObject } from './fake-pods.js';
import {
  createObject,
  deleteObject,
  getObject,
  listObjects,
  purgeTerminated,
  type FakeContext,
  type NamedTarget,
} from './fake-store.js';
import type { Failure, FakeKubeApi, FakeKubeApiOptions, RecordedRequest } from './fake-types.js';
import { mergePatchObject, replaceObject } from './fake-update.js';
import { daemonSetStatus, deploymentStatus } from './fake-workloads.js';

export type { AppliedRecord } from './fake-apply.js';
export type { AuthMethod, ClientIdentity, TokenIdentity } from './fake-auth.js';
export type { FakeNode, FakeTaint } from './fake-nodes.js';
export type { FakePod, FakePodDisruptionBudget } from './fake-pods.js';
export type { Failure, FakeKubeApi, FakeKubeApiOptions, RecordedRequest } from './fake-types.js';

// ---------------------------------------------------------------------------------------------- certs

/** A throw-away CA, for a fake that must NOT be trusted (the Ignition service's CA issuer serves). */
export function generateOtherCa(): Promise<CertAndKey> {
  return generateServiceCa();
}

/** A serving certificate issued from `ca` for `names` (IP literals become IP SANs). */
export function issueApiServerCert(ca: CertAndKey, names: readonly string[]): Promise<CertAndKey> {
  return issueServingCert(ca, names);
}

// ------------------------------------------------------------------------------------------ the fake

const PUBLIC_PATHS = new Set(['/readyz', '/livez', '/healthz', '/version']);

function parseRecordedBody(text: string, contentType: string): unknown {
  try {
    return contentType.includes('yaml') ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
  } catch {
    return text;
  }
}

export async function startFakeKubeApi(options: FakeKubeApiOptions): Promise<FakeKubeApi> {
  const serving = await issueApiServerCert(
    options.servingCa ?? options.pki.clusterCa,
    options.servingNames ?? ['127.0.0.1', 'localhost'],
  );
  const bearerTokens = options.bearerTokens ?? {};
  const clientAuth = options.clientAuth ?? (options.bearerTokens ? 'apiserver' : 'handshake');
  const applied: AppliedRecord[] = [];
  const requests: RecordedRequest[] = [];
  const failures = new Map<string, Failure>();
  /** "<namespace>/<kind>/<name>" → forced readiness of a workload. */
  const forcedWorkloads = new Map<string, boolean>();
  const workloadsReadyAfterMs = options.workloadsReadyAfterMs ?? 0;
  let resourceVersion = 1;

  const ctx: FakeContext = {
    objects: new Map(),
    discovery: new Discovery(),
    nodes: [...(options.nodes ?? [])],
    nodeVersions: new Map(),
    created: new Date().toISOString(),
    nextResourceVersion: () => String(++resourceVersion),
    currentResourceVersion: () => String(resourceVersion),
    served,
    changedAt: new Map(),
    podTerminationMs: options.podTerminationMs ?? 0,
    terminating: new Map(),
    budgetScale: new Map(),
  };
  const { objects, nodes } = ctx;

  let readyz = {
    forced: undefined as boolean | undefined,
    since: Date.now(),
    afterMs: options.readyAfterMs ?? 0,
    afterCalls: options.readyAfterCalls ?? 0,
    calls: 0,
  };
  let totalReadyzCalls = 0;

  /** An object as GET serves it: workloads and budgets with their controller's status. */
  function served(path: string, obj: Json): Json {
    const kind = obj.kind;
    if (obj.apiVersion === 'policy/v1' && kind === 'PodDisruptionBudget') {
      return { ...obj, status: pdbStatus(ctx, obj) };
    }
    if (obj.apiVersion !== 'apps/v1' || (kind !== 'Deployment' && kind !== 'DaemonSet')) return obj;
    const meta = obj.metadata as { name: string; namespace?: string; generation: number };
    const forced = forcedWorkloads.get(`${meta.namespace}/${kind}/${meta.name}`);
    const ready = forced ?? Date.now() - (ctx.changedAt.get(path) ?? 0) >= workloadsReadyAfterMs;
    const status =
      kind === 'Deployment'
        ? deploymentStatus(obj, meta.generation, ready)
        : daemonSetStatus(nodes.length, meta.generation, ready);
    return { ...obj, status };
  }

  function answerReadyz(res: ServerResponse): void {
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
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://fake');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    purgeTerminated(ctx);
    const { client, auth } = authenticate(req, bearerTokens);
    const sniName = (req.socket as TLSSocket & { servername?: unknown }).servername;
    const sni = typeof sniName === 'string' && sniName !== '' ? sniName : undefined;
    const contentType = mediaType(req);
    const text = method === 'GET' || method === 'HEAD' ? '' : await readBody(req);
    const recorded: RecordedRequest = {
      method,
      path,
      query: url.search,
      client,
      auth,
      sni,
      ...(text !== '' ? { contentType, body: parseRecordedBody(text, contentType) } : {}),
    };
    requests.push(recorded);
    fake.onRequest?.(recorded, requests.filter((r) => r.method === method && r.path === path).length);
    if (auth === 'rejected' || (auth === 'anonymous' && !PUBLIC_PATHS.has(path))) {
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
      answerReadyz(res);
      return;
    }
    if (method === 'GET' && path === '/version') {
      const gitVersion = options.serverVersion ?? 'v1.30.4';
      const [major, minor] = gitVersion.replace(/^v/, '').split('.');
      sendJson(res, 200, { major, minor, gitVersion, platform: 'linux/amd64' });
      return;
    }
    if (ctx.discovery.serve(method, path, res)) return;

    const target = parseResourcePath(path);
    if (!target) {
      sendStatus(res, 404, 'the server could not find the requested resource');
      return;
    }
    if (target.groupVersion === 'v1' && target.resource === 'nodes' && target.namespace === undefined) {
      handleNodes(ctx, { method, url, contentType, text }, res, target.name, target.subresource);
      return;
    }
    if (target.name === undefined) {
      if (method === 'GET') listObjects(ctx, res, url, target);
      else if (method === 'POST') createObject(ctx, res, target, text);
      else sendStatus(res, 405, `the server does not allow ${method} on a collection`);
      return;
    }
    const named = target as NamedTarget;
    if (target.subresource === 'eviction' && target.groupVersion === 'v1' && target.resource === 'pods') {
      if (method === 'POST' && target.namespace !== undefined) evictPod(ctx, res, named, text);
      else sendStatus(res, 405, `the server does not allow ${method} on pods/eviction`);
      return;
    }
    if (method === 'GET' && (target.subresource === undefined || target.subresource === 'status')) {
      getObject(ctx, res, named);
    } else if (method === 'PUT') {
      replaceObject(ctx, res, named, text);
    } else if (method === 'PATCH' && contentType === 'application/apply-patch+yaml') {
      serverSideApply(
        ctx,
        applied,
        { path, url, contentType: String(req.headers['content-type']), text, client },
        res,
        named,
      );
    } else if (method === 'PATCH' && contentType === 'application/merge-patch+json') {
      mergePatchObject(ctx, res, named, text);
    } else if (method === 'PATCH') {
      sendStatus(
        res,
        415,
        `the fake supports server-side apply and JSON merge patches, not ${contentType || 'no content type'}`,
      );
    } else if (method === 'DELETE' && target.subresource === undefined) {
      deleteObject(ctx, res, named);
    } else {
      sendStatus(res, 404, 'the server could not find the requested resource');
    }
  }

  const server: Server = createServer(
    {
      key: serving.keyPem,
      cert: serving.certPem,
      ca: options.pki.clusterCa.certPem,
      requestCert: true,
      rejectUnauthorized: clientAuth === 'handshake',
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

  function store(target: NamedTarget, obj: Json): void {
    const path = resourcePath(target);
    if (objects.has(path)) throw new Error(`fake kube-api: ${path} exists already`);
    objects.set(path, obj);
  }

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
    addPod(pod) {
      const obj = podObject(pod, ctx.nextResourceVersion());
      store({ groupVersion: 'v1', namespace: pod.namespace, resource: 'pods', name: pod.name }, obj);
      return obj as unknown as PodObject;
    },
    pods(namespace) {
      purgeTerminated(ctx);
      return namespacePods(ctx, namespace)
        .map(([, pod]) => pod as unknown as PodObject)
        .sort((a, b) =>
          `${a.metadata.namespace}/${a.metadata.name}` < `${b.metadata.namespace}/${b.metadata.name}`
            ? -1
            : 1,
        );
    },
    addPodDisruptionBudget(pdb) {
      const target = {
        groupVersion: 'policy/v1',
        namespace: pdb.namespace,
        resource: 'poddisruptionbudgets',
      };
      const obj = pdbObject(pdb, ctx.nextResourceVersion());
      store({ ...target, name: pdb.name }, obj);
      return served(resourcePath({ ...target, name: pdb.name }), obj) as unknown as PodDisruptionBudgetObject;
    },
    setPodTerminationMs(ms) {
      ctx.podTerminationMs = ms;
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
