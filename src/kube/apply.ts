// Server-side apply as the API defines it: a PATCH of the object's path with the manifest as written
// (JSON is YAML) as `application/apply-patch+yaml`, `fieldManager` and `force=true` (nkd owns the fields it
// applies, as `kubectl apply --server-side --force-conflicts` would). The path needs the resource's plural
// name and scope, read from discovery (GET /api/v1 or /apis/<group>/<version>), once per group/version.
import { KubeApiError, KubeStatusError } from './errors.js';
import type { CallOptions } from './client.js';
import type { AppliedObject, KubeObject } from './types.js';

const APPLY_PATCH = 'application/apply-patch+yaml';

interface Caller {
  call(method: string, path: string, options?: CallOptions): Promise<unknown>;
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

export type Apply = (objects: readonly KubeObject[], fieldManager: string) => Promise<AppliedObject[]>;

export interface ApplyRetry {
  /** How long one object's apply keeps retrying failures a busy server gives (default 2 min). */
  retryForMs: number;
  sleep: (ms: number) => Promise<void>;
}

const DEFAULT_RETRY: ApplyRetry = {
  retryForMs: 120_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

// What a busy or restarting API server answers (seen on slow machines: a PATCH with no answer within the
// call timeout right after the control plane came up). Server-side apply is idempotent: trying again is safe.
const RETRIED_STATUSES = new Set([429, 500, 502, 503, 504]);

function worthRetrying(err: unknown): boolean {
  if (err instanceof KubeStatusError) return RETRIED_STATUSES.has(err.status);
  return err instanceof KubeApiError && (err.kind === 'timeout' || err.kind === 'connection');
}

function describeObject(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return `${obj.kind} ${ns ? `${ns}/` : ''}${obj.metadata?.name ?? '(unnamed)'}`;
}

function checkManifest(obj: KubeObject, index: number): void {
  const where = `manifest #${index + 1}`;
  if (!obj || typeof obj !== 'object') throw new KubeApiError(`${where} is not an object`, 'protocol');
  if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '') {
    throw new KubeApiError(`${where} has no apiVersion`, 'protocol');
  }
  if (typeof obj.kind !== 'string' || obj.kind === '')
    throw new KubeApiError(`${where} has no kind`, 'protocol');
  if (typeof obj.metadata?.name !== 'string' || obj.metadata.name === '') {
    throw new KubeApiError(`${where} (${obj.kind}) has no metadata.name`, 'protocol');
  }
}

/** `/api/v1` for the core group, `/apis/<group>/<version>` otherwise. */
function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

export function createApplier(client: Caller, retry: ApplyRetry = DEFAULT_RETRY): Apply {
  // Resource lists per group/version. A list is fetched again when it lacks a kind: a CRD applied since
  // (by this client or another) adds kinds to a group already seen.
  const discovered = new Map<string, ApiResource[]>();
  let applyQueue: Promise<unknown> = Promise.resolve();

  async function fetchResources(apiVersion: string): Promise<ApiResource[]> {
    const path = groupVersionPath(apiVersion);
    const list = (await client.call('GET', path, { what: `discovery of ${apiVersion}` })) as
      { resources?: unknown } | undefined;
    if (!list || !Array.isArray(list.resources)) {
      throw new KubeApiError(`discovery of ${apiVersion} did not return a resource list`, 'protocol');
    }
    const resources = (list.resources as ApiResource[]).filter((r) => !r.name.includes('/'));
    discovered.set(apiVersion, resources);
    return resources;
  }

  async function resourceOf(apiVersion: string, kind: string): Promise<ApiResource> {
    const cached = discovered.get(apiVersion)?.find((r) => r.kind === kind);
    if (cached) return cached;
    const found = (await fetchResources(apiVersion)).find((r) => r.kind === kind);
    if (found) return found;
    throw new KubeApiError(
      `the API server does not serve ${apiVersion} ${kind} (is its CustomResourceDefinition installed and established?)`,
      'protocol',
    );
  }

  async function applyOne(obj: KubeObject, fieldManager: string): Promise<AppliedObject> {
    const resource = await resourceOf(obj.apiVersion, obj.kind);
    const spec = structuredClone(obj) as KubeObject & { metadata: { name: string; namespace?: string } };
    // A namespaced object without a namespace lands in "default", as with kubectl.
    if (resource.namespaced) spec.metadata.namespace ||= 'default';
    const ns = resource.namespaced ? `/namespaces/${encodeURIComponent(spec.metadata.namespace!)}` : '';
    const query = new URLSearchParams({ fieldManager, force: 'true' });
    const path = `${groupVersionPath(spec.apiVersion)}${ns}/${resource.name}/${encodeURIComponent(spec.metadata.name)}`;
    await client.call('PATCH', `${path}?${query.toString()}`, {
      body: JSON.stringify(spec),
      contentType: APPLY_PATCH,
      // The object is named by applyAll's prefix already.
      what: 'the API server',
    });
    const ref: AppliedObject = { apiVersion: spec.apiVersion, kind: spec.kind, name: spec.metadata.name };
    if (resource.namespaced) ref.namespace = spec.metadata.namespace!;
    return ref;
  }

  /** applyOne, again after 1, 2, 4 ... 16 s while the failure is one a busy server gives, within the budget. */
  async function applyPatiently(obj: KubeObject, fieldManager: string): Promise<AppliedObject> {
    let waited = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await applyOne(obj, fieldManager);
      } catch (err) {
        const pause = Math.min(1000 * 2 ** attempt, 16_000);
        if (!worthRetrying(err) || waited + pause > retry.retryForMs) throw err;
        await retry.sleep(pause);
        waited += pause;
      }
    }
  }

  async function applyAll(objects: readonly KubeObject[], fieldManager: string): Promise<AppliedObject[]> {
    if (fieldManager === '') throw new KubeApiError('server-side apply needs a field manager', 'protocol');
    objects.forEach(checkManifest);
    const applied: AppliedObject[] = [];
    for (const obj of objects) {
      try {
        applied.push(await applyPatiently(obj, fieldManager));
      } catch (err) {
        if (!(err instanceof KubeApiError)) throw err;
        const message = `apply ${describeObject(obj)}: ${err.message}`;
        if (err instanceof KubeStatusError) throw new KubeStatusError(err.status, message);
        throw new KubeApiError(message, err.kind, err.statusCode, err.code);
      }
    }
    return applied;
  }

  return (objects, fieldManager) => {
    // One apply at a time per client, in order: a Namespace or CRD listed first exists before what needs it.
    const run = applyQueue.then(() => applyAll(objects, fieldManager));
    applyQueue = run.catch(() => undefined);
    return run;
  };
}
