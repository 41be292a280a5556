// Day 2 through the real deploy workflow (engine double + Kubernetes API fake): edit the config, re-run
// deploy, and the cluster converges — new workers with a fresh short-lived token, removed workers
// drained and deleted before their machines go, forbidden changes refused before anything happens.
// Scale-in drains through the real Eviction API and PodDisruptionBudgets: deploy-scale-real.test.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { loadPki } from '../../src/pki/index.js';
import { clusterPaths } from '../../src/state/paths.js';
import { deploy, harness, interruptAfter, type Workspace } from '../helpers/deploy-harness.js';
import { bootNodesOneByOne, type EngineDouble } from '../helpers/engine-double.js';
import { ScriptedHost } from '../helpers/scripted-host.js';
import { NodeAgent } from '../../src/housekeeper/agent/agent.js';
import { adminKube } from '../../src/workflows/scale.js';
import { recordUpgrades } from '../../src/workflows/upgrade-record.js';

const h = harness();
afterEach(async () => {
  while (h.cleanups.length > 0) await h.cleanups.pop()!();
});

function setWorkers(ws: Workspace, count: number): void {
  writeFileSync(
    ws.config,
    readFileSync(ws.config, 'utf8').replace(/workers:\n(\s+)count: \d+/, `workers:\n$1count: ${count}`),
  );
}

function setField(ws: Workspace, from: RegExp, to: string): void {
  const text = readFileSync(ws.config, 'utf8');
  expect(text).toMatch(from);
  writeFileSync(ws.config, text.replace(from, to));
}

/** Nodes the next `up` adds join (and turn Ready) one by one on the fake. */
function bootAdded(engine: EngineDouble, names: string[]): void {
  bootNodesOneByOne(
    engine.api!,
    names.map((name) => ({ name, role: 'worker' })),
  );
}

/** A file of a rendered Ignition config, decoded. */
function ignitionFile(ignition: string, path: string): string | undefined {
  const files = (
    JSON.parse(ignition) as { storage: { files: { path: string; contents: { source: string } }[] } }
  ).storage.files;
  const source = files.find((f) => f.path === path)?.contents.source;
  const match = source === undefined ? undefined : /^data:([^,]*),(.*)$/s.exec(source);
  if (!match) return undefined;
  return match[1]!.endsWith(';base64')
    ? Buffer.from(match[2]!, 'base64').toString('utf8')
    : decodeURIComponent(match[2]!);
}

function ignitionOf(engine: EngineDouble, call: number, node: string): string {
  return engine.upCalls[call]!.input.nodes.find((n) => n.node.name === node)!.ignition;
}

describe('scale and converge', () => {
  it('2 → 4 workers adds exactly two nodes, with a fresh short-lived token, leaving the others untouched', async () => {
    const ws = h.workspace();
    const engine = h.engine();
    expect((await deploy(ws, engine)).error).toBeUndefined();
    const pki = await loadPki(clusterPaths(ws.stateDir, 'demo').pki);

    setWorkers(ws, 4);
    bootAdded(engine, ['demo-worker-3', 'demo-worker-4']);
    const { result, error, rec } = await deploy(ws, engine);
    expect(error?.message).toBeUndefined();
    expect(engine.upCalls).toHaveLength(2);
    const names = engine.upCalls[1]!.input.nodes.map((n) => n.node.name);
    expect(names).toEqual([
      'demo-cp-1',
      'demo-cp-2',
      'demo-cp-3',
      'demo-worker-1',
      'demo-worker-2',
      'demo-worker-3',
      'demo-worker-4',
    ]);
    for (const old of names.slice(0, 5)) expect(ignitionOf(engine, 1, old)).toBe(ignitionOf(engine, 0, old));

    const token = (
      JSON.parse(readFileSync(join(clusterPaths(ws.stateDir, 'demo').root, 'join-tokens.json'), 'utf8')) as {
        entries: { token: string; expires: string; nodes: string[] }[];
      }
    ).entries[0]!;
    expect(token.token).not.toBe(pki.bootstrapToken);
    expect(token.nodes).toEqual(['demo-worker-3', 'demo-worker-4']);
    const ttl = Date.parse(token.expires) - Date.now();
    expect(ttl).toBeGreaterThan(50 * 60_000);
    expect(ttl).toBeLessThanOrEqual(60 * 60_000);
    for (const added of ['demo-worker-3', 'demo-worker-4']) {
      const kubeadm = readFileSync(join(clusterPaths(ws.stateDir, 'demo').kubeadm, `${added}.yaml`), 'utf8');
      expect(kubeadm).toContain(token.token);
      expect(kubeadm).not.toContain(pki.bootstrapToken);
    }
    const secret = engine.api!.applied.find((a) => a.body.kind === 'Secret')!;
    expect(secret.path).toBe(
      `/api/v1/namespaces/kube-system/secrets/bootstrap-token-${token.token.split('.')[0]}`,
    );
    expect(secret.body).toMatchObject({
      type: 'bootstrap.kubernetes.io/token',
      stringData: { expiration: token.expires },
    });
    expect(result!.nodes.filter((n) => n.state === 'ready')).toHaveLength(7);
    const said = rec.events.filter((e) => e.type === 'info').map((e) => e.message);
    expect(said.filter((m) => m.startsWith('  + add'))).toEqual([
      expect.stringMatching(/^ {2}\+ add worker demo-worker-3 \(192\.168\.132\.\d+\)$/),
      expect.stringMatching(/^ {2}\+ add worker demo-worker-4 \(192\.168\.132\.\d+\)$/),
    ]);
    expect(JSON.stringify(rec.events)).not.toContain(token.token);
  });

  it('a pod that never finishes terminating ends the drain at its deadline instead of waiting forever', async () => {
    const ws = h.workspace({}, { workers: { count: 3 } });
    const engine = h.engine();
    expect((await deploy(ws, engine)).error).toBeUndefined();
    engine.api!.setPodTerminationMs(10 * 60_000);
    engine.api!.addPod({
      namespace: 'shop',
      name: 'stuck-0',
      nodeName: 'demo-worker-3',
      ownerKind: 'ReplicaSet',
    });
    setWorkers(ws, 2);
    const started = Date.now();
    const r = await deploy(ws, engine, { drainTimeoutMs: 200, forceDrain: true });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.error?.exitCode).toBe(ExitCode.ClusterOperation);
    expect(r.error?.message).toMatch(/cannot drain demo-worker-3: shop\/stuck-0 never finished terminating/);
    expect(engine.upCalls).toHaveLength(1);
  });

  it('an interrupted scale-out resumes without minting another token or adding nodes twice', async () => {
    const ws = h.workspace();
    const engine = h.engine();
    expect((await deploy(ws, engine)).error).toBeUndefined();
    setWorkers(ws, 3);
    bootAdded(engine, ['demo-worker-3']);
    const interrupt = interruptAfter('join-token');
    const first = await deploy(ws, engine, { signal: interrupt.signal, reporter: interrupt.reporter });
    expect(first.error?.exitCode).toBe(ExitCode.Interrupted);
    const tokenFile = join(clusterPaths(ws.stateDir, 'demo').root, 'join-tokens.json');
    const minted = readFileSync(tokenFile, 'utf8');

    const second = await deploy(ws, engine);
    expect(second.error?.message).toBeUndefined();
    expect(readFileSync(tokenFile, 'utf8')).toBe(minted);
    expect(engine.api!.applied.filter((a) => a.body.kind === 'Secret')).toHaveLength(1);
    expect(engine.upCalls).toHaveLength(2);
    expect([...engine.resources].filter((r) => r === 'demo-worker-3')).toHaveLength(1);
    expect(second.result!.phases['join-token']).toBe('verified');
  });

  it('a scale-out interrupted after provisioning keeps rendering the new nodes with their fresh token', async () => {
    const ws = h.workspace();
    const engine = h.engine();
    expect((await deploy(ws, engine)).error).toBeUndefined();
    const pki = await loadPki(clusterPaths(ws.stateDir, 'demo').pki);
    setWorkers(ws, 3);
    bootAdded(engine, ['demo-worker-3']);
    const interrupt = interruptAfter('provision');
    expect(
      (await deploy(ws, engine, { signal: interrupt.signal, reporter: interrupt.reporter })).error?.exitCode,
    ).toBe(ExitCode.Interrupted);
    const kubeadm = join(clusterPaths(ws.stateDir, 'demo').kubeadm, 'demo-worker-3.yaml');
    const rendered = readFileSync(kubeadm, 'utf8');
    expect(rendered).not.toContain(pki.bootstrapToken);

    const resumed = await deploy(ws, engine);
    expect(resumed.error?.message).toBeUndefined();
    expect(readFileSync(kubeadm, 'utf8')).toBe(rendered);
    expect(engine.upCalls).toHaveLength(2);
  });

  it('refuses changes that cannot be made in place, before anything happens', async () => {
    const ws = h.workspace();
    const engine = h.engine();
    expect((await deploy(ws, engine)).error).toBeUndefined();
    setField(ws, /controlPlaneEndpoint: .*/, 'controlPlaneEndpoint: api2.demo.test:6443');
    const r = await deploy(ws, engine);
    expect(r.error?.exitCode).toBe(ExitCode.InvalidConfig);
    expect(r.error?.details.join('\n')).toContain(
      'spec.kubernetes.controlPlaneEndpoint: api.demo.test:6443 → api2.demo.test:6443',
    );
    expect(engine.upCalls).toHaveLength(1);
  });

  it('control-plane changes need --allow-control-plane-changes', async () => {
    const ws = h.workspace();
    const engine = h.engine();
    expect((await deploy(ws, engine)).error?.message).toBeUndefined();
    setField(ws, /controlPlane:\n(\s+)count: 3/, 'controlPlane:\n$1count: 1');
    const shrink = await deploy(ws, engine);
    expect(shrink.error?.exitCode).toBe(ExitCode.InvalidConfig);
    expect(shrink.error?.details.join('\n')).toMatch(
      /removing demo-cp-2, demo-cp-3 changes the control plane.*--allow-control-plane-changes/,
    );
    setField(ws, /controlPlane:\n(\s+)count: 1/, 'controlPlane:\n$1count: 5');
    const grow = await deploy(ws, engine);
    expect(grow.error?.exitCode).toBe(ExitCode.InvalidConfig);
    expect(grow.error?.details.join('\n')).toMatch(/adding demo-cp-4, demo-cp-5 changes the control plane/);
    expect(engine.upCalls).toHaveLength(1);
  });

  it('3 → 1 control-plane nodes: each leaves in turn, its agent removing its etcd member, before its machine goes', async () => {
    const ws = h.workspace({}, { workers: { count: 0 } });
    const engine = h.engine();
    expect((await deploy(ws, engine)).error?.message).toBeUndefined();
    const pki = await loadPki(clusterPaths(ws.stateDir, 'demo').pki);
    // The Housekeeper agents of the leaving nodes, running as they would in their pods.
    const kube = adminKube(pki, { server: engine.api!.url, tlsServerName: 'api.demo.test' });
    const controller = new AbortController();
    const hosts = new Map(
      ['demo-cp-2', 'demo-cp-3'].map((n) => [n, new ScriptedHost({ controlPlaneVersion: 'v1.30.4' })]),
    );
    const agents = [...hosts].map(([name, host]) =>
      new NodeAgent({
        nodeName: name,
        namespace: 'housekeeper-system',
        kube,
        host,
        pollMs: 20,
        log: () => {},
      }).run(controller.signal),
    );
    h.cleanups.push(async () => {
      controller.abort();
      await Promise.all(agents);
      kube.close();
    });

    setField(ws, /controlPlane:\n(\s+)count: 3/, 'controlPlane:\n$1count: 1');
    const r = await deploy(ws, engine, { allowControlPlaneChanges: true });
    expect(r.error?.message).toBeUndefined();
    expect(hosts.get('demo-cp-3')!.etcdMemberRemoved).toBe(true);
    expect(hosts.get('demo-cp-2')!.etcdMemberRemoved).toBe(true);
    const deleted = engine.api!.requests.filter(
      (q) => q.method === 'DELETE' && q.path.startsWith('/api/v1/nodes/'),
    );
    expect(deleted.map((q) => q.path)).toEqual(['/api/v1/nodes/demo-cp-3', '/api/v1/nodes/demo-cp-2']);
    expect(engine.upCalls.at(-1)!.input.nodes.map((n) => n.node.name)).toEqual(['demo-cp-1']);
  });

  it('1 → 3 control-plane nodes join one at a time: the second is Ready before the third is created', async () => {
    const ws = h.workspace(
      {},
      { controlPlane: { count: 1, cpus: 2, memoryMiB: 4096 }, workers: { count: 0 } },
    );
    const engine = h.engine();
    expect((await deploy(ws, engine)).error?.message).toBeUndefined();
    bootNodesOneByOne(engine.api!, [
      { name: 'demo-cp-2', role: 'control-plane' },
      { name: 'demo-cp-3', role: 'control-plane' },
    ]);
    const readyAtUp: string[][] = [];
    const watching: EngineDouble = {
      ...engine,
      up: (req) => {
        readyAtUp.push(engine.api!.nodes.filter((n) => n.ready).map((n) => n.name));
        return engine.up(req);
      },
    };
    setField(ws, /controlPlane:\n(\s+)count: 1/, 'controlPlane:\n$1count: 3');
    const r = await deploy(ws, watching, { allowControlPlaneChanges: true });
    expect(r.error?.message).toBeUndefined();
    const calls = engine.upCalls.slice(1).map((c) => c.input.nodes.map((n) => n.node.name));
    expect(calls).toEqual([
      ['demo-cp-1', 'demo-cp-2'],
      ['demo-cp-1', 'demo-cp-2', 'demo-cp-3'],
    ]);
    expect(readyAtUp.at(-1)).toContain('demo-cp-2');
    expect(r.result!.nodes.map((n) => n.state)).toEqual(['ready', 'ready', 'ready']);
  });

  it('a control-plane node does not leave while another one is not Ready (etcd quorum)', async () => {
    const ws = h.workspace({}, { workers: { count: 0 } });
    const engine = h.engine();
    expect((await deploy(ws, engine)).error?.message).toBeUndefined();
    engine.api!.onRequest = undefined; // the nodes stop "booting": demo-cp-2 stays down
    engine.api!.setNodeReady('demo-cp-2', false);
    setField(ws, /controlPlane:\n(\s+)count: 3/, 'controlPlane:\n$1count: 2');
    const r = await deploy(ws, engine, { allowControlPlaneChanges: true, drainTimeoutMs: 500 });
    expect(r.error?.exitCode).toBe(ExitCode.ClusterOperation);
    expect(r.error?.message).toMatch(/not removing control-plane node demo-cp-3: demo-cp-2 is not Ready/);
    expect(engine.upCalls).toHaveLength(1);
  });

  it('after a recorded upgrade, an added worker boots on the upgraded image and version; the unedited config is told, the edited one shows no drift', async () => {
    const OLD = 'hub.example/nestos:v1.36';
    const NEW = 'hub.example/nestos:v1.37';
    const ws = h.workspace({}, { version: 'v1.36.4', releaseImage: OLD });
    const engine = h.engine();
    expect((await deploy(ws, engine)).error).toBeUndefined();
    const paths = clusterPaths(ws.stateDir, 'demo');
    // What `nkd upgrade --wait` records when the Update completes.
    recordUpgrades(paths, [
      { update: 'upgrade-1', completedAt: '2026-12-01T10:00:00Z', kubeVersion: 'v1.37.2', osImageURL: NEW },
    ]);

    setWorkers(ws, 3);
    bootAdded(engine, ['demo-worker-3']);
    const { error, rec } = await deploy(ws, engine);
    expect(error?.message).toBeUndefined();
    const input = engine.upCalls[1]!.input;
    expect(input.plan.kubernetes.version).toBe('v1.37.2');
    expect(input.plan.os.releaseImage).toBe(NEW);
    // The first boot rebases the new worker onto the upgraded image, not the deploy-time one.
    const rebase = ignitionFile(ignitionOf(engine, 1, 'demo-worker-3'), '/usr/local/bin/nkd-rebase');
    expect(rebase).toContain(NEW);
    expect(rebase).not.toContain(`${OLD}\n`);
    expect(ignitionFile(ignitionOf(engine, 0, 'demo-worker-1'), '/usr/local/bin/nkd-rebase')).toContain(OLD);
    const warnings = rec.events.filter((e) => e.type === 'warning').map((e) => e.message);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^spec\.kubernetes\.version v1\.36\.4 is older than v1\.37\.2, which Update upgrade-1/,
      ),
      expect.stringMatching(/^spec\.os\.releaseImage is hub\.example\/nestos:v1\.36, but Update upgrade-1/),
    ]);

    // The config edited to what the cluster runs: nothing to do (no version "change" to refuse).
    setField(ws, /version: v1\.36\.4/, 'version: v1.37.2');
    setField(ws, /releaseImage: hub\.example\/nestos:v1\.36/, `releaseImage: ${NEW}`);
    const again = await deploy(ws, engine);
    expect(again.error?.message).toBeUndefined();
    expect(again.rec.events.filter((e) => e.type === 'warning')).toEqual([]);
    expect(again.rec.lines.join('\n')).toContain('nothing to do');
  });
});
