// gatherClusterStatus against the in-process fake API (loopback only): the API, nodes against the plan,
// Housekeeper's workloads and Update objects, and certificate dates, each degrading on its own.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterClientFromPki, type ClusterClient, type KubeObject } from '../../src/cluster/client.js';
import { gatherClusterStatus, type StatusClient } from '../../src/cluster/status.js';
import { certNotAfter, generatePki, type ClusterPki } from '../../src/pki/index.js';
import { planCluster } from '../../src/plan/plan.js';
import type { ClusterPlan } from '../../src/plan/types.js';
import { validConfig } from '../helpers/configs.js';
import { startFakeKubeApi, type FakeKubeApi, type FakeNode } from '../helpers/fake-kube-api.js';

let pki: ClusterPki;
let plan: ClusterPlan;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  pki = await generatePki();
  plan = planCluster(validConfig({ controlPlane: { count: 1 }, workers: { count: 2 } }));
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function fake(options: Partial<Parameters<typeof startFakeKubeApi>[0]> = {}): Promise<FakeKubeApi> {
  const api = await startFakeKubeApi({ pki, ...options });
  cleanups.push(() => api.stop());
  return api;
}

function client(url: string, requestTimeoutMs = 2_000): ClusterClient {
  const c = clusterClientFromPki(pki, url, { requestTimeoutMs });
  cleanups.push(() => c.close());
  return c;
}

const NS = 'housekeeper-system';
const HOUSEKEEPER: KubeObject[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
  {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'updates.housekeeper.io' },
    spec: {
      group: 'housekeeper.io',
      scope: 'Namespaced',
      names: { kind: 'Update', listKind: 'UpdateList', plural: 'updates', singular: 'update' },
      versions: [{ name: 'v1alpha1', served: true, storage: true }],
    },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'housekeeper-operator', namespace: NS },
    spec: { replicas: 1, selector: { matchLabels: { app: 'op' } }, template: {} },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'housekeeper-agent', namespace: NS },
    spec: { selector: { matchLabels: { app: 'agent' } }, template: {} },
  },
];

const NODES: FakeNode[] = [
  { name: 'demo-cp-1', ready: true, roles: ['control-plane'], internalIP: '192.168.132.2' },
  { name: 'demo-worker-1', ready: false, reason: 'KubeletNotReady', message: 'cni plugin not initialized' },
];

describe('gatherClusterStatus', () => {
  it('a ready API, its nodes against the plan (one never registered), Housekeeper and its Updates', async () => {
    const api = await fake({ nodes: structuredClone(NODES) });
    api.addNode({ name: 'stray', ready: true, roles: ['worker'] });
    const c = client(api.url);
    await c.apply(HOUSEKEEPER);
    await c.apply([
      {
        apiVersion: 'housekeeper.io/v1alpha1',
        kind: 'Update',
        metadata: { name: 'to-1.31', namespace: NS },
        spec: { kubeVersion: 'v1.31.1' },
      },
    ]);
    api.objects.get(`/apis/housekeeper.io/v1alpha1/namespaces/${NS}/updates/to-1.31`)!.status = {
      phase: 'Failed',
    };
    const status = await gatherClusterStatus(c, { plan, pki });

    expect(status.cluster).toBe('demo');
    expect(status.server).toBe(api.url);
    expect(status.api).toMatchObject({
      ready: true,
      reachable: true,
      httpStatus: 200,
      failingChecks: [],
      error: null,
      servingCertificateError: null,
    });
    expect(status.api.servingCertificate).toMatchObject({
      issuer: 'CN=kubernetes',
      subjectAltNames: ['IP Address:127.0.0.1', 'DNS:localhost'],
    });
    // The fake's serving certificate is valid for a week.
    expect(status.api.servingCertificate!.daysLeft).toBeGreaterThanOrEqual(6);

    expect(status.nodes.listed).toBe(true);
    expect(status.nodes.items).toEqual([
      {
        name: 'demo-cp-1',
        roles: ['control-plane'],
        kubeletVersion: 'v1.31.1',
        osImage: 'NestOS For Container 24.03-LTS',
        ready: true,
        registered: true,
        planned: true,
        internalIP: '192.168.132.2',
      },
      expect.objectContaining({
        name: 'demo-worker-1',
        ready: false,
        registered: true,
        planned: true,
        notReadyReason: 'KubeletNotReady: cni plugin not initialized',
      }),
      {
        name: 'demo-worker-2',
        roles: ['worker'],
        kubeletVersion: '',
        osImage: '',
        ready: false,
        registered: false,
        planned: true,
      },
      expect.objectContaining({ name: 'stray', ready: true, registered: true, planned: false }),
    ]);

    expect(status.housekeeper).toEqual({
      namespace: NS,
      enabled: true,
      state: 'installed',
      error: null,
      operator: {
        kind: 'Deployment',
        name: 'housekeeper-operator',
        found: true,
        ready: true,
        summary: '1/1 available',
      },
      agent: {
        kind: 'DaemonSet',
        name: 'housekeeper-agent',
        found: true,
        ready: true,
        summary: '3/3 available',
      },
      updates: [{ namespace: NS, name: 'to-1.31', phase: 'Failed', kubeVersion: 'v1.31.1' }],
      updatesError: null,
    });
    expect(status.certificates.map((x) => [x.name, x.subject])).toEqual([
      ['cluster CA', 'CN=kubernetes'],
      ['etcd CA', 'CN=etcd-ca'],
      ['front-proxy CA', 'CN=front-proxy-ca'],
      ['admin client certificate', 'O=system:masters, CN=nkd-admin'],
    ]);
    expect(status.warnings).toEqual([
      expect.stringMatching(/^the API server serving certificate expires in [67] days \(\d{4}-\d\d-\d\d\)$/),
      `Update ${NS}/to-1.31 failed`,
    ]);
    // demo-worker-1 is NotReady and demo-worker-2 never registered.
    expect(status.healthy).toBe(false);
    // Every request went out as nkd's admin.
    expect(new Set(api.requests.map((r) => r.client.cn))).toEqual(new Set(['nkd-admin']));
  });

  // Healthy with every planned node Ready and no Housekeeper: test/cli/real-cluster.test.ts, on the real
  // API server (`nkd status reports a healthy cluster`).

  it('Housekeeper installed but not rolled out: not healthy, with the DaemonSet one pod short', async () => {
    const api = await fake({
      nodes: plan.nodes.map((n) => ({ name: n.name, ready: true })),
      workloadsReadyAfterMs: Infinity,
    });
    const c = client(api.url);
    await c.apply(HOUSEKEEPER);
    api.setWorkloadReady(NS, 'Deployment', 'housekeeper-operator', true);
    const status = await gatherClusterStatus(c, { plan, pki });
    expect(status.housekeeper.operator).toMatchObject({ ready: true, summary: '1/1 available' });
    expect(status.housekeeper.agent).toMatchObject({ ready: false, summary: '2/3 available' });
    expect(status.housekeeper.updates).toEqual([]);
    expect(status.healthy).toBe(false);
  });

  it('an API that answers but is not ready still lists nodes; a failing part carries its own error', async () => {
    const api = await fake({ nodes: plan.nodes.map((n) => ({ name: n.name, ready: true })) });
    api.setReady(false);
    api.failPath(`/apis/apps/v1/namespaces/${NS}/deployments/housekeeper-operator`, {
      status: 500,
      message: 'etcdserver: request timed out',
    });
    const status = await gatherClusterStatus(client(api.url), { plan, pki });
    expect(status.api).toMatchObject({
      ready: false,
      reachable: true,
      httpStatus: 500,
      failingChecks: ['etcd', 'poststarthook/rbac/bootstrap-roles'],
      error: '/readyz answered HTTP 500; failing checks: etcd, poststarthook/rbac/bootstrap-roles',
    });
    expect(status.nodes.listed).toBe(true);
    expect(status.housekeeper).toMatchObject({
      state: 'unknown',
      error: `HTTP 500 from GET /apis/apps/v1/namespaces/${NS}/deployments/housekeeper-operator: etcdserver: request timed out`,
    });
    expect(status.healthy).toBe(false);
  });

  it('an unreachable API still gives a status with the local certificate dates, after one round of requests', async () => {
    const api = await fake();
    const url = api.url;
    await api.stop();
    const real = client(url);
    const called: string[] = [];
    const counting: StatusClient = {
      server: real.server,
      readyz: () => (called.push('readyz'), real.readyz()),
      serverCertificate: () => (called.push('serverCertificate'), real.serverCertificate()),
      listNodes: () => (called.push('listNodes'), real.listNodes()),
      getObject: (p) => (called.push('getObject'), real.getObject(p)),
      listObjects: (p) => (called.push('listObjects'), real.listObjects(p)),
    };
    const now = new Date(certNotAfter(pki.admin.certPem).getTime() - 30.5 * 24 * 3600_000);
    const status = await gatherClusterStatus(counting, { plan, pki, now });
    expect(called.sort()).toEqual(['readyz', 'serverCertificate']);
    expect(status.checkedAt).toBe(now.toISOString());
    expect(status.api).toEqual({
      ready: false,
      reachable: false,
      httpStatus: null,
      failingChecks: [],
      error: `${url}: connection refused (ECONNREFUSED)`,
      servingCertificate: null,
      servingCertificateError: `${url}: connection refused (ECONNREFUSED)`,
    });
    expect(status.nodes).toEqual({
      listed: false,
      error: 'not read: the API server is unreachable',
      items: [],
    });
    expect(status.housekeeper.state).toBe('unknown');
    expect(status.certificates).toHaveLength(4);
    const admin = status.certificates[3]!;
    expect(admin).toMatchObject({ name: 'admin client certificate', daysLeft: 30 });
    expect(admin.notAfter).toBe(certNotAfter(pki.admin.certPem).toISOString());
    expect(status.warnings).toEqual([
      `the admin client certificate expires in 30 days (${admin.notAfter.slice(0, 10)})`,
    ]);
    expect(status.healthy).toBe(false);

    // Two months later, it has expired.
    const later = new Date(now.getTime() + 60 * 24 * 3600_000);
    const expired = await gatherClusterStatus(counting, { plan, pki, now: later });
    expect(expired.warnings).toEqual([
      `the admin client certificate expired on ${admin.notAfter.slice(0, 10)}`,
    ]);
    expect(expired.certificates[3]!.daysLeft).toBe(-30);
  });
});
