// A whole Housekeeper rollout over a real control plane (test/helpers/real-api.ts: etcd, kube-apiserver,
// controller manager, scheduler, kwok nodes): nkd's manifests applied by nkd's client, the real operator
// (its service account's token), one real node agent per node on a scripted NestOS host, and the real
// `nkd upgrade --wait` CLI (dist/) creating the Update and following it. A Deployment behind a
// PodDisruptionBudget runs on the workers: the agents drain through the server's real eviction API.
// The agents run in the background for the whole file, one pass every 500 ms, as their DaemonSet would.
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clusterClientFromPki } from '../../src/cluster/client.js';
import type { ClusterClient, KubeObject } from '../../src/cluster/types.js';
import { housekeeperKube } from '../../src/housekeeper/kube-client.js';
import { Operator } from '../../src/housekeeper/operator.js';
import { PROGRESS_ANNOTATION, type NodeObject, type UpdateObject } from '../../src/housekeeper/types.js';
import { listAll } from '../../src/kube/list.js';
import { loadPki } from '../../src/pki/index.js';
import { setPaused, startUpgrade } from '../../src/workflows/upgrade.js';
import { nonEmptyLines, removeTempDirs, runNkd, sandbox, writeConfig, type Sandbox } from '../helpers/cli.js';
import { configYaml } from '../helpers/configs.js';
import { describeReal } from '../helpers/real.js';
import {
  DRY_RUN_ENDPOINT,
  realApiRequirement,
  startRealCluster,
  type RealCluster,
} from '../helpers/real-api.js';
import {
  harnessCaller,
  HOUSEKEEPER_NS,
  installHousekeeper,
  nodeAgents,
  serviceAccountToken,
  type NodeAgents,
  sleep,
  UPDATES_PATH,
} from '../helpers/real-housekeeper.js';

afterAll(removeTempDirs);

const OLD = 'hub.example/nestos:v1.36';
const NEW = 'hub.example/nestos:v1.37';
/** Newer NestOS builds with the same Kubernetes: what OS-only Updates boot. */
const NEW_B = 'hub.example/nestos:v1.37-b';
const NEW_C = 'hub.example/nestos:v1.37-c';
const OLD_KUBE = 'v1.36.3';
const NEW_KUBE = 'v1.37.2';
const versionOf = (image: string) => (image === OLD ? OLD_KUBE : NEW_KUBE);
const OPERATOR_USER = `system:serviceaccount:${HOUSEKEEPER_NS}:housekeeper-operator`;
const CONFIG = {
  controlPlane: { count: 1 },
  workers: { count: 2 },
  kubernetes: { controlPlaneEndpoint: `${DRY_RUN_ENDPOINT}:6443` },
};

/** A Deployment in namespace shop and a budget keeping at least one of its pods: minAvailable 1. */
function guarded(app: string, replicas: number, podSpec: Record<string, unknown>): KubeObject[] {
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: app, namespace: 'shop' },
      spec: {
        replicas,
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: { app } },
          spec: { ...podSpec, containers: [{ name: app, image: `registry.example/${app}:1` }] },
        },
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: `${app}-pdb`, namespace: 'shop' },
      spec: { minAvailable: 1, selector: { matchLabels: { app } } },
    },
  ];
}

interface PodItem {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status?: { conditions?: { type: string; status: string }[] };
}

describeReal('nkd upgrade --wait over kwok nodes of a real API server', realApiRequirement(), () => {
  let sb: Sandbox;
  let real: RealCluster;
  let admin: ClusterClient;
  let agents: NodeAgents;
  const stops: (() => unknown)[] = [];
  const run = (args: string[]) => sb.run([...args, '--state-dir', sb.state]);

  beforeAll(async () => {
    sb = sandbox();
    const config = configFile('');
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
        kubeletVersion: OLD_KUBE,
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
    // Only on workers: kwok's control-plane node carries no taint here.
    const workersOnly = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' }],
            },
          ],
        },
      },
    };
    await admin.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      ...guarded('web', 2, { affinity: workersOnly }),
    ]);
    await until('2 web pods Ready', async () => (await appPods()).ready >= 2);
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

    // The agents authenticate as nkd's admin (a per-node bound token is tested in housekeeper-realapi).
    const agentKube = housekeeperKube({
      server: real.server,
      caPem: pki.clusterCa.certPem,
      auth: { clientCertPem: pki.admin.certPem, clientKeyPem: pki.admin.keyPem },
      tlsServerName: real.tlsServerName,
    });
    // What the kubelet reports once it runs the host's version: after a restart, after a reboot.
    const kubelet = (node: string, version: string) =>
      real.api(
        'PATCH',
        `/api/v1/nodes/${node}/status`,
        { status: { nodeInfo: { kubeletVersion: version } } },
        'application/merge-patch+json',
      );
    agents = nodeAgents({
      real,
      kube: agentKube,
      oldImage: OLD,
      versionOf,
      controlPlanes: real.plan.nodes.filter((n) => n.role === 'control-plane').map((n) => n.name),
      onCommand: (node, line, host) => {
        if (line === 'systemctl restart kubelet') void kubelet(node, host.kubeadmVersion);
      },
      onBoot: (node, host) => void kubelet(node, host.kubeadmVersion),
    });
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        await agents.pass().catch((err: unknown) => process.stderr.write(`agents: ${String(err)}\n`));
        await sleep(500);
      }
    })();
    stops.push(async () => {
      stopped = true;
      await loop;
      agentKube.close();
    });
  }, 240_000);
  afterAll(async () => {
    while (stops.length > 0) await stops.pop()!();
  });

  async function appPods(app = 'web'): Promise<{ ready: number; pods: PodItem[] }> {
    const pods = await listAll<PodItem>(
      harnessCaller(real),
      `/api/v1/namespaces/shop/pods?labelSelector=app%3D${app}`,
    );
    const live = pods.filter((p) => !p.metadata.deletionTimestamp);
    const ready = live.filter((p) =>
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    return { ready: ready.length, pods: live };
  }

  /** The cluster's config, naming `releaseImage` ('' for none). */
  function configFile(releaseImage: string): string {
    return writeConfig(
      sb.root,
      configYaml({ ...CONFIG, releaseImage }),
      `cluster-${releaseImage === '' ? 'plain' : releaseImage.replace(/\W/g, '-')}.yaml`,
    );
  }

  /** The nodes the operator handed a target (its node patches), in order, from audit event `from` on. */
  async function handOrder(from = 0): Promise<string[]> {
    const order: string[] = [];
    for (const e of (await real.requests()).slice(from)) {
      const ref = e.objectRef;
      if (e.user.username !== OPERATOR_USER || e.verb !== 'patch' || ref?.resource !== 'nodes') continue;
      if (ref.subresource === undefined && ref.name && !order.includes(ref.name)) order.push(ref.name);
    }
    return order;
  }

  async function update(name: string): Promise<UpdateObject> {
    return (await real.api('GET', `${UPDATES_PATH}/${name}`)) as UpdateObject;
  }

  async function until(what: string, done: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`not within ${timeoutMs / 1000} s: ${what}`);
      await sleep(500);
    }
  }

  it('nkd upgrade --wait: drains (a PDB honoured through real eviction), upgrades, reboots and uncordons every node until Completed', async () => {
    const t0 = Date.now();
    const cli = runNkd(
      [
        'upgrade',
        'demo',
        '--kube-version',
        NEW_KUBE,
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
    // The CLI creates the Update; then the operator and the agents work while the CLI follows.
    let name = '';
    await until('the Update created', async () => {
      const list = (await real.api('GET', UPDATES_PATH)) as { items: UpdateObject[] };
      name = list.items[0]?.metadata.name ?? '';
      return name !== '';
    });
    // What the CLI asked for, plus the CRD's defaults the server set.
    expect((await update(name)).spec).toEqual({
      kubeVersion: NEW_KUBE,
      osImageURL: NEW,
      maxUnavailable: 1,
      drainTimeoutSeconds: 300,
      evictPodForce: false,
      deleteEmptyDirData: false,
      paused: false,
    });
    // The budget holds at every moment: at least one web pod Ready throughout.
    let fewestReady = 2;
    const sampling = setInterval(() => {
      void appPods().then(
        (w) => (fewestReady = Math.min(fewestReady, w.ready)),
        () => undefined,
      );
    }, 300);
    const result = await cli.finally(() => clearInterval(sampling));
    expect(result.exitCode, result.stderr).toBe(0);
    console.log(`rollout-real: 3 nodes upgraded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const done = await update(name);
    expect(done.status!.phase).toBe('Completed');
    expect(done.status!.nodes!.map((n) => `${n.name}:${n.phase}`)).toEqual(
      real.plan.nodes.map((n) => `${n.name}:done`),
    );
    // The control plane first, running the cluster-wide kubeadm step; then the workers.
    expect(await handOrder()).toEqual(real.plan.nodes.map((n) => n.name));
    // Each kubeadm step from the staged deployment, before the node reboots into it.
    const staged = '/ostree/deploy/nestos/deploy/bbb.0/usr/bin/kubeadm';
    const before = (node: string, command: string) => {
      const commands = agents.hosts.get(node)!.commands;
      expect(commands).toContain(command);
      expect(commands.indexOf(command)).toBeLessThan(commands.indexOf('systemctl reboot'));
    };
    before('demo-cp-1', `${staged} upgrade apply ${NEW_KUBE} --yes`);
    for (const n of real.plan.nodes.slice(1)) before(n.name, `${staged} upgrade node`);
    const nodes = await listAll<NodeObject>(harnessCaller(real), '/api/v1/nodes');
    for (const node of nodes) {
      const id = node.metadata.name;
      expect([node.status?.nodeInfo?.kubeletVersion, node.spec?.unschedulable ?? false], id).toEqual([
        NEW_KUBE,
        false,
      ]);
      const progress = JSON.parse(node.metadata.annotations![PROGRESS_ANNOTATION]!) as { phase: string };
      expect(progress.phase, id).toBe('done');
      expect(agents.hosts.get(id)!.booted, id).toBe(`ostree-unverified-registry:${NEW}`);
    }
    // Evicted through the server's eviction API; the budget refused at least one eviction (429).
    const evictions = (await real.requests()).filter(
      (e) => e.objectRef?.subresource === 'eviction' && e.objectRef.namespace === 'shop',
    );
    expect(evictions.filter((e) => e.responseStatus?.code === 201).length).toBeGreaterThanOrEqual(2);
    expect(evictions.filter((e) => e.responseStatus?.code === 429).length).toBeGreaterThanOrEqual(1);
    expect(fewestReady).toBeGreaterThanOrEqual(1);

    // The CLI reported the same per-node progress, ending with every node done.
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const doneNodes = lines.filter((l) => l.type === 'node' && l.phase === 'done').map((l) => l.node);
    expect([...new Set(doneNodes)].sort()).toEqual(real.plan.nodes.map((n) => n.name).sort());
    expect(lines.at(-1)).toMatchObject({ type: 'result', completed: true, update: name });

    // Recorded in the cluster's state (0600): nodes added later boot on these versions.
    const record = join(sb.state, 'clusters', 'demo', 'upgrades.json');
    expect(statSync(record).mode & 0o777).toBe(0o600);
    const at = done.status!.completedAt;
    expect(JSON.parse(readFileSync(record, 'utf8'))).toEqual({
      version: 1,
      completed: [{ update: name, completedAt: at, kubeVersion: NEW_KUBE, osImageURL: NEW }],
    });
    // A config that does not name the image yet: the diff says which edit matches the cluster.
    const unedited = await run(['diff', '-f', configFile('')]);
    expect(unedited.exitCode, unedited.stderr).toBe(0);
    expect(unedited.stdout).toContain('nothing to do');
    expect(unedited.stderr).toContain(
      `warning: spec.os.releaseImage is not set, but Update ${name} rebased every node onto ${NEW}`,
    );
    // nkd status shows what new nodes get.
    const status = await run(['status', 'demo', '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { upgrades: unknown }).upgrades).toEqual({
      kubernetes: { version: NEW_KUBE, update: name, completedAt: at },
      os: { image: NEW, update: name, completedAt: at },
    });
    await until('2 web pods Ready again', async () => (await appPods()).ready >= 2);
  }, 300_000);

  it('pause stops before the next node, resume finishes the rollout', async () => {
    const from = (await real.requests()).length;
    const { metadata } = await startUpgrade(admin, { osImageURL: NEW_B });
    const phaseOf = async (node: string) =>
      (await update(metadata.name)).status?.nodes?.find((n) => n.name === node)?.phase;
    await until('the control plane handed out', async () => (await handOrder(from)).includes('demo-cp-1'));
    await setPaused(admin, true);
    await until('Paused', async () => (await update(metadata.name)).status?.phase === 'Paused');
    await until('the node in progress finished', async () => (await phaseOf('demo-cp-1')) === 'done');
    const handedWhilePaused = await handOrder(from);
    await sleep(4000); // four operator passes
    expect(await handOrder(from)).toEqual(handedWhilePaused);
    expect(handedWhilePaused.length).toBeLessThan(real.plan.nodes.length);
    expect(await phaseOf('demo-worker-2')).toBe('pending');

    await setPaused(admin, false);
    await until('Completed', async () => (await update(metadata.name)).status?.phase === 'Completed');
    expect(await handOrder(from)).toEqual(real.plan.nodes.map((n) => n.name));

    // Upgraded without --wait: the diff reads the completed Update from the cluster into nkd's record,
    // so a config edited to the upgraded image shows no drift.
    const r = await run(['diff', '-f', configFile(NEW_B)]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('nothing to do');
    expect(nonEmptyLines(r.stderr).filter((l) => l.startsWith('warning: spec.'))).toEqual([]);
    const record = JSON.parse(readFileSync(join(sb.state, 'clusters', 'demo', 'upgrades.json'), 'utf8')) as {
      completed: { update: string; osImageURL?: string }[];
    };
    expect(record.completed.at(-1)).toMatchObject({ update: metadata.name, osImageURL: NEW_B });
    await until('2 web pods Ready again', async () => (await appPods()).ready >= 2);
  }, 180_000);

  it('a PodDisruptionBudget that refuses every eviction is named in the status after the drain timeout, and stops the rollout', async () => {
    // One db pod on the first worker, and a budget that never lets it go.
    await admin.apply(guarded('db', 1, { nodeName: 'demo-worker-1' }));
    const dbReady = async () => (await appPods('db')).ready === 1;
    await until('the db pod Ready', dbReady);
    const from = (await real.requests()).length;
    const { metadata } = await startUpgrade(admin, { osImageURL: NEW_C, drainTimeoutSeconds: 5 });
    await until('Failed', async () => (await update(metadata.name)).status?.phase === 'Failed');
    const status = (await update(metadata.name)).status!;
    const worker1 = status.nodes!.find((n) => n.name === 'demo-worker-1')!;
    expect(worker1.phase).toBe('failed');
    expect(`${worker1.lastError} ${worker1.message}`).toMatch(/shop\/db-pdb/);
    expect(status.conditions!.find((c) => c.reason === 'NodeFailed')?.message).toMatch(/demo-worker-1/);
    expect(status.nodes!.find((n) => n.name === 'demo-cp-1')?.phase).toBe('done');
    // No other worker is started after the failure; the db pod still runs.
    await sleep(3000);
    expect(await handOrder(from)).toEqual(['demo-cp-1', 'demo-worker-1']);
    expect(await dbReady()).toBe(true);
  }, 180_000);
});
