// Server-side apply in the fake Kubernetes API (PATCH application/apply-patch+yaml with a fieldManager):
// the applied object replaces what was stored (no field ownership), keeping uid and creationTimestamp and
// any status; metadata.generation 1, then +1 whenever anything but metadata/status changes.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { ClientIdentity } from './fake-auth.js';
import { sendJson, sendStatus } from './fake-http.js';
import { resourcePath, specPart, type Json } from './fake-objects.js';
import type { FakeContext, NamedTarget } from './fake-store.js';

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

export function serverSideApply(
  ctx: FakeContext,
  applied: AppliedRecord[],
  request: { path: string; url: URL; contentType: string; text: string; client: ClientIdentity },
  res: ServerResponse,
  target: NamedTarget,
): void {
  const { path, url, contentType, client } = request;
  const fieldManager = url.searchParams.get('fieldManager');
  if (!fieldManager) {
    sendStatus(res, 400, 'PATCH requests with apply content type must have a fieldManager');
    return;
  }
  let body: Json;
  try {
    body = parseYaml(request.text) as Json;
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
  const info = ctx.discovery.find(target.groupVersion, target.resource);
  if (!info || target.subresource !== undefined) {
    sendStatus(res, 404, 'the server could not find the requested resource');
    return;
  }
  const meta = (body.metadata ?? {}) as Json;
  if (body.apiVersion !== target.groupVersion || body.kind !== info.kind) {
    sendStatus(res, 400, `the body's ${String(body.apiVersion)} ${String(body.kind)} does not match ${path}`);
    return;
  }
  if (meta.name !== target.name) {
    sendStatus(res, 400, `the name of the object (${String(meta.name)}) does not match the name on the URL`);
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
  const key = resourcePath(target);
  const previous = ctx.objects.get(key);
  const previousMeta = (previous?.metadata ?? {}) as Json;
  const changed = specPart(previous) !== specPart(body);
  const previousGeneration = typeof previousMeta.generation === 'number' ? previousMeta.generation : 0;
  const stored = {
    ...body,
    metadata: {
      ...meta,
      ...(target.namespace ? { namespace: target.namespace } : {}),
      uid: previousMeta.uid ?? randomUUID(),
      resourceVersion: ctx.nextResourceVersion(),
      generation: changed ? previousGeneration + 1 : previousGeneration,
      creationTimestamp: previousMeta.creationTimestamp ?? new Date().toISOString(),
    },
    // A status stays until an apply brings another (tests may also set one in `objects` directly).
    ...(body.status === undefined && previous?.status !== undefined ? { status: previous.status } : {}),
  };
  ctx.objects.set(key, stored);
  if (changed) ctx.changedAt.set(key, Date.now());
  if (info.kind === 'CustomResourceDefinition') ctx.discovery.registerCrd(stored);
  sendJson(res, previous ? 200 : 201, ctx.served(key, stored));
}
