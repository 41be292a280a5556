// Scale-in through the real deploy workflow against a real control plane (test/helpers/real-api.ts):
// removed workers are cordoned and drained through the real Eviction API, which the real disruption
// controller's PodDisruptionBudget status governs, and their Node objects are deleted before the
// machines go.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { DEFAULT_TIMEOUTS } from '../../src/workflows/deploy-context.js';
import { deploy, harness, usePki, type Workspace } from '../helpers/deploy-harness.js';
import type { EngineDouble } from '../helpers/engine-double.js';
import { describeReal } from '../helpers/real.js';
import { dryRunState, realApiRequirement, startRealCluster, type RealCluster } from '../helpers/real-api.js';

const h = harness();
const TIMEOUTS = { ...DEFAULT_TIMEOUTS, apiMs: 30_000, nodesMs: 60_000, addonsMs: 90_000, fetchMs: 4000 };

function setWorkers(ws: Workspace, count: number): void {
  writeFileSync(
    ws.config,
    readFileSync(ws.config, 'utf8').replace(/workers:\n(\s+)count: \d+/, `workers:\n$1count: ${count}`),
  );
}

describeReal('scale-in drains on the real API server', realApiRequirement(), () => {
  let cluster: RealCluster;
  let state: Awaited<ReturnType<typeof dryRunState>>;

  beforeAll(async () => {
    state = await dryRunState({ workers: { count: 4 } });
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

  const nodeNames = async (): Promise<string[]> =>
    ((await cluster.api('GET', '/api/v1/nodes')) as { items: { metadata: { name: string } }[] }).items.map(
      (n) => n.metadata.name,
    );
  /** A one-replica Deployment whose pod runs on `node`. */
  const pinned = async (ns: string, name: string, node: string): Promise<void> => {
    await cluster.kubectl(['create', 'namespace', ns]);
    await cluster.kubectl(['create', 'deployment', name, '-n', ns, '--image=registry.example/app:1']);
    await cluster.kubectl([
      'patch',
      'deployment',
      name,
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { template: { spec: { nodeSelector: { 'kubernetes.io/hostname': node } } } } }),
    ]);
    await cluster.kubectl(['rollout', 'status', `deployment/${name}`, '-n', ns, '--timeout=60s']);
  };

  it('4 → 2 workers evicts the pods of the highest-numbered workers and deletes their Node objects before their machines go', async () => {
    const ws = h.workspace({}, { workers: { count: 4 } });
    usePki(ws, state.clusterDir);
    const engine = h.realEngine(cluster);
    expect((await deploy(ws, engine, { timeouts: TIMEOUTS })).error?.message).toBeUndefined();
    await pinned('shop', 'web', 'demo-worker-4');

    let nodesAtUp: string[] = [];
    const watching: EngineDouble = {
      ...engine,
      up: async (req) => ((nodesAtUp = await nodeNames()), engine.up(req)),
    };
    const before = (await cluster.requests()).length;
    setWorkers(ws, 2);
    const { error } = await deploy(ws, watching, { timeouts: TIMEOUTS });
    expect(error?.message).toBeUndefined();
    expect(nodesAtUp).not.toContain('demo-worker-3');
    expect(nodesAtUp).not.toContain('demo-worker-4');
    expect(engine.upCalls.at(-1)!.input.nodes.map((n) => n.node.name)).toEqual([
      'demo-cp-1',
      'demo-cp-2',
      'demo-cp-3',
      'demo-worker-1',
      'demo-worker-2',
    ]);
    // The real Eviction API took the pod (no budget covers it), as nkd's admin.
    const evictions = (await cluster.requests())
      .slice(before)
      .filter((e) => e.objectRef?.subresource === 'eviction' && e.objectRef.namespace === 'shop');
    expect(evictions).toHaveLength(1);
    expect(evictions[0]).toMatchObject({
      verb: 'create',
      user: { username: 'nkd-admin' },
      responseStatus: { code: 201 },
    });
  });

  it('a worker whose drain a real PodDisruptionBudget blocks is not removed (exit 8, naming the budget) unless forced', async () => {
    const ws = h.workspace({}, { workers: { count: 3 } });
    usePki(ws, state.clusterDir);
    const engine = h.realEngine(cluster);
    expect((await deploy(ws, engine, { timeouts: TIMEOUTS })).error?.message).toBeUndefined();
    await pinned('store', 'db', 'demo-worker-3');
    await cluster.kubectl([
      'create',
      'poddisruptionbudget',
      'db-pdb',
      '-n',
      'store',
      '--selector=app=db',
      '--min-available=1',
    ]);
    // The disruption controller has counted the pod: no disruption allowed.
    for (let i = 0; i < 100; i++) {
      const pdb = (await cluster.api(
        'GET',
        '/apis/policy/v1/namespaces/store/poddisruptionbudgets/db-pdb',
      )) as {
        status?: { currentHealthy?: number };
      };
      if (pdb.status?.currentHealthy === 1) break;
      await new Promise((r) => setTimeout(r, 200));
    }

    setWorkers(ws, 2);
    const blocked = await deploy(ws, engine, { timeouts: TIMEOUTS, drainTimeoutMs: 2000 });
    expect(blocked.error?.exitCode).toBe(ExitCode.ClusterOperation);
    expect(blocked.error?.message).toMatch(
      /cannot drain demo-worker-3.*store\/db-[a-z0-9-]+ \(blocked by store\/db-pdb\)/,
    );
    expect(engine.upCalls).toHaveLength(1);
    expect(await nodeNames()).toContain('demo-worker-3');

    const forced = await deploy(ws, engine, { timeouts: TIMEOUTS, drainTimeoutMs: 2000, forceDrain: true });
    expect(forced.error?.message).toBeUndefined();
    expect(await nodeNames()).not.toContain('demo-worker-3');
  });
});
