// The cluster client and waits against an in-process HTTPS fake of the Kubernetes API that uses the
// cluster's generated CA and admin certificate. Loopback only; ms-scale timeouts.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { generatePki, type ClusterPki } from '../../src/pki/index.js';
import {
  clusterClient,
  clusterClientFromPki,
  KubeApiError,
  type ClusterClient,
  type KubeObject,
} from '../../src/cluster/client.js';
import { WaitTimeoutError, type WaitEvent } from '../../src/cluster/wait.js';
import { waitForApiServer, waitForNodesReady, type NodeWaitEvent } from '../../src/cluster/waits.js';
import {
  generateOtherCa,
  issueApiServerCert,
  startFakeKubeApi,
  startFakeKubeApiWithForeignCa,
  type FakeKubeApi,
} from '../helpers/fake-kube-api.js';

let pki: ClusterPki;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  pki = await generatePki();
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function fake(options: Partial<Parameters<typeof startFakeKubeApi>[0]> = {}): Promise<FakeKubeApi> {
  const api = await startFakeKubeApi({ pki, ...options });
  cleanups.push(() => api.stop());
  return api;
}

function client(
  url: string,
  extra: { tlsServerName?: string; requestTimeoutMs?: number } = {},
): ClusterClient {
  const c = clusterClientFromPki(pki, url, extra);
  cleanups.push(() => c.close());
  return c;
}

const fast = { initialDelayMs: 10, maxDelayMs: 40 };

describe('waitForApiServer', () => {
  it('returns once /readyz turns ready, reporting the failing checks only when they change', async () => {
    const api = await fake();
    const lines: string[] = [];
    const events: WaitEvent[] = [];
    const started = Date.now();
    // A delay, and at least two failed probes even on a machine so loaded that one probe takes 150 ms.
    api.setReadyAfter({ ms: 150, calls: 2 });
    await waitForApiServer(client(api.url), {
      timeoutMs: 5_000,
      ...fast,
      onProgress: (line, event) => {
        lines.push(line);
        events.push(event);
      },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(api.readyzCalls()).toBeGreaterThanOrEqual(3);
    expect(lines[0]).toMatch(
      new RegExp(
        `^waiting up to 5s \\(until \\d\\d:\\d\\d:\\d\\d\\) for the API server at ${api.url} to be ready$`,
      ),
    );
    expect(events.map((e) => e.type)).toEqual(['start', 'status', 'done']);
    expect(lines[1]).toContain(
      '/readyz answered HTTP 500; failing checks: etcd, poststarthook/rbac/bootstrap-roles',
    );
    // Every request authenticated as the deployer's admin.
    expect(new Set(api.requests.map((r) => `${r.client.cn}/${r.client.o}`))).toEqual(
      new Set(['nkd-admin/system:masters']),
    );
  });

  it('ends at its deadline with WaitTimeout and the last /readyz answer as diagnostics', async () => {
    const api = await fake();
    api.setReady(false);
    const started = Date.now();
    const err = (await waitForApiServer(client(api.url), { timeoutMs: 200, ...fast }).catch(
      (e: unknown) => e,
    )) as WaitTimeoutError;
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(err.exitCode).toBe(ExitCode.WaitTimeout);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err.message).toMatch(
      /^timed out after 200ms waiting for the API server at https:\/\/127\.0\.0\.1:\d+ to be ready \(deadline \d\d:\d\d:\d\d\); last status: \/readyz answered HTTP 500; failing checks: etcd/,
    );
    expect(err.details[0]).toBe(
      `last answer from ${api.url}: /readyz answered HTTP 500; failing checks: etcd, poststarthook/rbac/bootstrap-roles`,
    );
  });

  it('keeps waiting through connection resets and names the last API error', async () => {
    const api = await fake();
    api.failPath('/readyz', 'reset');
    const err = (await waitForApiServer(client(api.url), { timeoutMs: 150, ...fast }).catch(
      (e: unknown) => e,
    )) as WaitTimeoutError;
    expect(err.exitCode).toBe(ExitCode.WaitTimeout);
    expect(err.details[0]).toBe(`${api.url} never answered /readyz`);
    expect(err.details[1]).toMatch(
      /^last API error \(\d\d:\d\d:\d\d\): https:\/\/127\.0\.0\.1:\d+: connection (reset|closed)/,
    );
  });
});

describe('waitForNodesReady', () => {
  it('returns when the nodes turn Ready one by one, reporting each once', async () => {
    const api = await fake({ nodes: [{ name: 'master-0', ready: false, roles: ['control-plane'] }] });
    // The cluster changes after each node list, so the test follows the polling, not the wall clock.
    const steps: Record<number, () => void> = {
      1: () => api.setNodeReady('master-0', true),
      2: () => api.addNode({ name: 'worker-0', ready: false }),
      3: () => api.setNodeReady('worker-0', true),
      4: () => api.addNode({ name: 'worker-1', ready: true, roles: ['worker'] }),
    };
    // Called before the answer: the change made on list N is seen by list N+1.
    let lists = 0;
    api.onRequest = (r) => {
      if (r.path !== '/api/v1/nodes') return;
      steps[lists]?.();
      lists++;
    };
    const events: NodeWaitEvent[] = [];
    const nodes = await waitForNodesReady(client(api.url), ['master-0', 'worker-0', 'worker-1'], {
      timeoutMs: 5_000,
      ...fast,
      onProgress: (_line, event) => events.push(event),
    });
    expect(nodes.map((n) => [n.name, n.ready, n.roles])).toEqual([
      ['master-0', true, ['control-plane']],
      ['worker-0', true, []],
      ['worker-1', true, ['worker']],
    ]);
    expect(nodes[0]).toMatchObject({
      kubeletVersion: 'v1.31.1',
      osImage: 'NestOS For Container 24.03-LTS',
      readyStatus: 'True',
    });
    const ready = events
      .filter((e) => e.type === 'node-ready')
      .map((e) => (e as { node: { name: string } }).node.name);
    expect(ready).toEqual(['master-0', 'worker-0', 'worker-1']);
    const statuses = events.filter((e) => e.type === 'status').map((e) => (e as { status: string }).status);
    expect(statuses[0]).toBe('0/3 Ready; not registered: worker-0, worker-1; NotReady: master-0');
    for (let i = 1; i < statuses.length; i++) expect(statuses[i]).not.toBe(statuses[i - 1]);
  });

  it('ends at its deadline with WaitTimeout naming the missing and NotReady nodes and the last API error', async () => {
    const api = await fake({
      nodes: [
        { name: 'master-0', ready: true, roles: ['control-plane'] },
        { name: 'master-1', ready: false, reason: 'KubeletNotReady', message: 'cni plugin not initialized' },
      ],
    });
    api.failPath('/api/v1/nodes', { status: 500, message: 'etcdserver: leader changed' });
    api.onRequest = (r, n) => {
      if (r.path === '/api/v1/nodes' && n === 2) api.clearFailure('/api/v1/nodes'); // from the 3rd list on
    };
    const started = Date.now();
    const err = (await waitForNodesReady(client(api.url), ['master-0', 'master-1', 'worker-0'], {
      timeoutMs: 250,
      ...fast,
      diagnose: () => ['worker-0 never fetched its Ignition config'],
    }).catch((e: unknown) => e)) as WaitTimeoutError;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(err.exitCode).toBe(7);
    expect(err.message).toContain('last status: 1/3 Ready; not registered: worker-0; NotReady: master-1');
    expect(err.details).toEqual([
      'Ready: master-0',
      'never registered: worker-0',
      'registered but NotReady: master-1 (Ready=False; KubeletNotReady: cni plugin not initialized)',
      expect.stringMatching(
        /^last API error \(\d\d:\d\d:\d\d\): HTTP 500 from GET \/api\/v1\/nodes: etcdserver: leader changed$/,
      ),
      'worker-0 never fetched its Ignition config',
    ]);
  });
});

describe('TLS trust', () => {
  it('rejects an API server whose certificate comes from another CA, saying so', async () => {
    const api = await startFakeKubeApiWithForeignCa({ pki });
    cleanups.push(() => api.stop());
    const c = client(api.url);
    const err = (await c.readyz().catch((e: unknown) => e)) as KubeApiError;
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err.kind).toBe('certificate');
    expect(err.message).toMatch(
      /^certificate verification failed: https:\/\/127\.0\.0\.1:\d+ presented a certificate not issued by the cluster CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate\)$/,
    );
    expect(err.message).not.toContain('\n');
    // apply() (discovery, then PATCH): same trust, same verdict.
    const applyErr = (await c
      .apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }])
      .catch((e: unknown) => e)) as KubeApiError;
    expect(applyErr.kind).toBe('certificate');
    expect(applyErr.message).toMatch(/^apply Namespace x: certificate verification failed: /);
    expect(applyErr.message).not.toContain('\n');
    // A wait against it times out with that error as the last status.
    const waitErr = (await waitForApiServer(c, { timeoutMs: 60, ...fast }).catch(
      (e: unknown) => e,
    )) as WaitTimeoutError;
    expect(waitErr.exitCode).toBe(ExitCode.WaitTimeout);
    expect(waitErr.message).toContain('last status: certificate verification failed');
    // Nothing got past the handshake.
    expect(api.requests).toEqual([]);
  });

  it('keeps verifying with NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment', async () => {
    const api = await startFakeKubeApiWithForeignCa({ pki });
    cleanups.push(() => api.stop());
    const c = client(api.url);
    const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    const savedEmit = process.emitWarning;
    process.emitWarning = () => {}; // Node warns once that the variable makes TLS insecure
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    try {
      await expect(c.readyz()).rejects.toMatchObject({ kind: 'certificate' });
      await expect(c.apply([MANIFESTS[0]!])).rejects.toMatchObject({ kind: 'certificate' });
    } finally {
      if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved;
      process.emitWarning = savedEmit;
    }
    expect(api.requests).toEqual([]);
  });

  it('verifies the host name: a certificate without the address is rejected unless tlsServerName names it', async () => {
    const api = await fake({ servingNames: ['kubernetes', 'kubernetes.default.svc'] });
    const err = (await client(api.url)
      .readyz()
      .catch((e: unknown) => e)) as KubeApiError;
    expect(err.kind).toBe('certificate');
    expect(err.message).toContain('does not cover its host name');
    expect(err.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    const ok = await client(api.url, { tlsServerName: 'kubernetes' }).readyz();
    expect(ok).toEqual({ ok: true, status: 200, body: 'ok' });
  });

  it('verifies against tlsServerName, a DNS name (sent as SNI) or an IP literal (not sent: no DEP0123)', async () => {
    const api = await fake({ servingNames: ['api.demo.test', '10.1.2.3'] });
    const warnings: string[] = [];
    const savedEmit = process.emitWarning;
    process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
      const code = typeof rest[0] === 'object' ? (rest[0] as { code?: string }).code : rest[1];
      warnings.push(`${String(code)} ${String(warning)}`);
    }) as typeof process.emitWarning;
    try {
      // The URL's host, 127.0.0.1, is not in the certificate: only the name given decides.
      expect(
        (await client(api.url)
          .readyz()
          .catch((e: unknown) => e)) as KubeApiError,
      ).toMatchObject({
        kind: 'certificate',
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      });
      const byName = client(api.url, { tlsServerName: 'api.demo.test' });
      expect(await byName.readyz()).toEqual({ ok: true, status: 200, body: 'ok' });
      expect(api.requests.at(-1)!.sni).toBe('api.demo.test');

      const before = api.requests.length;
      const byIp = client(api.url, { tlsServerName: '10.1.2.3' });
      expect(await byIp.readyz()).toEqual({ ok: true, status: 200, body: 'ok' });
      expect(await byIp.listNodes()).toEqual([]);
      expect((await byIp.serverCertificate()).subjectAltNames).toEqual([
        'DNS:api.demo.test',
        'IP Address:10.1.2.3',
      ]);
      // apply() goes through the same connection.
      await byIp.apply([MANIFESTS[0]!]);
      const viaIp = api.requests.slice(before);
      expect(viaIp.length).toBeGreaterThanOrEqual(4);
      expect(new Set(viaIp.map((r) => r.sni))).toEqual(new Set([undefined]));

      for (const c of [
        client(api.url, { tlsServerName: 'other.test' }),
        client(api.url, { tlsServerName: '10.9.9.9' }),
      ]) {
        const err = (await c.readyz().catch((e: unknown) => e)) as KubeApiError;
        expect(err).toBeInstanceOf(KubeApiError);
        expect(err.kind).toBe('certificate');
        expect(err.message).toContain('does not cover its host name');
        await expect(c.serverCertificate()).rejects.toMatchObject({ kind: 'certificate' });
      }
    } finally {
      process.emitWarning = savedEmit;
    }
    expect(warnings.filter((w) => w.includes('DEP0123'))).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('serverCertificate: the serving certificate as presented, verified like every request', async () => {
    const api = await fake();
    const cert = await client(api.url).serverCertificate();
    expect(cert.subjectAltNames).toEqual(['IP Address:127.0.0.1', 'DNS:localhost']);
    expect(cert.issuer).toBe('CN=kubernetes');
    expect(Date.parse(cert.notAfter)).toBeGreaterThan(Date.now());
    expect(Date.parse(cert.notBefore)).toBeLessThan(Date.now());
    const foreign = await startFakeKubeApiWithForeignCa({ pki });
    cleanups.push(() => foreign.stop());
    const err = (await client(foreign.url)
      .serverCertificate()
      .catch((e: unknown) => e)) as KubeApiError;
    expect(err.kind).toBe('certificate');
    expect(err.message).toMatch(/^certificate verification failed: .* not issued by the cluster CA/);
    const url = api.url;
    await api.stop();
    await expect(client(url).serverCertificate()).rejects.toMatchObject({
      kind: 'connection',
      message: `${url}: connection refused (ECONNREFUSED)`,
    });
  });

  it('a client certificate from another CA: refused in the handshake, or unauthenticated like kube-apiserver does', async () => {
    const stranger = await issueApiServerCert(await generateOtherCa(), ['nkd-admin']);
    const strangerClient = (url: string): ClusterClient => {
      const c = clusterClient({
        server: url,
        caPem: pki.clusterCa.certPem,
        clientCertPem: stranger.certPem,
        clientKeyPem: stranger.keyPem,
      });
      cleanups.push(() => c.close());
      return c;
    };
    // The fake's default: TLS drops the connection (TLS 1.3: a reset right after the handshake).
    const strict = await fake();
    const reset = (await strangerClient(strict.url)
      .readyz()
      .catch((e: unknown) => e)) as KubeApiError;
    expect(reset).toBeInstanceOf(KubeApiError);
    expect(reset.kind).toBe('connection');
    expect(reset.message).not.toContain('\n');
    expect(strict.requests).toEqual([]);
    // kube-apiserver: the handshake passes, the request is anonymous: /readyz answers, the rest is 401.
    const lenient = await fake({ clientAuth: 'apiserver' });
    const c = strangerClient(lenient.url);
    expect((await c.readyz()).ok).toBe(true);
    const unauthorized = (await c.listNodes().catch((e: unknown) => e)) as KubeApiError;
    expect(unauthorized.statusCode).toBe(401);
    expect(unauthorized.message).toBe(
      "HTTP 401 from GET /api/v1/nodes: Unauthorized (the API server did not accept nkd's client certificate: is it issued by this cluster's CA?)",
    );
    const applyErr = (await c.apply([MANIFESTS[0]!]).catch((e: unknown) => e)) as KubeApiError;
    expect(applyErr.message).toMatch(
      /^apply Namespace housekeeper-system: HTTP 401 from discovery of v1: Unauthorized \(the API server did not accept/,
    );
  });

  it('reports a refused connection in one line', async () => {
    const api = await fake();
    const url = api.url;
    await api.stop();
    const err = (await client(url, { requestTimeoutMs: 2_000 })
      .readyz()
      .catch((e: unknown) => e)) as KubeApiError;
    expect(err.kind).toBe('connection');
    expect(err.message).toBe(`${url}: connection refused (ECONNREFUSED)`);
  });
});

const MANIFESTS: KubeObject[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'housekeeper-system' } },
  {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'updates.housekeeper.io' },
    spec: {
      group: 'housekeeper.io',
      names: { kind: 'Update', listKind: 'UpdateList', plural: 'updates', singular: 'update' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  'x-kubernetes-preserve-unknown-fields': true,
                  properties: {
                    maxUnavailable: { type: 'integer', default: 2 },
                    mode: { type: 'string', enum: ['os', 'kubernetes'] },
                  },
                },
              },
            },
          },
        },
      ],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'housekeeper', namespace: 'housekeeper-system' },
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'housekeeper-operator' },
    rules: [{ apiGroups: ['housekeeper.io'], resources: ['updates'], verbs: ['get', 'list', 'watch'] }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'housekeeper-operator' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'housekeeper-operator' },
    subjects: [{ kind: 'ServiceAccount', name: 'housekeeper', namespace: 'housekeeper-system' }],
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'housekeeper-operator', namespace: 'housekeeper-system' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'housekeeper-operator' } },
      template: {
        metadata: { labels: { app: 'housekeeper-operator' } },
        spec: { containers: [{ name: 'operator', image: 'hub.oepkgs.net/nestos/housekeeper/operator:0.1' }] },
      },
    },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'housekeeper-daemon', namespace: 'housekeeper-system' },
    spec: {
      selector: { matchLabels: { app: 'housekeeper-daemon' } },
      template: {
        metadata: { labels: { app: 'housekeeper-daemon' } },
        spec: {
          hostPID: true,
          containers: [
            {
              name: 'daemon',
              image: 'hub.oepkgs.net/nestos/housekeeper/daemon:0.1',
              securityContext: { privileged: true },
            },
          ],
        },
      },
    },
  },
  // A ConfigMap without a namespace lands in "default", as with kubectl.
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nkd-info' }, data: { cluster: 'test' } },
];

describe('apply (server-side apply: discovery, then PATCH application/apply-patch+yaml)', () => {
  it('applies a Namespace, CRD, RBAC, Deployment and DaemonSet as server-side apply with fieldManager nkd', async () => {
    const api = await fake();
    const input = structuredClone(MANIFESTS);
    const applied = await client(api.url).apply(input);
    expect(input).toEqual(MANIFESTS); // the caller's objects are not modified
    expect(applied.map((a) => `${a.kind} ${a.namespace ?? '-'}/${a.name}`)).toEqual([
      'Namespace -/housekeeper-system',
      'CustomResourceDefinition -/updates.housekeeper.io',
      'ServiceAccount housekeeper-system/housekeeper',
      'ClusterRole -/housekeeper-operator',
      'ClusterRoleBinding -/housekeeper-operator',
      'Deployment housekeeper-system/housekeeper-operator',
      'DaemonSet housekeeper-system/housekeeper-daemon',
      'ConfigMap default/nkd-info',
    ]);
    expect(api.applied.map((a) => a.path)).toEqual([
      '/api/v1/namespaces/housekeeper-system',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/updates.housekeeper.io',
      '/api/v1/namespaces/housekeeper-system/serviceaccounts/housekeeper',
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/housekeeper-operator',
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/housekeeper-operator',
      '/apis/apps/v1/namespaces/housekeeper-system/deployments/housekeeper-operator',
      '/apis/apps/v1/namespaces/housekeeper-system/daemonsets/housekeeper-daemon',
      '/api/v1/namespaces/default/configmaps/nkd-info',
    ]);
    for (const a of api.applied) {
      expect(a).toMatchObject({
        method: 'PATCH',
        contentType: 'application/apply-patch+yaml',
        fieldManager: 'nkd',
        force: 'true',
        client: { cn: 'nkd-admin', o: 'system:masters' },
      });
    }
    // Bodies arrive as written, including a CRD schema's `default`, `enum`, `x-kubernetes-*` fields.
    expect(api.applied[1]!.body).toEqual(MANIFESTS[1]);
    expect(api.applied[5]!.body).toEqual(MANIFESTS[5]);
    expect(api.applied[6]!.body).toEqual(MANIFESTS[6]);
    expect(api.applied[7]!.body).toEqual({
      ...MANIFESTS[7],
      metadata: { name: 'nkd-info', namespace: 'default' },
    });
    // Discovery: one GET per group/version, cached for the rest of the apply.
    const discovery = api.requests.filter((r) => r.method === 'GET').map((r) => r.path);
    expect(discovery).toEqual([
      '/api/v1',
      '/apis/apiextensions.k8s.io/v1',
      '/apis/rbac.authorization.k8s.io/v1',
      '/apis/apps/v1',
    ]);
  });

  it('applies a custom resource once its CRD is applied, and re-applies idempotently', async () => {
    const api = await fake();
    const c = client(api.url);
    await c.apply(MANIFESTS.slice(0, 2));
    const update: KubeObject = {
      apiVersion: 'housekeeper.io/v1alpha1',
      kind: 'Update',
      metadata: { name: 'upgrade', namespace: 'housekeeper-system' },
      spec: { osVersion: '24.03', 'x-custom': { a: 1 } },
    };
    await c.apply([update], 'nkd-upgrade');
    await c.apply([update], 'nkd-upgrade');
    const last = api.applied.at(-1)!;
    expect(last.path).toBe('/apis/housekeeper.io/v1alpha1/namespaces/housekeeper-system/updates/upgrade');
    expect(last.fieldManager).toBe('nkd-upgrade');
    expect(last.body).toEqual(update);
    expect(api.objects.get(last.path)).toMatchObject({ spec: update.spec });
  });

  it('fails with one line naming the object and the API message', async () => {
    const api = await fake();
    const c = client(api.url);
    const unknownKind = (await c
      .apply([{ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's', namespace: 'x' } }])
      .catch((e: unknown) => e)) as KubeApiError;
    expect(unknownKind.message).toBe(
      'apply StatefulSet x/s: the API server does not serve apps/v1 StatefulSet (is its CustomResourceDefinition installed and established?)',
    );
    const unknownGroup = (await c
      .apply([{ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }])
      .catch((e: unknown) => e)) as KubeApiError;
    expect(unknownGroup.kind).toBe('http');
    expect(unknownGroup.statusCode).toBe(404);
    expect(unknownGroup.message).toBe(
      'apply Widget w: HTTP 404 from discovery of example.com/v1: the server could not find the requested resource',
    );
    api.failPath('/apis/apps/v1/namespaces/ns/deployments/d', {
      status: 422,
      message: 'Deployment.apps "d" is invalid: spec.selector: Required value',
    });
    const invalid = (await c
      .apply([{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'ns' } }])
      .catch((e: unknown) => e)) as KubeApiError;
    expect(invalid.statusCode).toBe(422);
    expect(invalid.message).toBe(
      'apply Deployment ns/d: HTTP 422 from the API server: Deployment.apps "d" is invalid: spec.selector: Required value',
    );
    const noName = (await c
      .apply([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }])
      .catch((e: unknown) => e)) as Error;
    expect(noName.message).toBe('manifest #1 (ConfigMap) has no metadata.name');
  });
});

describe('getObject and listObjects', () => {
  it('reads an object, undefined on 404, a one-line KubeApiError otherwise', async () => {
    const api = await fake();
    const c = client(api.url);
    await c.apply(MANIFESTS.slice(0, 3));
    const sa = await c.getObject('/api/v1/namespaces/housekeeper-system/serviceaccounts/housekeeper');
    expect(sa).toMatchObject({ kind: 'ServiceAccount', metadata: { name: 'housekeeper', generation: 1 } });
    expect(await c.getObject('/api/v1/namespaces/housekeeper-system/serviceaccounts/nope')).toBeUndefined();
    api.failPath('/api/v1/namespaces/x/configmaps/y', { status: 403, message: 'forbidden: no' });
    const err = (await c
      .getObject('/api/v1/namespaces/x/configmaps/y')
      .catch((e: unknown) => e)) as KubeApiError;
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err.statusCode).toBe(403);
    expect(err.message).toBe('HTTP 403 from GET /api/v1/namespaces/x/configmaps/y: forbidden: no');
  });

  it('lists applied custom resources across namespaces or in one, paged, and undefined without the CRD', async () => {
    const api = await fake();
    const c = client(api.url);
    expect(await c.listObjects('/apis/housekeeper.io/v1alpha1/updates')).toBeUndefined();
    await c.apply(MANIFESTS.slice(0, 2));
    expect(await c.listObjects('/apis/housekeeper.io/v1alpha1/updates')).toEqual([]);
    const updates: KubeObject[] = Array.from({ length: 502 }, (_, i) => ({
      apiVersion: 'housekeeper.io/v1alpha1',
      kind: 'Update',
      metadata: {
        name: `u-${String(i).padStart(3, '0')}`,
        namespace: i === 0 ? 'other' : 'housekeeper-system',
      },
      spec: { kubeVersion: 'v1.31.1' },
    }));
    // Stored directly: 502 applies would take a while and prove nothing more.
    for (const u of updates) {
      const path = `/apis/housekeeper.io/v1alpha1/namespaces/${u.metadata!.namespace}/updates/${u.metadata!.name}`;
      api.objects.set(path, { ...u, status: { phase: 'Pending' } });
    }
    const all = (await c.listObjects('/apis/housekeeper.io/v1alpha1/updates'))!;
    expect(all).toHaveLength(502);
    expect(all[0]).toMatchObject({
      metadata: { namespace: 'housekeeper-system' },
      status: { phase: 'Pending' },
    });
    const lists = api.requests.filter((r) => r.path === '/apis/housekeeper.io/v1alpha1/updates');
    expect(lists.at(-1)!.query).toBe('?limit=500&continue=500');
    const inOther = await c.listObjects('/apis/housekeeper.io/v1alpha1/namespaces/other/updates');
    expect(inOther!.map((u) => (u.metadata as { name: string }).name)).toEqual(['u-000']);
    api.failPath('/apis/housekeeper.io/v1alpha1/updates', { status: 500, message: 'etcd down' });
    await expect(c.listObjects('/apis/housekeeper.io/v1alpha1/updates')).rejects.toMatchObject({
      statusCode: 500,
      message: 'HTTP 500 from GET /apis/housekeeper.io/v1alpha1/updates: etcd down',
    });
  });
});

describe('the fake API simulates the Deployment and DaemonSet controllers', () => {
  const DEPLOYMENT = '/apis/apps/v1/namespaces/housekeeper-system/deployments/housekeeper-operator';
  const DAEMONSET = '/apis/apps/v1/namespaces/housekeeper-system/daemonsets/housekeeper-daemon';

  it('serves applied workloads ready at once by default, DaemonSets wanting one pod per node', async () => {
    const api = await fake({ nodes: [1, 2, 3].map((i) => ({ name: `n${i}`, ready: true })) });
    const c = client(api.url);
    await c.apply(MANIFESTS);
    expect(await c.getObject(DEPLOYMENT)).toMatchObject({
      metadata: { generation: 1 },
      status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
    });
    expect((await c.getObject(DAEMONSET))!.status).toMatchObject({
      observedGeneration: 1,
      desiredNumberScheduled: 3,
      numberAvailable: 3,
      updatedNumberScheduled: 3,
    });
    // Re-applying the same spec keeps the generation; a changed spec bumps it.
    await c.apply([MANIFESTS[5]!]);
    expect(await c.getObject(DEPLOYMENT)).toMatchObject({ metadata: { generation: 1 } });
    const scaled = structuredClone(MANIFESTS[5]!);
    (scaled.spec as { replicas: number }).replicas = 2;
    await c.apply([scaled]);
    expect(await c.getObject(DEPLOYMENT)).toMatchObject({
      metadata: { generation: 2 },
      status: { observedGeneration: 2, availableReplicas: 2 },
    });
    const listed = await c.listObjects('/apis/apps/v1/namespaces/housekeeper-system/daemonsets');
    expect(listed!.map((d) => (d.status as { numberAvailable: number }).numberAvailable)).toEqual([3]);
  });

  it('workloadsReadyAfterMs: Infinity keeps them one pod short until setWorkloadReady', async () => {
    const api = await fake({
      nodes: [1, 2, 3].map((i) => ({ name: `n${i}`, ready: true })),
      workloadsReadyAfterMs: Infinity,
    });
    const c = client(api.url);
    await c.apply(MANIFESTS);
    const deployment = (await c.getObject(DEPLOYMENT))!;
    // Deployment status counters that are 0 are left out, as the API server does.
    expect(deployment.status).not.toHaveProperty('availableReplicas');
    expect(deployment.status).toMatchObject({ observedGeneration: 1, unavailableReplicas: 1 });
    expect((await c.getObject(DAEMONSET))!.status).toMatchObject({
      numberAvailable: 2,
      desiredNumberScheduled: 3,
    });
    api.setWorkloadReady('housekeeper-system', 'DaemonSet', 'housekeeper-daemon', true);
    expect((await c.getObject(DAEMONSET))!.status).toMatchObject({ numberAvailable: 3 });
    api.setWorkloadReady('housekeeper-system', 'DaemonSet', 'housekeeper-daemon', false);
    expect((await c.getObject(DAEMONSET))!.status).toMatchObject({ numberAvailable: 2 });
  });

  it('workloadsReadyAfterMs counts from the last change', async () => {
    const api = await fake({ workloadsReadyAfterMs: 150 });
    const c = client(api.url);
    await c.apply([MANIFESTS[0]!, MANIFESTS[5]!]);
    expect((await c.getObject(DEPLOYMENT))!.status).toMatchObject({ unavailableReplicas: 1 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await c.getObject(DEPLOYMENT))!.status).toMatchObject({ availableReplicas: 1 });
  });
});
