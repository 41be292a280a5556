// The whole deploy workflow with the provisioning engine replaced by a test double whose machines are
// kwok nodes of a real control plane (etcd, kube-apiserver, controller-manager, scheduler from
// NKD_KUBE_BIN) running on the cluster's own PKI. Everything else is real: config parsing, planning,
// rendering, state, the waits, and the server-side apply of the bundled calico and Housekeeper
// manifests, which the real API server validates (CRDs, RBAC, workloads) and the real controllers roll
// out. What nkd sent is read back from the API server's audit log and the objects' managedFields.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { parse } from 'yaml';
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
  usePki,
  type Workspace,
} from '../helpers/deploy-harness.js';
import { describeReal } from '../helpers/real.js';
import {
  dryRunState,
  freePorts,
  realApiRequirement,
  startRealCluster,
  tcpForward,
  type AuditEvent,
  type RealCluster,
} from '../helpers/real-api.js';

const h = harness();
/** Real controllers and kwok need seconds, not the milliseconds of the fake. */
const TIMEOUTS = { ...DEFAULT_TIMEOUTS, apiMs: 30_000, nodesMs: 60_000, addonsMs: 90_000, fetchMs: 4000 };

describeReal('deploy workflow (engine double + real Kubernetes API)', realApiRequirement(), () => {
  let cluster: RealCluster;
  let state: Awaited<ReturnType<typeof dryRunState>>;

  beforeAll(async () => {
    state = await dryRunState();
    cluster = await startRealCluster({ clusterDir: state.clusterDir });
  }, 180_000);
  afterAll(async () => {
    await cluster?.stop();
    state?.remove();
  });
  beforeEach(() => cluster.deleteAllNodes());
  afterEach(async () => {
    await h.booted();
    while (h.cleanups.length > 0) await h.cleanups.pop()!();
  });

  /** A workspace of the same cluster, trusting (and trusted by) the running server. */
  const workspace = (): Workspace => {
    const ws = h.workspace();
    usePki(ws, state.clusterDir);
    return ws;
  };
  const run = (
    ws: Workspace,
    engine: ReturnType<typeof h.realEngine>,
    o: Parameters<typeof deploy>[2] = {},
  ) => deploy(ws, engine, { timeouts: TIMEOUTS, ...o });

  /** nkd's requests from `from` on: "verb path" without the query, e.g. "patch /api/v1/namespaces/x". */
  const sent = (events: AuditEvent[]) => events.map((e) => `${e.verb} ${e.requestURI.split('?')[0]}`);

  it('provisions once, waits for the API and each node, installs calico and Housekeeper, and writes a working kubeconfig', async () => {
    const before = (await cluster.requests()).length;
    const ws = workspace();
    const engine = h.realEngine(cluster);
    const { result, error, rec } = await run(ws, engine);
    expect(error?.message).toBeUndefined();
    expect(engine.upCalls).toHaveLength(1);
    expect(result!.nodes.map((n) => n.state)).toEqual(['ready', 'ready', 'ready', 'ready', 'ready']);
    expect(Object.values(result!.phases)).not.toContain('verified');

    // Every node was reported joining, then Ready (the machines boot one after another meanwhile).
    const nodeEvents = rec.events.filter((e) => e.type === 'node').map((e) => `${e.node}:${e.state}`);
    for (const node of result!.nodes.map((n) => n.name)) {
      expect(nodeEvents).toContain(`${node}:joined`);
      expect(nodeEvents.indexOf(`${node}:joined`)).toBeLessThan(nodeEvents.indexOf(`${node}:ready`));
    }

    // One server-side apply per object, as nkd-admin with field manager nkd: the real server accepted
    // every CRD, RBAC object and workload; calico before Housekeeper.
    const events = (await cluster.requests()).slice(before);
    const applies = events.filter(
      (e) => e.verb === 'patch' && /[?&]fieldManager=nkd(&|$)/.test(e.requestURI),
    );
    expect(
      applies.every((e) => e.user.username === 'nkd-admin' && e.responseStatus?.code !== undefined),
    ).toBe(true);
    expect(applies.every((e) => e.responseStatus!.code! < 300)).toBe(true);
    const paths = sent(applies);
    const calico = paths.indexOf('patch /apis/apps/v1/namespaces/kube-system/daemonsets/calico-node');
    const crd = paths.indexOf(
      'patch /apis/apiextensions.k8s.io/v1/customresourcedefinitions/updates.housekeeper.io',
    );
    expect(calico).toBeGreaterThanOrEqual(0);
    expect(crd).toBeGreaterThan(calico);
    expect(paths).toContain(
      'patch /apis/apps/v1/namespaces/housekeeper-system/deployments/housekeeper-operator',
    );
    expect(paths).toContain('patch /apis/apps/v1/namespaces/housekeeper-system/daemonsets/housekeeper-agent');
    expect(
      paths.some((p) => p.startsWith('patch /apis/rbac.authorization.k8s.io/v1/clusterroles/housekeeper')),
    ).toBe(true);
    // What the server stored is nkd's, applied (not updated) under manager "nkd".
    const ds = JSON.parse(
      await cluster.kubectl([
        'get',
        'daemonset',
        'housekeeper-agent',
        '-n',
        'housekeeper-system',
        '-o',
        'json',
        '--show-managed-fields',
      ]),
    ) as {
      metadata: { managedFields: { manager: string; operation: string }[] };
      status: { numberReady: number };
    };
    expect(ds.metadata.managedFields).toContainEqual(
      expect.objectContaining({ manager: 'nkd', operation: 'Apply' }),
    );
    // Rolled out by the real DaemonSet controller onto the kwok nodes that take pods (not the tainted
    // control planes, unless the agent tolerates them).
    expect(ds.status.numberReady).toBeGreaterThanOrEqual(2);

    // The kubeconfig points at the reachable endpoint, verifies the planned name, and works.
    const kubeconfig = result!.kubeconfig;
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    const written = parse(readFileSync(kubeconfig, 'utf8')) as {
      clusters: { cluster: { server: string; 'tls-server-name'?: string } }[];
    };
    expect(written.clusters[0]!.cluster).toMatchObject({
      server: cluster.server,
      'tls-server-name': ENDPOINT_NAME,
    });
    // The real kubectl uses it as it is (a later --kubeconfig replaces the harness's own).
    const names = await cluster.kubectl(['--kubeconfig', kubeconfig, 'get', 'nodes', '-o', 'name']);
    expect(names.trim().split('\n').sort()).toEqual([
      'node/demo-cp-1',
      'node/demo-cp-2',
      'node/demo-cp-3',
      'node/demo-worker-1',
      'node/demo-worker-2',
    ]);

    const deployState = readDeployState(result!.clusterDir);
    expect(Object.keys(deployState.phases)).toEqual([
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

  it('installs the bundled flannel when the config asks for it: accepted and rolled out by the real server', async () => {
    const before = (await cluster.requests()).length;
    const ws = h.workspace({ network: { plugin: 'flannel' } });
    usePki(ws, state.clusterDir);
    const { error } = await run(ws, h.realEngine(cluster));
    expect(error?.message).toBeUndefined();
    const applied = sent((await cluster.requests()).slice(before).filter((e) => e.verb === 'patch'));
    expect(applied).toContain('patch /apis/apps/v1/namespaces/kube-flannel/daemonsets/kube-flannel-ds');
    expect(applied.some((p) => p.includes('calico'))).toBe(false);
    const ds = JSON.parse(
      await cluster.kubectl(['get', 'daemonset', 'kube-flannel-ds', '-n', 'kube-flannel', '-o', 'json']),
    ) as { status: { desiredNumberScheduled: number; numberReady: number } };
    expect(ds.status.numberReady).toBe(ds.status.desiredNumberScheduled);
    expect(ds.status.numberReady).toBe(5);
  });

  it('a re-run after success verifies every phase and repeats nothing', async () => {
    const ws = workspace();
    const engine = h.realEngine(cluster);
    expect((await run(ws, engine)).error).toBeUndefined();
    const before = (await cluster.requests()).length;
    const again = await run(ws, engine);
    expect(again.error).toBeUndefined();
    expect(engine.upCalls).toHaveLength(1);
    // Reads only: nothing applied, nothing written.
    const writes = (await cluster.requests())
      .slice(before)
      .filter((e) => !['get', 'list', 'watch'].includes(e.verb));
    expect(sent(writes)).toEqual([]);
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
    const engine = h.realEngine(cluster);
    const interrupt = interruptAfter('provision');
    const first = await run(ws, engine, { signal: interrupt.signal, reporter: interrupt.reporter });
    expect(first.error?.exitCode).toBe(ExitCode.Interrupted);
    expect(engine.upCalls).toHaveLength(1);
    const s = readDeployState(clusterPaths(ws.stateDir, 'demo').root);
    expect(Object.keys(s.phases)).toEqual(['pre-deploy', 'drain', 'join-token', 'provision']);

    const second = await run(ws, engine);
    expect(second.error).toBeUndefined();
    expect(engine.upCalls).toHaveLength(1);
    expect(second.result!.phases.provision).toBe('verified');
    expect(second.result!.phases['wait-api']).toBe('ran');
  });

  it('refuses a second concurrent deploy of the same cluster', async () => {
    const ws = workspace();
    let release!: () => void;
    const engine = h.realEngine(cluster, { hold: new Promise<void>((r) => (release = r)) });
    const running = run(ws, engine);
    while (engine.upCalls.length === 0) await new Promise((r) => setTimeout(r, 10));
    const second = await run(ws, h.realEngine(cluster));
    expect(second.error?.exitCode).toBe(ExitCode.State);
    expect(second.error?.message).toMatch(/working on cluster demo/);
    release();
    expect((await running).error).toBeUndefined();
  });

  it('a wait that never succeeds ends at its deadline with diagnostics and exit code 7, and a re-run resumes it', async () => {
    const ws = workspace();
    // The machines report an address where no API server listens yet.
    const [port] = await freePorts(1);
    const engine = h.realEngine(cluster, { endpoint: `127.0.0.1:${port}` });
    const started = Date.now();
    const { error } = await run(ws, engine, { timeouts: { ...TIMEOUTS, apiMs: 600 } });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(error?.exitCode).toBe(ExitCode.WaitTimeout);
    expect(error?.message).toMatch(/API server.*ready/);
    const details = error!.details.join('\n');
    expect(details).toMatch(/connection refused/);
    expect(details).toMatch(/passed to the machines directly/);
    expect(details).toContain('/var/log/libvirt/qemu/demo-cp-1-console.log');

    // The API server comes up at that address: provisioning is not repeated, the wait resumes.
    const forward = await tcpForward(cluster.port, port);
    h.cleanups.push(() => forward.close());
    const again = await run(ws, engine);
    expect(again.error).toBeUndefined();
    expect(engine.upCalls).toHaveLength(1);
    expect(again.result!.phases['wait-api']).toBe('ran');
  });

  it("rejects an API server whose certificate comes from another CA (another cluster's server)", async () => {
    const ws = h.workspace(); // its own, new PKI: the running server is not its cluster
    const engine = h.realEngine(cluster);
    const before = (await cluster.requests()).length;
    const { error } = await run(ws, engine, { timeouts: { ...TIMEOUTS, apiMs: 500 } });
    expect(error?.exitCode).toBe(ExitCode.WaitTimeout);
    expect(error!.details.join('\n')).toMatch(/certificate/i);
    // Refused in the handshake: the server never saw a request.
    expect((await cluster.requests()).slice(before)).toEqual([]);
  });

  it('destroy after a provisioning that failed half-way removes what exists and the state', async () => {
    const ws = workspace();
    const engine = h.realEngine(cluster, { failAfter: 2 });
    const { error } = await run(ws, engine, {
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
    const engine = h.realEngine(cluster);
    const { rec, error } = await run(ws, engine);
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
      pki.vrrpPassword,
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
