// Server-side apply on a busy API server (src/kube/apply.ts): what a slow or restarting server answers
// (no answer in time, a refused connection, 429/5xx) is tried again with growing pauses within a budget;
// what the server decided (4xx) fails at once. Seen for real: the e2e run's CRD PATCH got no answer
// within 10 s right after the control plane came up, and the whole deploy failed on it.
import { describe, expect, it } from 'vitest';
import { createApplier } from '../../src/kube/apply.js';
import { KubeApiError, KubeStatusError } from '../../src/kube/errors.js';

const CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'updates.housekeeper.io' },
};
const DISCOVERY = {
  resources: [{ name: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false }],
};

/** A caller whose PATCHes fail with `failures` in turn, then succeed; discovery always answers. */
function scripted(failures: Error[]) {
  const patches: string[] = [];
  const sleeps: number[] = [];
  const caller = {
    call: async (method: string, path: string) => {
      if (method === 'GET') return DISCOVERY;
      patches.push(path);
      const failure = failures.shift();
      if (failure) throw failure;
      return {};
    },
  };
  return { caller, patches, sleeps, sleep: async (ms: number) => void sleeps.push(ms) };
}

describe('apply on a busy API server', () => {
  it('tries a PATCH that got no answer again, with growing pauses, and succeeds', async () => {
    const timeout = () => new KubeApiError('no response to PATCH within 10s', 'timeout');
    const s = scripted([timeout(), timeout(), new KubeApiError('connection reset', 'connection')]);
    const apply = createApplier(s.caller, { retryForMs: 120_000, sleep: s.sleep });
    const applied = await apply([CRD], 'nkd');
    expect(applied).toEqual([{ apiVersion: CRD.apiVersion, kind: CRD.kind, name: 'updates.housekeeper.io' }]);
    expect(s.patches).toHaveLength(4);
    expect(s.sleeps).toEqual([1000, 2000, 4000]);
  });

  it('gives up once the next pause would pass the budget, naming the object and the last answer', async () => {
    const unavailable = () => new KubeStatusError(503, 'HTTP 503 from the API server: etcd not ready');
    const s = scripted(Array.from({ length: 10 }, unavailable));
    const apply = createApplier(s.caller, { retryForMs: 10_000, sleep: s.sleep });
    const err = (await apply([CRD], 'nkd').catch((e: unknown) => e)) as KubeStatusError;
    expect(err.status).toBe(503);
    expect(err.message).toBe(
      'apply CustomResourceDefinition updates.housekeeper.io: HTTP 503 from the API server: etcd not ready',
    );
    expect(s.sleeps).toEqual([1000, 2000, 4000]);
    expect(s.patches).toHaveLength(4);
  });

  it('fails at once on what the server decided (an invalid object)', async () => {
    const s = scripted([
      new KubeStatusError(422, 'HTTP 422 from the API server: spec.names: Required value'),
    ]);
    const apply = createApplier(s.caller, { retryForMs: 120_000, sleep: s.sleep });
    await expect(apply([CRD], 'nkd')).rejects.toMatchObject({ status: 422 });
    expect(s.patches).toHaveLength(1);
    expect(s.sleeps).toEqual([]);
  });
});
