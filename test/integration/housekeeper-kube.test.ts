// HousekeeperKube over node:https against the in-process fake API (loopback only), authenticated by a
// bearer token (as the operator and agent are in a pod) or by a client certificate; and inClusterKube
// reading a service account directory. Leases and the Update CRD's status against the real API server:
// housekeeper-kube-real.test.ts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { clusterClientFromPki } from '../../src/cluster/client.js';
import { KubeApiError } from '../../src/kube/errors.js';
import { housekeeperKube, inClusterKube, type KubeAuth } from '../../src/housekeeper/kube-client.js';
import { inClusterConfig } from '../../src/kube/in-cluster.js';
import { kubeClient } from '../../src/kube/client.js';
import {
  KubeStatusError,
  type MergePatch,
  type NodeObject,
  type UpdateObject,
} from '../../src/housekeeper/types.js';
import { generatePki, type ClusterPki } from '../../src/pki/index.js';
import {
  startFakeKubeApi,
  startFakeKubeApiWithForeignCa,
  type FakeKubeApi,
  type FakeKubeApiOptions,
} from '../helpers/fake-kube-api.js';

const NS = 'housekeeper-system';
const TOKEN = 'operator-token-0123456789';
const SA = { cn: `system:serviceaccount:${NS}:housekeeper`, o: 'system:serviceaccounts' };
const UPDATES = `/apis/housekeeper.io/v1alpha1/namespaces/${NS}/updates`;

let pki: ClusterPki;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  pki = await generatePki();
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function fake(options: Partial<FakeKubeApiOptions> = {}): Promise<FakeKubeApi> {
  const api = await startFakeKubeApi({
    pki,
    bearerTokens: { [TOKEN]: SA },
    nodes: ['n1', 'n2', 'n3'].map((name) => ({ name, ready: true })),
    ...options,
  });
  cleanups.push(() => api.stop());
  return api;
}

function kube(api: FakeKubeApi, auth: KubeAuth, listPageSize?: number): ReturnType<typeof housekeeperKube> {
  const k = housekeeperKube({ server: api.url, caPem: pki.clusterCa.certPem, auth, listPageSize });
  cleanups.push(() => k.close());
  return k;
}

/** The deployer's admin, for setting up what Housekeeper only reads (the CRD, Updates, specs). */
function admin(api: FakeKubeApi): ReturnType<typeof kubeClient> {
  const t = kubeClient({ server: api.url, caPem: pki.clusterCa.certPem, auth: adminAuth() });
  cleanups.push(() => t.close());
  return t;
}

const adminAuth = (): KubeAuth => ({ clientCertPem: pki.admin.certPem, clientKeyPem: pki.admin.keyPem });

async function withUpdate(api: FakeKubeApi): Promise<UpdateObject> {
  const crd = parseYaml(
    readFileSync(new URL('../../templates/housekeeper/crd.yaml', import.meta.url), 'utf8'),
  ) as object;
  const a = admin(api);
  await a.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd });
  const update = { metadata: { name: 'to-1.31' }, spec: { kubeVersion: 'v1.31.2' }, status: { phase: 'x' } };
  return (await a.call('POST', UPDATES, { body: update })) as UpdateObject;
}

const rejection = (p: Promise<unknown>): Promise<KubeStatusError> =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as KubeStatusError,
  );

const AUTHS: [string, () => KubeAuth, { cn: string; o: string }][] = [
  ['a bearer token', () => ({ bearerToken: () => TOKEN }), SA],
  ['a client certificate', adminAuth, { cn: 'nkd-admin', o: 'system:masters' }],
];

describe.each(AUTHS)('HousekeeperKube authenticated by %s', (_how, auth, identity) => {
  it('nodes: get (undefined when missing), list paged, merge patch of annotations, labels, cordon', async () => {
    const api = await fake();
    const k = kube(api, auth(), 2);
    expect((await k.getNode('n2'))?.metadata.name).toBe('n2');
    expect(await k.getNode('nope')).toBeUndefined();
    expect((await k.listNodes()).map((n) => n.metadata.name)).toEqual(['n1', 'n2', 'n3']);
    expect(api.requests.filter((r) => r.path === '/api/v1/nodes').map((r) => r.query)).toEqual([
      '?limit=2',
      '?limit=2&continue=2',
    ]);

    const patched = await k.patchNode('n1', {
      metadata: {
        annotations: { 'housekeeper.io/target': '{"key":"a"}', keep: 'me' },
        labels: { pool: 'a' },
      },
      spec: { unschedulable: true },
    });
    expect(patched.metadata.annotations).toEqual({ 'housekeeper.io/target': '{"key":"a"}', keep: 'me' });
    expect(patched.spec).toMatchObject({
      unschedulable: true,
      taints: [{ key: 'node.kubernetes.io/unschedulable' }],
    });
    expect(api.nodes[0]).toMatchObject({ unschedulable: true, labels: { pool: 'a' } });
    // null deletes (RFC 7386); a test's own change of the node list is seen at once.
    api.nodes[0]!.osImage = 'NestOS 24.09';
    // MergePatch<NodeObject> does not admit null below an optional field (reported), hence the cast.
    const uncordon = {
      metadata: { annotations: { 'housekeeper.io/target': null } },
      spec: { unschedulable: null },
    } as unknown as MergePatch<NodeObject>;
    const uncordoned = await k.patchNode('n1', uncordon);
    expect(uncordoned.metadata.annotations).toEqual({ keep: 'me' });
    expect(uncordoned.spec).toEqual({});
    expect(uncordoned.metadata.labels).toMatchObject({ pool: 'a', 'kubernetes.io/hostname': 'n1' });
    expect(uncordoned.status?.nodeInfo?.osImage).toBe('NestOS 24.09');
    const patches = api.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((r) => [r.path, r.contentType, r.client])).toEqual([
      ['/api/v1/nodes/n1', 'application/merge-patch+json', identity],
      ['/api/v1/nodes/n1', 'application/merge-patch+json', identity],
    ]);
    await expect(rejection(k.patchNode('nope', { spec: { unschedulable: true } }))).resolves.toMatchObject({
      status: 404,
      message: 'HTTP 404 from PATCH /api/v1/nodes/nope: nodes "nope" not found',
    });
  });

  it('pods by node, budgets, eviction (429 while a budget forbids it), deletion', async () => {
    const api = await fake();
    const k = kube(api, auth());
    const web = { app: 'web' };
    api.addPod({ namespace: 'shop', name: 'web-a', nodeName: 'n1', labels: web, ownerKind: 'ReplicaSet' });
    api.addPod({ namespace: 'shop', name: 'web-b', nodeName: 'n2', labels: web, ownerKind: 'ReplicaSet' });
    api.addPod({ namespace: 'kube-system', name: 'agent-x1', nodeName: 'n1', ownerKind: 'DaemonSet' });
    api.addPod({ namespace: 'kube-system', name: 'kube-apiserver-n1', nodeName: 'n1', mirror: true });
    api.addPodDisruptionBudget({ namespace: 'shop', name: 'web', matchLabels: web, minAvailable: 2 });

    const onN1 = await k.listPods({ nodeName: 'n1' });
    expect(onN1.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual([
      'kube-system/agent-x1',
      'kube-system/kube-apiserver-n1',
      'shop/web-a',
    ]);
    expect(onN1[0]!.metadata.ownerReferences).toMatchObject([{ kind: 'DaemonSet', controller: true }]);
    expect(onN1[1]!.metadata.annotations).toHaveProperty('kubernetes.io/config.mirror');
    expect(api.requests.at(-1)!.query).toBe('?fieldSelector=spec.nodeName%3Dn1&limit=500');
    expect((await k.listPods({ namespace: 'shop' })).map((p) => p.spec?.nodeName)).toEqual(['n1', 'n2']);
    expect(await k.listPods({ namespace: 'shop', nodeName: 'n3' })).toEqual([]);
    expect(await k.listPods({})).toHaveLength(4);

    const [budget] = await k.listPodDisruptionBudgets('shop');
    expect(budget!.status).toMatchObject({ disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2 });
    expect(await k.listPodDisruptionBudgets()).toHaveLength(1);
    expect(await k.listPodDisruptionBudgets('kube-system')).toEqual([]);

    const blocked = await rejection(k.evictPod('shop', 'web-a'));
    expect(blocked).toBeInstanceOf(KubeStatusError);
    expect(blocked.status).toBe(429);
    expect(blocked.message).toBe(
      "HTTP 429 from POST /api/v1/namespaces/shop/pods/web-a/eviction: Cannot evict pod as it would violate the pod's disruption budget. (The disruption budget web needs 2 healthy pods and has 2 currently)",
    );
    expect(api.pods('shop')).toHaveLength(2);
    const eviction = api.requests.at(-1)!;
    expect(eviction.body).toEqual({
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'web-a', namespace: 'shop' },
    });
    expect(eviction.client).toEqual(identity);

    // A third replica elsewhere: one disruption allowed, then none again.
    api.addPod({ namespace: 'shop', name: 'web-c', nodeName: 'n3', labels: web, ownerKind: 'ReplicaSet' });
    await k.evictPod('shop', 'web-a');
    expect(api.pods('shop').map((p) => p.metadata.name)).toEqual(['web-b', 'web-c']);
    expect((await rejection(k.evictPod('shop', 'web-b'))).status).toBe(429);
    // Pods no budget covers go; a missing one is a 404.
    await k.evictPod('kube-system', 'agent-x1');
    await k.deletePod('shop', 'web-b');
    expect(api.pods().map((p) => p.metadata.name)).toEqual(['kube-apiserver-n1', 'web-c']);
    expect((await rejection(k.deletePod('shop', 'web-b'))).message).toBe(
      'HTTP 404 from DELETE /api/v1/namespaces/shop/pods/web-b: pods "web-b" not found',
    );
    expect((await rejection(k.evictPod('shop', 'web-b'))).status).toBe(404);
  });
});

describe('the fake API as Housekeeper sees it', () => {
  it('a main-resource merge patch bumps generation when the spec changes and ignores status', async () => {
    const api = await fake();
    await withUpdate(api);
    const a = admin(api);
    const same = (await a.call('PATCH', `${UPDATES}/to-1.31`, {
      body: { metadata: { labels: { x: 'y' } }, status: { phase: 'Failed' } },
      contentType: 'application/merge-patch+json',
    })) as UpdateObject;
    expect([same.metadata.generation, same.status]).toEqual([1, undefined]);
    const changed = (await a.call('PATCH', `${UPDATES}/to-1.31`, {
      body: { spec: { paused: true } },
      contentType: 'application/merge-patch+json',
    })) as UpdateObject;
    expect(changed.metadata.generation).toBe(2);
    expect(changed.spec).toEqual({ kubeVersion: 'v1.31.2', paused: true });
    // A custom resource's PUT needs metadata.resourceVersion, and a stale one is a conflict.
    const { resourceVersion: _rv, ...noVersion } = changed.metadata;
    expect(
      await rejection(a.call('PUT', `${UPDATES}/to-1.31`, { body: { ...changed, metadata: noVersion } })),
    ).toMatchObject({ status: 422 });
    const stale = {
      ...changed,
      metadata: { ...changed.metadata, resourceVersion: same.metadata.resourceVersion },
    };
    expect(await rejection(a.call('PUT', `${UPDATES}/to-1.31`, { body: stale }))).toMatchObject({
      status: 409,
    });
  });

  it('serves pods, budgets and leases to server-side apply and label selectors; pods may linger', async () => {
    const api = await fake({ podTerminationMs: 150 });
    const c = clusterClientFromPki(pki, api.url);
    cleanups.push(() => c.close());
    await c.apply([
      {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'l', namespace: NS },
        spec: {},
      },
      {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'db', namespace: 'shop' },
        spec: { selector: { matchLabels: { app: 'db' } }, maxUnavailable: 1 },
      },
    ]);
    api.addPod({ namespace: 'shop', name: 'db-0', nodeName: 'n1', labels: { app: 'db' } });
    api.addPod({ namespace: 'shop', name: 'db-1', nodeName: 'n2', labels: { app: 'db' }, ready: false });
    const k = kube(api, adminAuth());
    expect((await k.getLease(NS, 'l'))?.metadata.generation).toBe(1);
    const [budget] = await k.listPodDisruptionBudgets('shop');
    expect(budget!.status).toMatchObject({ expectedPods: 2, currentHealthy: 1, desiredHealthy: 1 });
    const a = admin(api);
    const unready = (await a.call(
      'GET',
      '/api/v1/pods?labelSelector=app%3Ddb,app!%3Dweb&fieldSelector=spec.nodeName%3Dn2',
    )) as {
      items: { metadata: { name: string } }[];
    };
    expect(unready.items.map((p) => p.metadata.name)).toEqual(['db-1']);
    // An unready pod may go while the budget is met; the ready one may not, then.
    await k.evictPod('shop', 'db-1');
    const [terminating] = await k.listPods({ nodeName: 'n2' });
    expect(terminating!.metadata.deletionTimestamp).toEqual(expect.any(String));
    expect((await rejection(k.evictPod('shop', 'db-0'))).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await k.listPods({ nodeName: 'n2' })).toEqual([]);
  });

  it('401 for an unknown bearer token, even with the right CA', async () => {
    const api = await fake();
    const k = kube(api, { bearerToken: () => 'stolen' });
    const err = await rejection(k.listNodes());
    expect(err).toBeInstanceOf(KubeStatusError);
    expect([err.status, err.message]).toEqual([401, 'HTTP 401 from GET /api/v1/nodes: Unauthorized']);
    expect(api.requests[0]).toMatchObject({ auth: 'rejected', client: { cn: undefined } });
  });

  it('refuses a server whose certificate is not from the cluster CA, before sending anything', async () => {
    const api = await startFakeKubeApiWithForeignCa({ pki, bearerTokens: { [TOKEN]: SA } });
    cleanups.push(() => api.stop());
    const err = (await kube(api, { bearerToken: () => TOKEN })
      .getNode('n1')
      .catch((e: unknown) => e)) as KubeApiError;
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err.kind).toBe('certificate');
    expect(err.message).toMatch(
      /^certificate verification failed: https:\/\/127\.0\.0\.1:\d+ presented a certificate/,
    );
    expect(api.requests).toEqual([]);
  });
});

describe('inClusterKube', () => {
  function secretsDir(token: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'nkd-sa-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'ca.crt'), pki.clusterCa.certPem);
    writeFileSync(join(dir, 'token'), `${token}\n`);
    return dir;
  }

  it('uses the service account volume and re-reads a rotated token at most once a minute', async () => {
    const api = await fake({ bearerTokens: { first: { cn: 'sa-1' }, second: { cn: 'sa-2' } } });
    const dir = secretsDir('first');
    let now = 1_000_000;
    const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(api.port) };
    const k = inClusterKube(env, { secretsDir: dir, now: () => now });
    cleanups.push(() => k.close());
    await k.listNodes();
    writeFileSync(join(dir, 'token'), 'second');
    now += 59_000;
    await k.getNode('n1');
    now += 1_000;
    await k.getNode('n1');
    expect(api.requests.map((r) => r.client.cn)).toEqual(['sa-1', 'sa-1', 'sa-2']);
  });

  it('says so when not in a pod, or when the volume is missing; brackets an IPv6 service host', () => {
    expect(() => inClusterKube({})).toThrow(
      'not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set',
    );
    const env = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' };
    const missing = join(tmpdir(), 'nkd-no-such-dir');
    expect(() => inClusterKube(env, { secretsDir: missing })).toThrow(
      `cannot read the service account's CA certificate ${join(missing, 'ca.crt')}: ENOENT`,
    );
    expect(inClusterConfig(env, { secretsDir: secretsDir('t') }).server).toBe('https://[fd00::1]:443');
  });
});
