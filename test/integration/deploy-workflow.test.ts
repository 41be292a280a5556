// The whole deploy workflow with the provisioning engine replaced by a test double and the Kubernetes
// API served by the in-process HTTPS fake, which trusts and presents the cluster's own generated PKI.
// Everything else is real: config parsing, planning, PKI, rendering, state, waits, server-side apply.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitCode, NkdError } from '../../src/errors.js';
import { loadPki } from '../../src/pki/index.js';
import { resolvePassphrase } from '../../src/engine/passphrase.js';
import { DEFAULT_TIMEOUTS } from '../../src/workflows/deploy-context.js';
import { readDeployState } from '../../src/workflows/deploy-state.js';
import { runDestroy } from '../../src/workflows/destroy.js';
import { clusterPaths } from '../../src/state/paths.js';
import {
  deploy,
  ENDPOINT_NAME,
  harness,
  interruptAfter,
  recorder,
  SERVING_NAMES,
} from '../helpers/deploy-harness.js';
import type { EngineDouble } from '../helpers/engine-double.js';
import { generateOtherCa } from '../helpers/fake-kube-api.js';

const h = harness();
afterEach(async () => {
  while (h.cleanups.length > 0) await h.cleanups.pop()!();
});
const workspace = () => h.workspace();
const newEngine = (options: Parameters<typeof h.engine>[0] = {}) => h.engine(options);

function appliedKinds(engine: EngineDouble): string[] {
  return engine.api!.applied.map((a) => `${a.body.kind}/${(a.body.metadata as { name: string }).name}`);
}

describe('deploy workflow (engine double + fake Kubernetes API)', () => {
  it('provisions once, waits for the API and each node, installs the network plugin and Housekeeper, and writes a working kubeconfig', async () => {
    const ws = workspace();
    const engine = newEngine();
    const { result, error, rec } = await deploy(ws, engine);
    expect(error?.message).toBeUndefined();
    expect(engine.upCalls).toHaveLength(1);
    expect(result!.nodes.map((n) => n.state)).toEqual(['ready', 'ready', 'ready', 'ready', 'ready']);
    expect(Object.values(result!.phases)).not.toContain('verified');

    // Nodes were seen joining, then Ready, one at a time.
    const nodeEvents = rec.events.filter((e) => e.type === 'node').map((e) => `${e.node}:${e.state}`);
    expect(nodeEvents).toContain('demo-cp-1:joined');
    expect(nodeEvents.indexOf('demo-cp-1:ready')).toBeLessThan(nodeEvents.indexOf('demo-cp-2:joined'));

    const kinds = appliedKinds(engine);
    expect(kinds).toContain('CustomResourceDefinition/updates.housekeeper.io');
    expect(kinds).toContain('Deployment/housekeeper-operator');
    expect(kinds).toContain('DaemonSet/housekeeper-agent');
    expect(kinds.some((k) => k.startsWith('ClusterRole/housekeeper'))).toBe(true);
    expect(kinds.some((k) => k.startsWith('ClusterRoleBinding/housekeeper'))).toBe(true);
    expect(kinds).toContain('DaemonSet/calico-node');
    // Housekeeper comes after the network plugin, in one server-side apply per object.
    expect(kinds.indexOf('DaemonSet/calico-node')).toBeLessThan(
      kinds.indexOf('CustomResourceDefinition/updates.housekeeper.io'),
    );
    expect(engine.api!.applied.every((a) => a.contentType.startsWith('application/apply-patch+yaml'))).toBe(
      true,
    );
    expect(
      engine.api!.applied.every((a) => a.fieldManager === 'nkd' && a.client.o === 'system:masters'),
    ).toBe(true);

    // The kubeconfig points at the reachable endpoint, verifies the planned name, and works.
    const kubeconfig = result!.kubeconfig;
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    expect(kc.getCurrentCluster()).toMatchObject({
      server: `https://127.0.0.1:${engine.api!.port}`,
      tlsServerName: ENDPOINT_NAME,
    });
    const list = await kc.makeApiClient(k8s.CoreV1Api).listNode();
    expect(list.items.map((n) => n.metadata?.name).sort()).toEqual([
      'demo-cp-1',
      'demo-cp-2',
      'demo-cp-3',
      'demo-worker-1',
      'demo-worker-2',
    ]);

    const state = readDeployState(result!.clusterDir);
    expect(Object.keys(state.phases)).toEqual([
      'pre-deploy',
      'drain',
      'join-token',
      'provision',
      'ignition',
      'wait-api',
      'network',
      'wait-nodes',
      'housekeeper',
      'post-deploy',
    ]);
  });

  it('a re-run after success verifies every phase and repeats nothing', async () => {
    const ws = workspace();
    const engine = newEngine();
    expect((await deploy(ws, engine)).error).toBeUndefined();
    const appliedBefore = engine.api!.applied.length;
    const again = await deploy(ws, engine);
    expect(again.error).toBeUndefined();
    expect(engine.upCalls).toHaveLength(1);
    expect(engine.api!.applied.length).toBe(appliedBefore);
    expect(again.result!.phases).toMatchObject({
      provision: 'verified',
      'wait-api': 'verified',
      network: 'verified',
      'wait-nodes': 'verified',
      housekeeper: 'verified',
    });
  });

  it('interrupted between phases, a re-run resumes from the first unfinished phase without provisioning again', async () => {
    const ws = workspace();
    const engine = newEngine();
    const interrupt = interruptAfter('provision');
    const first = await deploy(ws, engine, { signal: interrupt.signal, reporter: interrupt.reporter });
    expect(first.error?.exitCode).toBe(ExitCode.Interrupted);
    expect(engine.upCalls).toHaveLength(1);
    const state = readDeployState(clusterPaths(ws.stateDir, 'demo').root);
    expect(Object.keys(state.phases)).toEqual(['pre-deploy', 'drain', 'join-token', 'provision']);

    const second = await deploy(ws, engine);
    expect(second.error).toBeUndefined();
    expect(engine.upCalls).toHaveLength(1);
    expect(second.result!.phases.provision).toBe('verified');
    expect(second.result!.phases['wait-api']).toBe('ran');
  });

  it('refuses a second concurrent deploy of the same cluster', async () => {
    const ws = workspace();
    let release!: () => void;
    const engine = newEngine({ hold: new Promise<void>((r) => (release = r)) });
    const running = deploy(ws, engine);
    while (engine.upCalls.length === 0) await new Promise((r) => setTimeout(r, 10));
    const second = await deploy(ws, newEngine());
    expect(second.error?.exitCode).toBe(ExitCode.State);
    expect(second.error?.message).toMatch(/working on cluster demo/);
    release();
    expect((await running).error).toBeUndefined();
  });

  it('a wait that never succeeds ends at its deadline with diagnostics and exit code 7, and a re-run resumes it', async () => {
    const ws = workspace();
    const engine = newEngine({ api: { servingNames: SERVING_NAMES, readyAfterMs: Infinity } });
    const started = Date.now();
    const { error } = await deploy(ws, engine, { timeouts: { ...DEFAULT_TIMEOUTS, apiMs: 600 } });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(error?.exitCode).toBe(ExitCode.WaitTimeout);
    expect(error?.message).toMatch(/API server.*ready/);
    const details = error!.details.join('\n');
    expect(details).toMatch(/readyz answered HTTP 500/);
    expect(details).toMatch(/passed to the machines directly/);
    expect(details).toContain('/var/log/libvirt/qemu/demo-cp-1-console.log');

    engine.api!.setReady(true);
    const again = await deploy(ws, engine);
    expect(again.error).toBeUndefined();
    expect(engine.upCalls).toHaveLength(1);
    expect(again.result!.phases['wait-api']).toBe('ran');
  });

  it('rejects an API server whose certificate comes from another CA', async () => {
    const ws = workspace();
    const engine = newEngine({ api: { servingNames: SERVING_NAMES, servingCa: await generateOtherCa() } });
    const { error } = await deploy(ws, engine, { timeouts: { ...DEFAULT_TIMEOUTS, apiMs: 500 } });
    expect(error?.exitCode).toBe(ExitCode.WaitTimeout);
    expect(error!.details.join('\n')).toMatch(/certificate/i);
    expect(engine.api!.applied).toHaveLength(0);
  });

  it('destroy after a provisioning that failed half-way removes what exists and the state', async () => {
    const ws = workspace();
    const engine = newEngine({ failAfter: 2 });
    const { error } = await deploy(ws, engine, {
      engine: {
        ...engine,
        up: (req) =>
          engine.up(req).catch((err: Error) => {
            throw new NkdError(`provisioning failed: ${err.message}`, ExitCode.Provisioning);
          }),
      },
    });
    expect(error?.exitCode).toBe(ExitCode.Provisioning);
    expect([...engine.resources]).toEqual(['demo-cp-1', 'demo-cp-2']);
    const paths = clusterPaths(ws.stateDir, 'demo');
    expect(readDeployState(paths.root).phases.provision).toBeUndefined();

    const rec = recorder();
    const done = await runDestroy({
      cluster: 'demo',
      paths,
      engine,
      reporter: rec.reporter,
      signal: new AbortController().signal,
      keepState: false,
    });
    expect(done).toEqual({ engineRan: true, stateRemoved: true });
    expect(engine.resources.size).toBe(0);
    expect(existsSync(paths.root)).toBe(false);
  });

  it('keeps every secret out of the progress lines, the JSON events and the debug log', async () => {
    const ws = workspace();
    const engine = newEngine();
    const { rec, error } = await deploy(ws, engine);
    expect(error).toBeUndefined();
    const paths = clusterPaths(ws.stateDir, 'demo');
    const passphrase = resolvePassphrase(join(paths.root, 'engine'), undefined);
    const pki = await loadPki(paths.pki);
    const logText = readdirSync(paths.logs)
      .map((f) => readFileSync(join(paths.logs, f), 'utf8'))
      .join('\n');
    expect(logText).toMatch(/wait-nodes/);
    const secrets = [
      pki.bootstrapToken,
      pki.bootstrapToken.split('.')[1]!,
      pki.certificateKey,
      passphrase,
      ...[pki.clusterCa, pki.etcdCa, pki.frontProxyCa, pki.admin].map((c) => c.keyPem.split('\n')[1]!),
      pki.serviceAccount.privateKeyPem.split('\n')[1]!,
    ];
    for (const text of [rec.lines.join(''), logText]) {
      expect(text).not.toContain('PRIVATE KEY');
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  });
});
