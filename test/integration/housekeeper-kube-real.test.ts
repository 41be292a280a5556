// HousekeeperKube (the operator's and agent's client) against the real kube-apiserver and controllers
// of test/helpers/real-api.ts: Lease optimistic concurrency (leader election), the Update CRD from
// templates/housekeeper/crd.yaml with its status subresource, and eviction under a PodDisruptionBudget
// kept by the real disruption controller. Authenticated by a service-account token the real server
// issued (as in a pod) and by nkd's admin certificate.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { housekeeperKube, type KubeAuth } from '../../src/housekeeper/kube-client.js';
import { Operator } from '../../src/housekeeper/operator.js';
import { OS_IMAGE_ANNOTATION, type KubeStatusError, type UpdateObject } from '../../src/housekeeper/types.js';
import { loadPki } from '../../src/pki/index.js';
import type { ClusterPki } from '../../src/pki/types.js';
import { describeReal } from '../helpers/real.js';
import { createUpdateCrd, eventually } from '../helpers/real-housekeeper.js';
import { dryRunState, realApiRequirement, startRealCluster, type RealCluster } from '../helpers/real-api.js';

const NS = 'housekeeper-system';
const UPDATES = `/apis/housekeeper.io/v1alpha1/namespaces/${NS}/updates`;

const rejection = (p: Promise<unknown>): Promise<KubeStatusError> =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as KubeStatusError,
  );

describeReal('HousekeeperKube against the real API server', realApiRequirement(), () => {
  let cluster: RealCluster;
  let state: Awaited<ReturnType<typeof dryRunState>>;
  let pki: ClusterPki;
  let token: string;
  const closers: (() => void)[] = [];

  beforeAll(async () => {
    state = await dryRunState();
    pki = await loadPki(join(state.clusterDir, 'pki'));
    cluster = await startRealCluster({ clusterDir: state.clusterDir });
    await cluster.api('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    await cluster.api('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, { metadata: { name: 'hk-test' } });
    await cluster.api('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      metadata: { name: 'hk-test' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'hk-test', namespace: NS }],
    });
    const request = (await cluster.api('POST', `/api/v1/namespaces/${NS}/serviceaccounts/hk-test/token`, {
      spec: { expirationSeconds: 3600 },
    })) as { status: { token: string } };
    token = request.status.token;
    await createUpdateCrd(cluster);
    await cluster.addNodes([{ name: 'n1' }, { name: 'n2' }, { name: 'n3' }]);
    await cluster.nodesReady(['n1', 'n2', 'n3']);
  }, 180_000);
  afterEach(() => {
    while (closers.length > 0) closers.pop()!();
  });
  afterAll(async () => {
    await cluster?.stop();
    state?.remove();
  });

  const AUTHS: [string, () => KubeAuth, string][] = [
    ['a service-account token', () => ({ bearerToken: () => token }), `system:serviceaccount:${NS}:hk-test`],
    [
      'a client certificate',
      () => ({ clientCertPem: pki.admin.certPem, clientKeyPem: pki.admin.keyPem }),
      'nkd-admin',
    ],
  ];
  const kube = (auth: KubeAuth) => {
    const k = housekeeperKube({
      server: cluster.server,
      caPem: pki.clusterCa.certPem,
      auth,
      tlsServerName: 'kubernetes.default.svc',
    });
    closers.push(() => k.close());
    return k;
  };

  it.each(AUTHS)(
    'leases by %s: get, create (409 when it exists), update (409 when stale)',
    async (how, auth, user) => {
      const k = kube(auth());
      const name = `housekeeper-operator-${how.split(' ')[1]}`;
      expect(await k.getLease(NS, name)).toBeUndefined();
      const spec = {
        holderIdentity: 'op-1',
        leaseDurationSeconds: 15,
        renewTime: '2026-01-01T00:00:00.000000Z',
      };
      const lease = await k.createLease(NS, { metadata: { name }, spec });
      expect(lease).toMatchObject({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', spec });
      const again = await rejection(k.createLease(NS, { metadata: { name }, spec }));
      expect(again.status).toBe(409);
      expect(again.message).toContain(`leases.coordination.k8s.io "${name}" already exists`);
      const renewed = await k.updateLease(NS, {
        ...lease,
        spec: { ...spec, renewTime: '2026-01-01T00:00:10.000000Z' },
      });
      expect(renewed.spec.renewTime).toBe('2026-01-01T00:00:10.000000Z');
      const stale = await rejection(
        k.updateLease(NS, { ...lease, spec: { ...spec, holderIdentity: 'op-2' } }),
      );
      expect(stale.status).toBe(409);
      expect(stale.message).toContain('the object has been modified');
      expect((await k.getLease(NS, name))!.spec.holderIdentity).toBe('op-1');
      // The server saw these writes from that identity.
      const writes = (await cluster.requests()).filter(
        (e) => e.objectRef?.resource === 'leases' && e.objectRef.name === name,
      );
      expect(new Set(writes.map((e) => e.user.username))).toEqual(new Set([user]));
    },
  );

  it('nodes: get (undefined when missing), list paged, merge patches that add and (null) delete', async () => {
    const k = housekeeperKube({
      server: cluster.server,
      caPem: pki.clusterCa.certPem,
      auth: { bearerToken: () => token },
      tlsServerName: 'kubernetes.default.svc',
      listPageSize: 2,
    });
    closers.push(() => k.close());
    expect((await k.getNode('n2'))?.metadata.name).toBe('n2');
    expect(await k.getNode('nope')).toBeUndefined();
    const before = (await cluster.requests()).length;
    expect((await k.listNodes()).map((n) => n.metadata.name)).toEqual(
      expect.arrayContaining(['n1', 'n2', 'n3']),
    );
    const lists = (await cluster.requests())
      .slice(before)
      .filter((e) => e.verb === 'list' && e.objectRef?.resource === 'nodes');
    // Pages of 2: at least two requests, every one after the first carrying the server's continue token.
    expect(lists.length).toBeGreaterThanOrEqual(2);
    expect(lists.every((e) => e.requestURI.includes('limit=2'))).toBe(true);
    expect(lists.slice(1).every((e) => e.requestURI.includes('continue='))).toBe(true);

    const patched = await k.patchNode('n1', {
      metadata: { annotations: { 'example.test/target': '{"key":"a"}', keep: 'me' }, labels: { pool: 'a' } },
      spec: { unschedulable: true },
    });
    expect(patched.metadata.annotations).toMatchObject({ 'example.test/target': '{"key":"a"}', keep: 'me' });
    expect(patched.spec?.unschedulable).toBe(true);
    expect(patched.metadata.labels).toMatchObject({ pool: 'a' });
    // null deletes (RFC 7386). MergePatch<NodeObject> does not admit null below an optional field.
    const uncordon = {
      metadata: { annotations: { 'example.test/target': null } },
      spec: { unschedulable: null },
    } as unknown as Parameters<typeof k.patchNode>[1];
    const uncordoned = await k.patchNode('n1', uncordon);
    expect(uncordoned.metadata.annotations?.['example.test/target']).toBeUndefined();
    expect(uncordoned.metadata.annotations?.keep).toBe('me');
    expect(uncordoned.spec?.unschedulable).toBeUndefined();
    const missing = await rejection(k.patchNode('nope', { spec: { unschedulable: true } }));
    expect([missing.status, missing.message]).toEqual([
      404,
      'HTTP 404 from PATCH /api/v1/nodes/nope: nodes "nope" not found',
    ]);
  });

  it('401 for a token the server did not issue, with no certificate hint', async () => {
    const err = await rejection(kube({ bearerToken: () => 'stolen' }).listNodes());
    expect([err.status, err.message]).toEqual([401, 'HTTP 401 from GET /api/v1/nodes: Unauthorized']);
  });

  it('updates: the real status subresource drops a created status, /status replaces it, spec and generation stay', async () => {
    const created = (await cluster.api('POST', UPDATES, {
      apiVersion: 'housekeeper.io/v1alpha1',
      kind: 'Update',
      metadata: { name: 'to-1.37' },
      spec: { kubeVersion: 'v1.37.2' },
      status: { phase: 'Completed' },
    })) as UpdateObject;
    expect(created.status).toBeUndefined();
    const k = kube(AUTHS[0]![1]());
    expect((await k.listUpdates(NS)).map((u) => u.metadata.name)).toEqual(['to-1.37']);
    expect(await k.getUpdate(NS, 'nope')).toBeUndefined();
    await k.patchUpdateStatus(NS, 'to-1.37', { phase: 'Progressing', startedAt: '2026-12-07T08:00:00Z' });
    const done = await k.patchUpdateStatus(NS, 'to-1.37', {
      phase: 'Completed',
      nodes: [],
      observedGeneration: 1,
    });
    expect(done.status).toMatchObject({ phase: 'Completed', observedGeneration: 1 });
    // The real server also filled in the CRD schema's defaults (the fake never did).
    expect(done.spec).toMatchObject({ kubeVersion: 'v1.37.2', drainTimeoutSeconds: 300 });
    expect(done.metadata.generation).toBe(1);
    expect((await rejection(k.patchUpdateStatus(NS, 'nope', {}))).status).toBe(404);
  });

  it('eviction is refused (429) while the real disruption controller says a budget allows none', async () => {
    const k = kube(AUTHS[1]![1]());
    await cluster.kubectl(['create', 'namespace', 'shop']);
    await cluster.kubectl([
      'create',
      'deployment',
      'web',
      '-n',
      'shop',
      '--image=registry.example/web:1',
      '--replicas=2',
    ]);
    await cluster.kubectl([
      'create',
      'poddisruptionbudget',
      'web',
      '-n',
      'shop',
      '--selector=app=web',
      '--min-available=2',
    ]);
    await cluster.kubectl(['rollout', 'status', 'deployment/web', '-n', 'shop', '--timeout=60s']);
    const [budget] = await eventually(async () => {
      const budgets = await k.listPodDisruptionBudgets('shop');
      return budgets[0]?.status?.currentHealthy === 2 ? budgets : undefined;
    });
    expect(budget!.status).toMatchObject({ disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2 });
    const pods = await k.listPods({ namespace: 'shop' });
    expect(pods).toHaveLength(2);
    const blocked = await rejection(k.evictPod('shop', pods[0]!.metadata.name));
    expect(blocked.status).toBe(429);
    expect(blocked.message).toMatch(/disruption budget/);

    // A third replica: the controller allows one disruption, the eviction goes through.
    await cluster.kubectl(['scale', 'deployment/web', '-n', 'shop', '--replicas=3']);
    await eventually(async () => {
      const [b] = await k.listPodDisruptionBudgets('shop');
      return (b?.status?.disruptionsAllowed ?? 0) >= 1 ? b : undefined;
    });
    await k.evictPod('shop', pods[0]!.metadata.name);
    expect((await rejection(k.evictPod('shop', 'no-such-pod'))).status).toBe(404);
  });

  it('an idle operator reads only the Updates: its cost per pass does not grow with the node count', async () => {
    // A namespace of its own, so the Updates of the other tests are not this operator's.
    const ns = 'hk-idle';
    const image = 'hub.example/nestos:now';
    await cluster.api('POST', '/api/v1/namespaces', { metadata: { name: ns } });
    const atTarget = (name: string) => ({ name, annotations: { [OS_IMAGE_ANNOTATION]: image } });
    await cluster.addNodes(['n1', 'n2', 'n3'].map(atTarget));
    const updates = `/apis/housekeeper.io/v1alpha1/namespaces/${ns}/updates`;
    await cluster.api('POST', updates, {
      apiVersion: 'housekeeper.io/v1alpha1',
      kind: 'Update',
      metadata: { name: 'os-now' },
      spec: { osImageURL: image },
    });
    const operator = new Operator({
      kube: kube({ bearerToken: () => token }),
      namespace: ns,
      identity: 'op',
    });
    const user = `system:serviceaccount:${NS}:hk-test`;
    const pass = async (): Promise<string[]> => {
      const before = (await cluster.requests()).length;
      await operator.reconcileOnce();
      return (await cluster.requests())
        .slice(before)
        .filter((e) => e.user.username === user)
        .map((e) => `${e.verb} ${e.requestURI.split('?')[0]}`);
    };
    // Every node already runs the image: the first pass lists what it plans from and completes the Update.
    expect(await pass()).toEqual(
      expect.arrayContaining(['list /api/v1/nodes', 'list /api/v1/pods', `patch ${updates}/os-now/status`]),
    );
    const done = (await cluster.api('GET', `${updates}/os-now`)) as UpdateObject;
    expect(done.status?.phase).toBe('Completed');
    // Idle now: one list of the Updates per pass, with 3 nodes and with 43.
    expect(await pass()).toEqual([`list ${updates}`]);
    await cluster.addNodes(Array.from({ length: 40 }, (_, i) => atTarget(`idle-${i + 1}`)));
    expect(await pass()).toEqual([`list ${updates}`]);
  });
});
