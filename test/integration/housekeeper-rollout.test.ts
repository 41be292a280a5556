// A whole Housekeeper rollout against the in-process Kubernetes API fake: 3 control-plane and 3 worker
// simulated nodes, the real operator and one real node agent per node (scripted NestOS hosts), and the
// real `nkd upgrade` CLI in a subprocess creating the Update and following it with --wait.
import { copyFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { housekeeperManifests } from '../../src/addons/housekeeper/manifests.js';
import { clusterClientFromPki } from '../../src/cluster/client.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import type { ClusterPki } from '../../src/pki/types.js';
import { setPaused, startUpgrade } from '../../src/workflows/upgrade.js';
import { nonEmptyLines, removeTempDirs, runNkd, sandbox, writeConfig, type Sandbox } from '../helpers/cli.js';
import { configYaml } from '../helpers/configs.js';
import type { FakeKubeApi } from '../helpers/fake-kube-api.js';
import { SERVED_ENDPOINT, servedCluster } from '../helpers/served-cluster.js';
import {
  AGENT_IDENTITY,
  AGENT_TOKEN,
  OPERATOR_IDENTITY,
  OPERATOR_TOKEN,
  rolloutSim,
  type SimNode,
} from '../helpers/rollout-sim.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});
afterAll(removeTempDirs);

const OLD = 'hub.example/nestos:v1.36';
const CONFIG = { controlPlane: { count: 3, cpus: 2, memoryMiB: 4096 }, workers: { count: 3 } };
const NEW = 'hub.example/nestos:v1.37';
const NODES: SimNode[] = [
  { name: 'demo-cp-1', role: 'control-plane' },
  { name: 'demo-cp-2', role: 'control-plane' },
  { name: 'demo-cp-3', role: 'control-plane' },
  { name: 'demo-worker-1', role: 'worker' },
  { name: 'demo-worker-2', role: 'worker' },
  { name: 'demo-worker-3', role: 'worker' },
];
/** A newer NestOS build with the same Kubernetes: what an OS-only Update may boot. */
const PATCHED = 'hub.example/nestos:v1.36-patched';
const versionOfImage = (image: string) => (image === NEW ? 'v1.37.2' : 'v1.36.3');

/** The served cluster's config, naming `releaseImage`. */
function configFile(w: World, releaseImage: string): string {
  return writeConfig(
    w.sb.root,
    configYaml({
      ...CONFIG,
      releaseImage,
      kubernetes: { controlPlaneEndpoint: `${SERVED_ENDPOINT}:6443` },
    }),
    `cluster-${releaseImage === '' ? 'plain' : 'upgraded'}.yaml`,
  );
}

/** The dry-run's plan recorded as provisioned, as a deploy leaves it. */
function provisioned(w: World): void {
  const dir = join(w.sb.state, 'clusters', 'demo');
  copyFileSync(join(dir, 'plan.json'), join(dir, 'deployed-plan.json'));
}

interface World {
  sb: Sandbox;
  api: FakeKubeApi;
  pki: ClusterPki;
  admin: ClusterClient;
}

/** A deployed cluster: state from a dry-run, its API served by the fake with Housekeeper installed. */
async function world(): Promise<World> {
  const sb = sandbox();
  const { pki, api } = await servedCluster(sb, {
    config: CONFIG,
    api: {
      nodes: NODES.map((n) => ({
        name: n.name,
        ready: true,
        roles: n.role === 'control-plane' ? ['control-plane'] : [],
        kubeletVersion: 'v1.36.3',
      })),
      serverVersion: 'v1.36.3',
      bearerTokens: { [OPERATOR_TOKEN]: { cn: OPERATOR_IDENTITY }, [AGENT_TOKEN]: { cn: AGENT_IDENTITY } },
    },
  });
  cleanups.push(() => api.stop());
  // kubeadm's etcd static pods, one per control plane: the operator starts no control plane without them.
  for (const n of NODES.filter((node) => node.role === 'control-plane')) {
    api.addPod({
      namespace: 'kube-system',
      name: `etcd-${n.name}`,
      nodeName: n.name,
      mirror: true,
      labels: { component: 'etcd', tier: 'control-plane' },
    });
  }
  const admin = clusterClientFromPki(pki, api.url, { tlsServerName: 'api.demo.test' });
  cleanups.push(() => admin.close());
  await admin.apply(housekeeperManifests({ image: 'hub.example/nkd-housekeeper:test', nkdVersion: '0.0.0' }));
  return { sb, api, pki, admin };
}

function sim(w: World) {
  const s = rolloutSim({
    api: w.api,
    pki: w.pki,
    nodes: NODES,
    oldImage: OLD,
    versionOfImage,
    tlsServerName: 'api.demo.test',
  });
  cleanups.push(() => s.close());
  return s;
}

/** Order in which the operator handed nodes to their agents (its target-annotation patches). */
function handOrder(api: FakeKubeApi): string[] {
  const order: string[] = [];
  for (const r of api.requests) {
    const m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(r.path);
    if (r.method === 'PATCH' && m && r.client.cn === OPERATOR_IDENTITY && !order.includes(m[1]!))
      order.push(m[1]!);
  }
  return order;
}

describe('Housekeeper rollout (real operator and agents, fake API, scripted hosts)', () => {
  it('nkd upgrade --wait sends exactly the requested values and reports every node until the rollout completes', async () => {
    const w = await world();
    const s = sim(w);
    const cli = runNkd(
      [
        'upgrade',
        'demo',
        '--kube-version',
        'v1.37.2',
        '--os-image',
        NEW,
        '--max-unavailable',
        '2',
        '--wait',
        '--json',
        '--state-dir',
        w.sb.state,
      ],
      { env: w.sb.env, cwd: w.sb.root, timeout: 180_000 },
    );
    // The CLI creates the Update; the cluster (operator + agents) then works while it follows.
    const created = () => w.api.applied.find((a) => a.body.kind === 'Update');
    for (let i = 0; i < 300 && !created(); i++) await new Promise((r) => setTimeout(r, 100));
    const sent = created()!;
    expect(sent.body.spec).toEqual({ kubeVersion: 'v1.37.2', osImageURL: NEW, maxUnavailable: 2 });
    const name = (sent.body.metadata as { name: string }).name;

    await s.until(async () => (await s.update(name))?.status?.phase === 'Completed');
    const result = await cli;
    expect(result.exitCode, result.stderr).toBe(0);

    const update = (await s.update(name))!;
    expect(update.status!.nodes!.map((n) => `${n.name}:${n.phase}`)).toEqual(
      NODES.map((n) => `${n.name}:done`),
    );
    // Control planes one at a time, the first one running the cluster-wide kubeadm step; then workers.
    expect(handOrder(w.api)).toEqual(NODES.map((n) => n.name));
    // Each from the staged deployment, before the node reboots into it (docs/housekeeper.md).
    const staged = '/ostree/deploy/nestos/deploy/bbb.0/usr/bin/kubeadm';
    const before = (node: string, command: string) => {
      const commands = s.hosts.get(node)!.commands;
      expect(commands).toContain(command);
      expect(commands.indexOf(command)).toBeLessThan(commands.indexOf('systemctl reboot'));
    };
    before('demo-cp-1', `${staged} upgrade apply v1.37.2 --yes`);
    for (const n of NODES.slice(1)) before(n.name, `${staged} upgrade node`);
    for (const n of NODES) expect(s.hosts.get(n.name)!.booted).toBe(`ostree-unverified-registry:${NEW}`);
    for (const n of w.api.nodes)
      expect([n.kubeletVersion, n.unschedulable ?? false]).toEqual(['v1.37.2', false]);

    // The CLI reported the same per-node progress, ending with every node done.
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const doneNodes = lines.filter((l) => l.type === 'node' && l.phase === 'done').map((l) => l.node);
    expect([...new Set(doneNodes)].sort()).toEqual(NODES.map((n) => n.name).sort());
    expect(lines.at(-1)).toMatchObject({ type: 'result', completed: true, update: name });

    // Recorded in the cluster's state (0600): nodes added later boot on these versions.
    const record = join(w.sb.state, 'clusters', 'demo', 'upgrades.json');
    expect(statSync(record).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(record, 'utf8'))).toEqual({
      version: 1,
      completed: [
        { update: name, completedAt: update.status!.completedAt, kubeVersion: 'v1.37.2', osImageURL: NEW },
      ],
    });
    // A config that does not name the image yet: the diff says which edit matches the cluster.
    provisioned(w);
    const unedited = await w.sb.run(['diff', '-f', configFile(w, ''), '--state-dir', w.sb.state]);
    expect(unedited.exitCode, unedited.stderr).toBe(0);
    expect(unedited.stdout).toContain('nothing to do');
    expect(unedited.stderr).toContain(
      `warning: spec.os.releaseImage is not set, but Update ${name} rebased every node onto ${NEW}`,
    );
    // nkd status shows what new nodes get.
    const status = await w.sb.run(['status', 'demo', '--json', '--state-dir', w.sb.state]);
    expect(status.exitCode, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { upgrades: unknown }).upgrades).toEqual({
      kubernetes: { version: 'v1.37.2', update: name, completedAt: update.status!.completedAt },
      os: { image: NEW, update: name, completedAt: update.status!.completedAt },
    });
  }, 240_000);

  it('pause stops before the next node, resume finishes the rollout', async () => {
    const w = await world();
    const s = sim(w);
    const update = await startUpgrade(w.admin, { kubeVersion: 'v1.37.2', osImageURL: NEW });
    const name = update.metadata.name;
    const phaseOf = async (node: string) =>
      (await s.update(name))?.status?.nodes?.find((n) => n.name === node)?.phase;
    await s.until(() => handOrder(w.api).includes('demo-cp-1'));
    await setPaused(w.admin, true);
    await s.until(async () => (await s.update(name))?.status?.phase === 'Paused');
    const handedWhilePaused = handOrder(w.api);
    for (let i = 0; i < 15; i++) await s.tick();
    expect(handOrder(w.api)).toEqual(handedWhilePaused);
    expect(await phaseOf('demo-cp-1')).toBe('done'); // the node in progress finished
    expect(await phaseOf('demo-cp-2')).toBe('pending');

    await setPaused(w.admin, false);
    await s.until(async () => (await s.update(name))?.status?.phase === 'Completed');
    expect(handOrder(w.api)).toEqual(NODES.map((n) => n.name));

    // Upgraded without --wait: the diff reads the completed Update from the cluster into nkd's record,
    // so a config edited to the upgraded image shows no drift (before, it was refused: exit 3).
    provisioned(w);
    const r = await w.sb.run(['diff', '-f', configFile(w, NEW), '--state-dir', w.sb.state]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('nothing to do');
    expect(nonEmptyLines(r.stderr).filter((l) => l.startsWith('warning: spec.'))).toEqual([]);
    const record = JSON.parse(
      readFileSync(join(w.sb.state, 'clusters', 'demo', 'upgrades.json'), 'utf8'),
    ) as { completed: { update: string; osImageURL?: string }[] };
    expect(record.completed.map((u) => [u.update, u.osImageURL])).toEqual([[name, NEW]]);
  }, 240_000);

  it('a PodDisruptionBudget that blocks eviction is named in the status after the drain timeout, and stops the rollout', async () => {
    const w = await world();
    w.api.addPod({
      namespace: 'shop',
      name: 'db-0',
      nodeName: 'demo-worker-1',
      labels: { app: 'db' },
      ownerKind: 'ReplicaSet',
    });
    await w.admin.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'db-pdb', namespace: 'shop' },
        spec: { minAvailable: 1, selector: { matchLabels: { app: 'db' } } },
      },
    ]);
    const s = sim(w);
    const { metadata } = await startUpgrade(w.admin, { osImageURL: PATCHED, drainTimeoutSeconds: 30 });
    await s.until(async () => (await s.update(metadata.name))?.status?.phase === 'Failed');
    const status = (await s.update(metadata.name))!.status!;
    const worker1 = status.nodes!.find((n) => n.name === 'demo-worker-1')!;
    expect(worker1.phase).toBe('failed');
    expect(`${worker1.lastError} ${worker1.message}`).toMatch(/shop\/db-pdb/);
    expect(status.conditions!.find((c) => c.reason === 'NodeFailed')?.message).toMatch(/demo-worker-1/);
    expect(status.nodes!.filter((n) => n.role === 'control-plane').every((n) => n.phase === 'done')).toBe(
      true,
    );
    // No other worker was started after the failure.
    for (let i = 0; i < 5; i++) await s.tick();
    expect(handOrder(w.api)).toEqual(['demo-cp-1', 'demo-cp-2', 'demo-cp-3', 'demo-worker-1']);
    expect(w.api.pods().map((p) => p.metadata.name)).toContain('db-0');
  }, 240_000);
});
