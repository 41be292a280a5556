// Nodes of the fake Kubernetes API: a list the test mutates (FakeNode), rendered as Node objects on every
// GET, and patchable through the API (JSON merge patch of labels, annotations, spec.unschedulable and
// spec.taints), which writes back into the FakeNode. Like the node lifecycle controller, a cordoned node
// is served with the node.kubernetes.io/unschedulable:NoSchedule taint.
import type { ServerResponse } from 'node:http';
import { sendJson, sendStatus } from './fake-http.js';
import { isObject, labelSelector, mergePatch, type Json } from './fake-objects.js';
import { page, type FakeContext } from './fake-store.js';

export interface FakeTaint {
  key: string;
  effect: string;
  value?: string;
}

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
  /** Labels besides kubernetes.io/hostname, kubernetes.io/os and the node-role.kubernetes.io/<role> ones. */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Cordoned. */
  unschedulable?: boolean;
  taints?: FakeTaint[];
}

const ROLE_PREFIX = 'node-role.kubernetes.io/';
const UNSCHEDULABLE_TAINT: FakeTaint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

/** A node's resourceVersion: bumped by API writes (a test's direct mutation does not bump it). */
function versionOf(ctx: FakeContext, name: string): string {
  return ctx.nodeVersions.get(name) ?? '1';
}

export function nodeObject(node: FakeNode, created: string, resourceVersion = '1'): Json {
  const labels: Record<string, string> = {
    'kubernetes.io/hostname': node.name,
    'kubernetes.io/os': 'linux',
  };
  for (const role of node.roles ?? []) labels[`${ROLE_PREFIX}${role}`] = '';
  Object.assign(labels, node.labels ?? {});
  const taints = [...(node.unschedulable ? [UNSCHEDULABLE_TAINT] : []), ...(node.taints ?? [])];
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
    metadata: {
      name: node.name,
      uid: `uid-${node.name}`,
      resourceVersion,
      labels,
      ...(node.annotations && Object.keys(node.annotations).length > 0
        ? { annotations: { ...node.annotations } }
        : {}),
      creationTimestamp: created,
    },
    spec: {
      ...(node.unschedulable ? { unschedulable: true } : {}),
      ...(taints.length > 0 ? { taints: structuredClone(taints) } : {}),
    },
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

/** Writes a patched Node object's metadata and spec back into the FakeNode. */
function writeBack(node: FakeNode, obj: Json): void {
  const metadata = isObject(obj.metadata) ? obj.metadata : {};
  const spec = isObject(obj.spec) ? obj.spec : {};
  const labels = { ...((metadata.labels as Record<string, string> | undefined) ?? {}) };
  const roles: string[] = [];
  for (const key of Object.keys(labels)) {
    if (key.startsWith(ROLE_PREFIX)) {
      roles.push(key.slice(ROLE_PREFIX.length));
      delete labels[key];
    }
  }
  delete labels['kubernetes.io/hostname'];
  delete labels['kubernetes.io/os'];
  node.roles = roles;
  node.labels = labels;
  const annotations = metadata.annotations as Record<string, string> | undefined;
  node.annotations = annotations && Object.keys(annotations).length > 0 ? { ...annotations } : undefined;
  node.unschedulable = spec.unschedulable === true ? true : undefined;
  const taints = Array.isArray(spec.taints) ? (spec.taints as FakeTaint[]) : [];
  node.taints = taints.filter(
    (t) => !(t.key === UNSCHEDULABLE_TAINT.key && t.effect === UNSCHEDULABLE_TAINT.effect),
  );
}

/** Answers a request to /api/v1/nodes[/<name>]. */
export function handleNodes(
  ctx: FakeContext,
  req: { method: string; url: URL; contentType: string; text: string },
  res: ServerResponse,
  name: string | undefined,
  subresource: string | undefined,
): void {
  const { method, url } = req;
  const { nodes, created } = ctx;
  if (name === undefined) {
    if (method !== 'GET') {
      sendStatus(res, 405, `the fake does not support ${method} of the node collection`);
      return;
    }
    let all = nodes.map((n) => nodeObject(n, created, versionOf(ctx, n.name)));
    const selector = url.searchParams.get('labelSelector');
    try {
      if (selector) {
        const matches = labelSelector(selector);
        all = all.filter((n) => matches((n.metadata as Json).labels as Record<string, string>));
      }
    } catch (err) {
      sendStatus(res, 400, (err as Error).message);
      return;
    }
    const { items, continue: next } = page(all, url);
    sendJson(res, 200, {
      kind: 'NodeList',
      apiVersion: 'v1',
      metadata: { resourceVersion: ctx.currentResourceVersion(), ...(next ? { continue: next } : {}) },
      items,
    });
    return;
  }
  const node = nodes.find((n) => n.name === name);
  if (!node) {
    sendStatus(res, 404, `nodes "${name}" not found`, { details: { name, group: '', kind: 'nodes' } });
    return;
  }
  if (subresource !== undefined && !(method === 'GET' && subresource === 'status')) {
    sendStatus(res, 405, `the fake does not support ${method} of nodes/${subresource}`);
    return;
  }
  if (method === 'GET') {
    sendJson(res, 200, nodeObject(node, created, versionOf(ctx, name)));
    return;
  }
  if (method === 'DELETE') {
    const obj = nodeObject(node, created, versionOf(ctx, name));
    nodes.splice(nodes.indexOf(node), 1);
    ctx.nextResourceVersion();
    sendJson(res, 200, obj);
    return;
  }
  if (method !== 'PATCH' || req.contentType !== 'application/merge-patch+json') {
    sendStatus(
      res,
      415,
      `the fake supports only JSON merge patches of nodes, not ${method} ${req.contentType}`,
    );
    return;
  }
  let patch: unknown;
  try {
    patch = JSON.parse(req.text);
  } catch (err) {
    sendStatus(res, 400, `error decoding JSON merge patch: ${(err as Error).message}`);
    return;
  }
  const current = nodeObject(node, created, versionOf(ctx, name));
  const precondition =
    isObject(patch) && isObject(patch.metadata) ? patch.metadata.resourceVersion : undefined;
  if (precondition !== undefined && precondition !== null && String(precondition) !== versionOf(ctx, name)) {
    sendStatus(
      res,
      409,
      `Operation cannot be fulfilled on nodes "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    );
    return;
  }
  const result = mergePatch(current, patch) as Json;
  if (!isObject(result) || (isObject(result.metadata) && result.metadata.name !== name)) {
    sendStatus(res, 400, `the name of the object does not match the name on the URL`);
    return;
  }
  writeBack(node, result);
  ctx.nodeVersions.set(name, ctx.nextResourceVersion());
  sendJson(res, 200, nodeObject(node, created, versionOf(ctx, name)));
}
