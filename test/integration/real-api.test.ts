// The real-API harness itself: a control plane from NKD_KUBE_BIN running on an nkd dry-run's PKI is
// reached by nkd's own admin kubeconfig under the planned endpoint name, trusts nkd's CAs and keys,
// and runs pods on kwok nodes. Every other real-API test builds on these facts.
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clusterClientFromPki } from '../../src/cluster/client.js';
import { loadPki } from '../../src/pki/index.js';
import type { ClusterPki } from '../../src/pki/types.js';
import { describeReal } from '../helpers/real.js';
import {
  DRY_RUN_ENDPOINT,
  dryRunState,
  realApiRequirement,
  startRealCluster,
  type RealCluster,
} from '../helpers/real-api.js';

async function eventually(check: () => Promise<unknown>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describeReal('real control plane on an nkd dry-run PKI', realApiRequirement(), () => {
  let cluster: RealCluster;
  let state: Awaited<ReturnType<typeof dryRunState>>;
  let pki: ClusterPki;

  beforeAll(async () => {
    state = await dryRunState();
    pki = await loadPki(join(state.clusterDir, 'pki'));
    cluster = await startRealCluster({ clusterDir: state.clusterDir });
  }, 180_000);
  afterAll(async () => {
    await cluster?.stop();
    state?.remove();
  });

  it("nkd's admin.conf reaches it under the planned endpoint name, as nkd-admin in system:masters", async () => {
    const whoami = JSON.parse(
      await cluster.kubectl([
        '--kubeconfig',
        join(state.clusterDir, 'admin.conf'),
        '--server',
        cluster.server,
        '--tls-server-name',
        DRY_RUN_ENDPOINT,
        'auth',
        'whoami',
        '-o',
        'json',
      ]),
    ) as { status: { userInfo: { username: string; groups: string[] } } };
    expect(whoami.status.userInfo.username).toBe('nkd-admin');
    expect(whoami.status.userInfo.groups).toContain('system:masters');

    const client = clusterClientFromPki(pki, cluster.server, { tlsServerName: DRY_RUN_ENDPOINT });
    expect(await client.readyz()).toMatchObject({ ok: true, status: 200 });
    const cert = await client.serverCertificate();
    expect(cert.issuer).toContain('CN=kubernetes');
    expect(cert.subjectAltNames).toEqual(expect.arrayContaining([`DNS:${DRY_RUN_ENDPOINT}`]));
    client.close();
    // The server's audit log holds nkd's own requests (the harness's kubectl is not nkd-admin).
    const requests = await cluster.requests();
    expect(requests.find((r) => r.requestURI === '/readyz')).toMatchObject({
      verb: 'get',
      user: { username: 'nkd-admin' },
      responseStatus: { code: 200 },
    });
  });

  it("publishes nkd's cluster CA as kube-root-ca.crt and signs service-account tokens with nkd's key", async () => {
    // The controllers publish and create these shortly after they start.
    await eventually(() => cluster.api('GET', '/api/v1/namespaces/default/serviceaccounts/default'));
    await eventually(() => cluster.api('GET', '/api/v1/namespaces/default/configmaps/kube-root-ca.crt'));
    const published = await cluster.kubectl([
      'get',
      'configmap',
      'kube-root-ca.crt',
      '-n',
      'default',
      '-o',
      'jsonpath={.data.ca\\.crt}',
    ]);
    expect(published.trim()).toBe(pki.clusterCa.certPem.trim());

    const token = (await cluster.kubectl(['create', 'token', 'default', '-n', 'default'])).trim();
    const [header, payload, signature] = token.split('.');
    const signed = verify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      createPublicKey(readFileSync(join(state.clusterDir, 'pki', 'sa.pub'))),
      Buffer.from(signature!, 'base64url'),
    );
    expect(signed).toBe(true);
  });

  it('turns kwok nodes Ready and runs a Deployment on them (scheduler, controllers, kwok)', async () => {
    await cluster.addNodes([{ name: 'demo-worker-1' }, { name: 'demo-worker-2' }]);
    await cluster.kubectl([
      'wait',
      '--for=condition=Ready',
      'node/demo-worker-1',
      'node/demo-worker-2',
      '--timeout=60s',
    ]);
    await cluster.kubectl(['create', 'deployment', 'web', '--image=registry.example/web:1', '--replicas=2']);
    await cluster.kubectl(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    const pods = JSON.parse(await cluster.kubectl(['get', 'pods', '-l', 'app=web', '-o', 'json'])) as {
      items: { spec: { nodeName: string }; status: { phase: string } }[];
    };
    expect(pods.items.map((p) => p.status.phase)).toEqual(['Running', 'Running']);
    for (const p of pods.items) expect(p.spec.nodeName).toMatch(/^demo-worker-[12]$/);
  });
});
