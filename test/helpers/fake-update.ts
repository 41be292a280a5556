// Updates in the fake Kubernetes API's object store: replace (PUT) with optimistic concurrency on
// metadata.resourceVersion (required for custom resources), and JSON merge patch (RFC 7386), both also
// of the status subresource. The status subresource changes only status; the main resource ignores
// status for kinds that have the subresource. generation goes up only when the spec changes.
import type { ServerResponse } from 'node:http';
import { sendJson, sendStatus } from './fake-http.js';
import { isObject, mergePatch, resourcePath, specPart, type Json } from './fake-objects.js';
import {
  bodyObject,
  meta,
  resolveResource,
  sendConflict,
  sendNotFound,
  SERVER_FIELDS,
  type FakeContext,
  type NamedTarget,
} from './fake-store.js';

/**
 * Stores `next` as the new version of `previous` (PUT or merge patch, main resource or status): keeps
 * the server-managed metadata, bumps resourceVersion, and generation when the spec changed.
 */
function update(
  ctx: FakeContext,
  res: ServerResponse,
  target: NamedTarget,
  previous: Json,
  next: Json,
  precondition: unknown,
): void {
  const path = resourcePath(target);
  const old = meta(previous);
  if (
    precondition !== undefined &&
    precondition !== null &&
    String(precondition) !== String(old.resourceVersion)
  ) {
    sendConflict(res, target);
    return;
  }
  const nextMeta = meta(next);
  if (nextMeta.name !== undefined && nextMeta.name !== target.name) {
    sendStatus(
      res,
      400,
      `the name of the object (${String(nextMeta.name)}) does not match the name on the URL`,
    );
    return;
  }
  const withStatus = ctx.discovery.hasStatusSubresource(target.groupVersion, target.resource);
  let stored: Json;
  if (target.subresource === 'status') {
    stored = { ...previous, status: next.status };
    if (next.status === undefined) delete stored.status;
  } else {
    stored = { ...next };
    if (withStatus) {
      if (previous.status === undefined) delete stored.status;
      else stored.status = previous.status;
    }
  }
  const changed = target.subresource !== 'status' && specPart(previous) !== specPart(stored);
  const generation = typeof old.generation === 'number' ? old.generation : 1;
  const metadata: Json = { ...(target.subresource === 'status' ? old : nextMeta) };
  for (const field of SERVER_FIELDS) {
    if (old[field] === undefined) delete metadata[field];
    else metadata[field] = old[field];
  }
  stored.metadata = {
    ...metadata,
    name: target.name,
    ...(target.namespace ? { namespace: target.namespace } : {}),
    resourceVersion: ctx.nextResourceVersion(),
    generation: changed ? generation + 1 : generation,
  };
  ctx.objects.set(path, stored);
  if (changed) ctx.changedAt.set(path, Date.now());
  if (stored.kind === 'CustomResourceDefinition') ctx.discovery.registerCrd(stored);
  sendJson(res, 200, ctx.served(path, stored));
}

function existing(ctx: FakeContext, res: ServerResponse, target: NamedTarget): Json | undefined {
  const info = resolveResource(ctx, res, target);
  if (!info) return undefined;
  if (target.subresource !== undefined) {
    if (
      target.subresource !== 'status' ||
      !ctx.discovery.hasStatusSubresource(target.groupVersion, target.resource)
    ) {
      sendStatus(res, 404, 'the server could not find the requested resource');
      return undefined;
    }
  }
  const previous = ctx.objects.get(resourcePath(target));
  if (!previous) sendNotFound(res, target);
  return previous;
}

export function replaceObject(
  ctx: FakeContext,
  res: ServerResponse,
  target: NamedTarget,
  text: string,
): void {
  const previous = existing(ctx, res, target);
  if (!previous) return;
  const info = ctx.discovery.find(target.groupVersion, target.resource)!;
  const body = bodyObject(res, text, target, info);
  if (!body) return;
  const precondition = meta(body).resourceVersion;
  if (
    (precondition === undefined || precondition === '') &&
    ctx.discovery.isCustom(target.groupVersion, target.resource)
  ) {
    const group = target.groupVersion.split('/')[0];
    sendStatus(
      res,
      422,
      `${info.kind}.${group} "${target.name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`,
    );
    return;
  }
  update(ctx, res, target, previous, body, precondition === '' ? undefined : precondition);
}

export function mergePatchObject(
  ctx: FakeContext,
  res: ServerResponse,
  target: NamedTarget,
  text: string,
): void {
  const previous = existing(ctx, res, target);
  if (!previous) return;
  let patch: unknown;
  try {
    patch = JSON.parse(text);
  } catch (err) {
    sendStatus(res, 400, `error decoding JSON merge patch: ${(err as Error).message}`);
    return;
  }
  if (!isObject(patch)) {
    sendStatus(res, 400, 'a JSON merge patch of an object must be an object');
    return;
  }
  const next = mergePatch(previous, patch) as Json;
  update(ctx, res, target, previous, next, meta(patch).resourceVersion);
}
