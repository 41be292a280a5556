// The fake Kubernetes API's generic object store, for any served resource: create (POST), get and list
// (paged, label and field selectors), replace (PUT, optimistic concurrency on metadata.resourceVersion),
// JSON merge patch (also of the status subresource) and delete, with the server-managed metadata
// (uid, resourceVersion, generation, creationTimestamp) kept as kube-apiserver keeps it. Updates (PUT,
// merge patch) are in fake-update.ts.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { qualifiedResource, type Discovery, type ResourceInfo } from './fake-discovery.js';
import { sendJson, sendStatus, type StatusDetails } from './fake-http.js';
import type { FakeNode } from './fake-nodes.js';
import {
  fieldSelector,
  isObject,
  labelSelector,
  parseResourcePath,
  resourcePath,
  type Json,
  type ResourceTarget,
} from './fake-objects.js';

/** What the parts of the fake share. */
export interface FakeContext {
  /** Stored objects by canonical path. */
  objects: Map<string, Json>;
  discovery: Discovery;
  /** The live node list (served by fake-nodes.ts, not from `objects`). */
  nodes: FakeNode[];
  /** Node name → resourceVersion of its last write through the API. */
  nodeVersions: Map<string, string>;
  /** When the fake started: creationTimestamp of the nodes. */
  created: string;
  /** Bumps the cluster's resourceVersion and returns it. */
  nextResourceVersion(): string;
  currentResourceVersion(): string;
  /** An object as GET serves it (with the status of simulated controllers). */
  served(path: string, obj: Json): Json;
  /** Path → when its spec last changed (epoch ms). */
  changedAt: Map<string, number>;
  /** Deleted pods stay (with deletionTimestamp) this long before they are gone; 0: gone at once. */
  podTerminationMs: number;
  /** Path of a terminating pod → when it is gone (epoch ms). */
  terminating: Map<string, number>;
  /** PodDisruptionBudget → the most pods it selected at once (its controllers' scale, see pdbStatus). */
  budgetScale: Map<string, number>;
}

export type NamedTarget = ResourceTarget & { name: string };

export const SERVER_FIELDS = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
];

function details(target: ResourceTarget, name?: string): StatusDetails {
  const group = target.groupVersion.includes('/') ? target.groupVersion.split('/')[0]! : '';
  return { ...(name ? { name } : {}), group, kind: target.resource };
}

export function sendNotFound(res: ServerResponse, target: ResourceTarget & { name: string }): void {
  const what = qualifiedResource(target.groupVersion, target.resource);
  sendStatus(res, 404, `${what} "${target.name}" not found`, { details: details(target, target.name) });
}

export function sendConflict(res: ServerResponse, target: NamedTarget): void {
  const what = qualifiedResource(target.groupVersion, target.resource);
  sendStatus(
    res,
    409,
    `Operation cannot be fulfilled on ${what} "${target.name}": the object has been modified; please apply your changes to the latest version and try again`,
    { details: details(target, target.name) },
  );
}

export function meta(obj: Json | undefined): Json {
  return isObject(obj?.metadata) ? obj.metadata : {};
}

/** The served resource of a request, or a 404 answered. */
export function resolveResource(
  ctx: FakeContext,
  res: ServerResponse,
  target: ResourceTarget,
): ResourceInfo | undefined {
  const info = ctx.discovery.find(target.groupVersion, target.resource);
  const misplaced =
    info !== undefined &&
    (info.namespaced
      ? target.name !== undefined && target.namespace === undefined
      : target.namespace !== undefined);
  if (!info || misplaced) {
    sendStatus(res, 404, 'the server could not find the requested resource');
    return undefined;
  }
  return info;
}

/** A page of `all` per limit/continue (the continue token is the offset). */
export function page<T>(all: T[], url: URL): { items: T[]; continue?: string } {
  const offset = Number(url.searchParams.get('continue') ?? '0') || 0;
  const limit = Number(url.searchParams.get('limit') ?? '0') || all.length;
  const items = all.slice(offset, offset + limit);
  return offset + limit < all.length ? { items, continue: String(offset + limit) } : { items };
}

/** Removes pods whose termination delay has passed. */
export function purgeTerminated(ctx: FakeContext): void {
  const now = Date.now();
  for (const [path, at] of ctx.terminating) {
    if (at > now) continue;
    ctx.terminating.delete(path);
    ctx.objects.delete(path);
  }
}

export function listObjects(ctx: FakeContext, res: ServerResponse, url: URL, target: ResourceTarget): void {
  const info = resolveResource(ctx, res, target);
  if (!info) return;
  let matches: (obj: Json) => boolean = () => true;
  try {
    const labels = url.searchParams.get('labelSelector');
    const fields = url.searchParams.get('fieldSelector');
    const byLabels = labels ? labelSelector(labels) : undefined;
    const byFields = fields ? fieldSelector(fields, info.kind) : undefined;
    matches = (obj) =>
      (!byLabels || byLabels(meta(obj).labels as Record<string, string> | undefined)) &&
      (!byFields || byFields(obj));
  } catch (err) {
    sendStatus(res, 400, (err as Error).message);
    return;
  }
  const all = [...ctx.objects]
    .filter(([p]) => {
      const t = parseResourcePath(p);
      return (
        t?.groupVersion === target.groupVersion &&
        t.resource === target.resource &&
        t.name !== undefined &&
        t.subresource === undefined &&
        (target.namespace === undefined || t.namespace === target.namespace)
      );
    })
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([p, o]) => ctx.served(p, o))
    .filter(matches);
  const { items, continue: next } = page(all, url);
  sendJson(res, 200, {
    apiVersion: target.groupVersion,
    kind: `${info.kind}List`,
    metadata: { resourceVersion: ctx.currentResourceVersion(), ...(next ? { continue: next } : {}) },
    items,
  });
}

export function getObject(ctx: FakeContext, res: ServerResponse, target: NamedTarget): void {
  const path = resourcePath(target);
  const obj = ctx.objects.get(path);
  if (obj) sendJson(res, 200, ctx.served(path, obj));
  else sendNotFound(res, target);
}

/** The request body as an object of the target's kind (apiVersion/kind defaulted), or a 400 answered. */
export function bodyObject(
  res: ServerResponse,
  text: string,
  target: ResourceTarget,
  info: ResourceInfo,
): Json | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    sendStatus(res, 400, `error decoding JSON: ${(err as Error).message}`);
    return undefined;
  }
  if (!isObject(body)) {
    sendStatus(res, 400, 'the request body is not a JSON object');
    return undefined;
  }
  const obj = { ...body, apiVersion: body.apiVersion ?? target.groupVersion, kind: body.kind ?? info.kind };
  if (obj.apiVersion !== target.groupVersion || obj.kind !== info.kind) {
    sendStatus(
      res,
      400,
      `the body's ${String(obj.apiVersion)} ${String(obj.kind)} does not match the request`,
    );
    return undefined;
  }
  const namespace = meta(obj).namespace;
  if (target.namespace !== undefined && namespace !== undefined && namespace !== target.namespace) {
    sendStatus(
      res,
      400,
      'the namespace of the provided object does not match the namespace sent on the request',
    );
    return undefined;
  }
  return obj;
}

export function createObject(
  ctx: FakeContext,
  res: ServerResponse,
  target: ResourceTarget,
  text: string,
): Json | undefined {
  const info = resolveResource(ctx, res, target);
  if (!info) return undefined;
  if (info.namespaced && target.namespace === undefined) {
    sendStatus(res, 405, `the server does not allow this method on the requested resource`);
    return undefined;
  }
  const obj = bodyObject(res, text, target, info);
  if (!obj) return undefined;
  const metadata = { ...meta(obj) };
  if (typeof metadata.name !== 'string' || metadata.name === '') {
    if (typeof metadata.generateName === 'string' && metadata.generateName !== '') {
      metadata.name = `${metadata.generateName}${randomUUID().slice(0, 5)}`;
    } else {
      sendStatus(
        res,
        422,
        `${info.kind} "" is invalid: metadata.name: Required value: name or generateName is required`,
      );
      return undefined;
    }
  }
  const named: NamedTarget = { ...target, name: metadata.name as string };
  const path = resourcePath(named);
  if (ctx.objects.has(path)) {
    const what = qualifiedResource(target.groupVersion, target.resource);
    sendStatus(res, 409, `${what} "${named.name}" already exists`, {
      reason: 'AlreadyExists',
      details: details(target, named.name),
    });
    return undefined;
  }
  for (const field of SERVER_FIELDS) delete metadata[field];
  const stored: Json = {
    ...obj,
    metadata: {
      ...metadata,
      ...(target.namespace ? { namespace: target.namespace } : {}),
      uid: randomUUID(),
      resourceVersion: ctx.nextResourceVersion(),
      generation: 1,
      creationTimestamp: new Date().toISOString(),
    },
  };
  // With a status subresource, status is the controllers' to write, never the creator's.
  // A new pod is Pending until a kubelet runs it (addPod stores running ones).
  if (ctx.discovery.hasStatusSubresource(target.groupVersion, target.resource)) delete stored.status;
  if (info.kind === 'Pod' && target.groupVersion === 'v1') stored.status = { phase: 'Pending' };
  ctx.objects.set(path, stored);
  ctx.changedAt.set(path, Date.now());
  if (info.kind === 'CustomResourceDefinition') ctx.discovery.registerCrd(stored);
  sendJson(res, 201, ctx.served(path, stored));
  return stored;
}

/** Deletes an object; a pod first terminates for ctx.podTerminationMs. Answers the object. */
export function deleteObject(
  ctx: FakeContext,
  res: ServerResponse | undefined,
  target: NamedTarget,
): Json | undefined {
  const path = resourcePath(target);
  const obj = ctx.objects.get(path);
  if (!obj) {
    if (res) sendNotFound(res, target);
    return undefined;
  }
  let answer = obj;
  const isPod = target.groupVersion === 'v1' && target.resource === 'pods';
  if (isPod && ctx.podTerminationMs > 0) {
    if (!ctx.terminating.has(path)) {
      answer = {
        ...obj,
        metadata: {
          ...meta(obj),
          resourceVersion: ctx.nextResourceVersion(),
          deletionTimestamp: new Date().toISOString(),
        },
      };
      ctx.objects.set(path, answer);
      ctx.terminating.set(path, Date.now() + ctx.podTerminationMs);
    }
  } else {
    ctx.objects.delete(path);
    ctx.terminating.delete(path);
    ctx.nextResourceVersion();
  }
  if (res) sendJson(res, 200, ctx.served(path, answer));
  return answer;
}
