// A whole Housekeeper rollout over a real control plane (test/helpers/real-api.ts: etcd, kube-apiserver,
// controller manager, scheduler, kwok nodes): nkd's manifests applied by nkd's client, the real operator
// (its service account's token), one real node agent per node on a scripted NestOS host, and the real
// `nkd upgrade --wait` CLI (dist/) creating the Update and following it. A Deployment behind a
// PodDisruptionBudget runs on the workers: the agents drain through the server's real eviction API.
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clusterClientFromPki } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import { housekeeperKube } from '../../src/housekeeper/kube-client.js';
import { Operator } from '../../src/housekeeper/operator.js';
import { PROGRESS_ANNOTATION, type NodeObject, type UpdateObject } from '../../src/housekeeper/types.js';
import { listAll } from '../../src/kube/list.js';
import { loadPki } from '../../src/pki/index.js';
import { removeTempDirs, runNkd, sandbox, writeConfig, type Sandbox } from '../helpers/cli.js';
import { configYaml } from '../helpers/configs.js';
import { describeReal } from '../helpers/real.js';
import {
  DRY_RUN_ENDPOINT,
  realApiRequirement,
  startRealCluster,
  type RealCluster,
} from '../helpers/real-api.js';
import {
  driveAgents,
  harnessCaller,
  HOUSEKEEPER_NS,
  installHousekeeper,
  nodeAgents,
  serviceAccountToken,
  sleep,
  UPDATES_PATH,
} from '../helpers/real-housekeeper.js';

afterAll(removeTempDirs);

const OLD = 'hub.example/nestos:v1.36';
const NEW = 'hub.example/nestos:v1.36-patched';
const KUBE = 'v1.36.3';

interface PodItem {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status?: { conditions?: { type: string; status: string }[] };
}

describeReal('nkd upgrade --wait over kwok nodes of a real API server', realApiRequirement(), () => {
  let sb: Sandbox;
  let real: RealCluster;
  let admin: ClusterClient;
  const stops: (() => unknown)[] = [];

  beforeAll(async () => {
    sb = sandbox();
    const config = writeConfig(
      sb.root,
      configYaml({
        controlPlane: { count: 1 },
        workers: { count: 2 },
        kubernetes: { controlPlaneEndpoint: `${DRY_RUN_ENDPOINT}:6443` },
      }),
    );
    const dry = await sb.run(['deploy', '-f', config, '--dry-run', '--state-dir', sb.state]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const dir = join(sb.state, 'clusters', 'demo');
    real = await startRealCluster({ clusterDir: dir });
    stops.push(() => real.stop());
    writeFileSync(join(dir, 'outputs.json'), JSON.stringify({ apiEndpoint: real.endpoint, nodes: [] }));
    const again = await sb.run(['deploy', '-f', config, '--dry-run', '--state-dir', sb.state]);
    expect(again.exitCode, again.stderr).toBe(0);
    copyFileSync(join(dir, 'plan.json'), join(dir, 'deployed-plan.json'));

    const pki = await loadPki(join(dir, 'pki'));
    admin = clusterClientFromPki(pki, real.server, { tlsServerName: real.tlsServerName });
    stops.push(() => admin.close());
    // The last worker cordoned at first: both web pods start on the first worker, so its drain meets
    // the budget (the second eviction is refused until the first pod's replacement is Ready).
    const lastWorker = real.plan.nodes.at(-1)!.name;
    const nodeList = (unschedulable: boolean) =>
      real.plan.nodes.map((n) => ({
        name: n.name,
        controlPlane: n.role === 'control-plane',
        kubeletVersion: KUBE,
        unschedulable: unschedulable && n.name === lastWorker,
      }));
    await real.addNodes(nodeList(true));
    await real.nodesReady(real.plan.nodes.map((n) => n.name));
    // kubeadm's etcd static pod: the operator starts no control plane without it (drains skip it).
    for (const n of real.plan.nodes.filter((node) => node.role === 'control-plane')) {
      await real.api('POST', '/api/v1/namespaces/kube-system/pods', {
        metadata: {
          name: `etcd-${n.name}`,
          labels: { component: 'etcd', tier: 'control-plane' },
          annotations: { 'kubernetes.io/config.mirror': 'test' },
        },
        spec: { nodeName: n.name, containers: [{ name: 'etcd', image: 'registry.k8s.io/etcd:3.6' }] },
      });
    }
    await admin.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'shop' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              // Only on workers: kwok's control-plane node carries no taint here.
              affinity: {
                nodeAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: {
                    nodeSelectorTerms: [
                      {
                        matchExpressions: [
                          { key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' },
                        ],
                      },
                    ],
                  },
                },
              },
              containers: [{ name: 'web', image: 'registry.example/web:1' }],
            },
          },
        },
      },
      {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'web-pdb', namespace: 'shop' },
        spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } },
      },
    ]);
    await until('2 web pods Ready', async () => (await webPods()).ready >= 2);
    await real.addNodes(nodeList(false));
    await installHousekeeper(real, admin);

    const token = await serviceAccountToken(real, 'housekeeper-operator');
    const operatorKube = housekeeperKube({
      server: real.server,
      caPem: pki.clusterCa.certPem,
      auth: { bearerToken: () => token },
      tlsServerName: real.tlsServerName,
    });
    const abort = new AbortController();
    const running = new Operator({
      kube: operatorKube,
      namespace: HOUSEKEEPER_NS,
      identity: 'operator-0',
      pollMs: 1000,
    }).run(abort.signal);
    stops.push(async () => {
      abort.abort();
      await running;
      operatorKube.close();
    });
  }, 240_000);
  afterAll(async () => {
    while (stops.length > 0) await stops.pop()!();
  });

  async function webPods(): Promise<{ ready: number; pods: PodItem[] }> {
    const pods = await listAll<PodItem>(harnessCaller(real), '/api/v1/namespaces/shop/pods');
    const live = pods.filter((p) => !p.metadata.deletionTimestamp);
    const ready = live.filter((p) =>
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    return { ready: ready.length, pods: live };
  }

  async function until(what: string, done: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`not within ${timeoutMs / 1000} s: ${what}`);
      await sleep(500);
    }
  }

  it('drains (honouring the PDB through real eviction), reboots and uncordons every node; the Update ends Completed', async () => {
    const pki = await loadPki(join(sb.state, 'clusters', 'demo', 'pki'));
    // The agents authenticate as nkd's admin (a per-node bound token is tested in housekeeper-realapi).
    const agentKube = housekeeperKube({
      server: real.server,
      caPem: pki.clusterCa.certPem,
      auth: { clientCertPem: pki.admin.certPem, clientKeyPem: pki.admin.keyPem },
      tlsServerName: real.tlsServerName,
    });
    stops.push(() => agentKube.close());
    const agents = nodeAgents({ real, kube: agentKube, oldImage: OLD, kubeVersion: KUBE });
    const t0 = Date.now();
    const cli = runNkd(
      [
        'upgrade',
        'demo',
        '--os-image',
        NEW,
        '--max-unavailable',
        '1',
        '--wait',
        '--json',
        '--state-dir',
        sb.state,
      ],
      { env: sb.env, cwd: sb.root, timeout: 300_000 },
    );
    // The CLI creates the Update; then the agents work while the CLI follows.
    let name = '';
    await until('the Update created', async () => {
      const list = (await real.api('GET', UPDATES_PATH)) as { items: UpdateObject[] };
      name = list.items[0]?.metadata.name ?? '';
      return name !== '';
    });
    const created = (await real.api('GET', `${UPDATES_PATH}/${name}`)) as UpdateObject;
    // What the CLI asked for (no kubeVersion: an OS-only Update), plus the CRD's defaults the server set.
    expect(created.spec).toEqual({
      osImageURL: NEW,
      maxUnavailable: 1,
      drainTimeoutSeconds: 300,
      evictPodForce: false,
      deleteEmptyDirData: false,
      paused: false,
    });
    // The PDB is honoured at every pass: at least one web pod Ready throughout.
    let fewestReady = 2;
    const sampling = setInterval(() => {
      void webPods().then(
        (w) => (fewestReady = Math.min(fewestReady, w.ready)),
        () => undefined,
      );
    }, 300);
    const driving = driveAgents(real, agents, name, { everyMs: 500, timeoutMs: 240_000 });
    try {
      const result = await cli;
      expect(result.exitCode, result.stderr).toBe(0);
      await driving.done;
      const lines = result.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.at(-1)).toMatchObject({ type: 'result', completed: true, update: name });
    } finally {
      driving.stop();
      clearInterval(sampling);
    }
    console.log(`rollout-real: 3 nodes upgraded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const update = (await real.api('GET', `${UPDATES_PATH}/${name}`)) as UpdateObject;
    expect(update.status!.phase).toBe('Completed');
    expect(update.status!.nodes!.map((n) => `${n.name}:${n.phase}`).sort()).toEqual(
      real.plan.nodes.map((n) => `${n.name}:done`).sort(),
    );
    const nodes = await listAll<NodeObject>(harnessCaller(real), '/api/v1/nodes');
    for (const node of nodes) {
      expect(node.spec?.unschedulable ?? false, node.metadata.name).toBe(false);
      const progress = JSON.parse(node.metadata.annotations![PROGRESS_ANNOTATION]!) as { phase: string };
      expect(progress.phase, node.metadata.name).toBe('done');
      const host = agents.hosts.get(node.metadata.name)!;
      expect(host.booted).toBe(`ostree-unverified-registry:${NEW}`);
      expect(host.commands).toContain('systemctl reboot');
    }
    // Evicted through the server's eviction API, as nkd's admin; the budget kept one web pod Ready.
    const evictions = (await real.requests()).filter(
      (e) => e.objectRef?.subresource === 'eviction' && e.objectRef.namespace === 'shop',
    );
    expect(evictions.filter((e) => e.responseStatus?.code === 201).length).toBeGreaterThanOrEqual(2);
    expect(evictions.filter((e) => e.responseStatus?.code === 429).length).toBeGreaterThanOrEqual(1);
    expect(fewestReady).toBeGreaterThanOrEqual(1);
    await until('2 web pods Ready again', async () => (await webPods()).ready >= 2);
  }, 300_000);
});
