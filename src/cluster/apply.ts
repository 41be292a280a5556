// Server-side apply through @kubernetes/client-node, imported on first use (~0.7 s). Two fixes over the
// library's defaults are applied in a middleware: our own verifying agent, and the manifest's own JSON
// as the PATCH body (the typed models drop fields such as a CRD schema's `default` or `x-kubernetes-*`).
import type { Agent } from 'node:https';
import { clientNodeError, KubeApiError } from './errors.js';
import type { AppliedObject, ClusterClientOptions, KubeObject } from './types.js';

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function describeObject(obj: { kind: string; metadata?: { name?: string; namespace?: string } }): string {
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

export type Apply = (objects: readonly KubeObject[], fieldManager: string) => Promise<AppliedObject[]>;

export function createApplier(target: {
  server: string;
  options: ClusterClientOptions;
  agent: Agent;
  timeoutMs: number;
}): Apply {
  const { server, options, agent, timeoutMs } = target;
  let objectApi: Promise<import('@kubernetes/client-node').KubernetesObjectApi> | undefined;
  // The object being applied: its JSON replaces the body KubernetesObjectApi.patch would send (see the
  // middleware). Read at send time, after patch() has filled in the default namespace.
  let pendingSpec: KubeObject | undefined;
  let applyQueue: Promise<unknown> = Promise.resolve();

  function loadObjectApi(): Promise<import('@kubernetes/client-node').KubernetesObjectApi> {
    objectApi ??= (async () => {
      const k8s = await import('@kubernetes/client-node');
      const kc = new k8s.KubeConfig();
      kc.loadFromOptions({
        clusters: [
          {
            name: 'nkd',
            server,
            caData: b64(options.caPem),
            skipTLSVerify: false,
            ...(options.tlsServerName ? { tlsServerName: options.tlsServerName } : {}),
          },
        ],
        users: [
          { name: 'nkd-admin', certData: b64(options.clientCertPem), keyData: b64(options.clientKeyPem) },
        ],
        contexts: [{ name: 'nkd', cluster: 'nkd', user: 'nkd-admin' }],
        currentContext: 'nkd',
      });
      const middleware: import('@kubernetes/client-node').Middleware = {
        pre: async (ctx) => {
          // KubeConfig builds a fresh https.Agent per request and leaves rejectUnauthorized unset (so
          // NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment would disable verification): use ours.
          ctx.setAgent(agent);
          ctx.setSignal(AbortSignal.timeout(timeoutMs));
          // KubernetesObjectApi.patch serialises the object through its typed models, which silently
          // drops every field whose JSON name differs from the model's property name (a CRD schema's
          // `default`, `enum`, `x-kubernetes-*`, `$ref`) and any field the models do not know. Server-side
          // apply must send the manifest as written.
          if (ctx.getHttpMethod() === k8s.HttpMethod.PATCH && pendingSpec !== undefined) {
            ctx.setBody(JSON.stringify(pendingSpec));
          }
          return ctx;
        },
        post: async (ctx) => ctx,
      };
      const configuration = k8s.createConfiguration({
        baseServer: new k8s.ServerConfiguration(server, {}),
        authMethods: { default: kc },
        promiseMiddleware: [middleware],
      });
      return new k8s.KubernetesObjectApi(configuration);
    })();
    // A failed import must not be cached forever.
    objectApi.catch(() => {
      objectApi = undefined;
    });
    return objectApi;
  }

  async function applyAll(objects: readonly KubeObject[], fieldManager: string): Promise<AppliedObject[]> {
    if (fieldManager === '') throw new KubeApiError('server-side apply needs a field manager', 'protocol');
    objects.forEach(checkManifest);
    const api = await loadObjectApi();
    const k8s = await import('@kubernetes/client-node');
    const applied: AppliedObject[] = [];
    for (const obj of objects) {
      // A deep copy: KubernetesObjectApi fills in metadata.namespace on the object it is given.
      const spec = structuredClone(obj) as KubeObject & { metadata: { name: string; namespace?: string } };
      try {
        pendingSpec = spec;
        // Discovery (GET /api/v1, /apis/<group>/<version>, cached) resolves the resource name and scope;
        // a namespaced object without a namespace gets "default", as with kubectl.
        await api.patch(spec, undefined, undefined, fieldManager, true, k8s.PatchStrategy.ServerSideApply);
      } catch (err) {
        const e = clientNodeError(err, server, timeoutMs);
        throw new KubeApiError(`apply ${describeObject(spec)}: ${e.message}`, e.kind, e.statusCode, e.code);
      } finally {
        pendingSpec = undefined;
      }
      const ref: AppliedObject = { apiVersion: spec.apiVersion, kind: spec.kind, name: spec.metadata.name };
      if (spec.metadata.namespace) ref.namespace = spec.metadata.namespace;
      applied.push(ref);
    }
    return applied;
  }

  return (objects, fieldManager) => {
    // One apply at a time per client: the body substitution above is per request in flight.
    const run = applyQueue.then(() => applyAll(objects, fieldManager));
    applyQueue = run.catch(() => undefined);
    return run;
  };
}
