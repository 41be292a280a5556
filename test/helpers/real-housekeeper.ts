/**
 * Housekeeper over a real control plane (test/helpers/real-api.ts): nkd's manifests installed by nkd's
 * own client (the CRDs validated by the real server), service-account tokens issued by the server's
 * TokenRequest, and the node side of a rollout: the real node agent (src/housekeeper/agent) of each node
 * handed a target, on a scripted NestOS host (the simulated part: rpm-ostree, reboot). Shared by the
 * rollout tests (test/integration/housekeeper-rollout-real.test.ts) and the scale benchmark
 * (scripts/bench-housekeeper/scale.bench.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { housekeeperManifests } from '../../src/addons/housekeeper/manifests.js';
import type { ClusterClient } from '../../src/cluster/types.js';
import { NodeAgent } from '../../src/housekeeper/agent/agent.js';
import { housekeeperKube } from '../../src/housekeeper/kube-client.js';
import {
  PROGRESS_ANNOTATION,
  TARGET_ANNOTATION,
  type NodeObject,
  type UpdateObject,
} from '../../src/housekeeper/types.js';
import { listAll } from '../../src/kube/list.js';
import { loadPki } from '../../src/pki/index.js';
import type { ClusterPki } from '../../src/pki/types.js';
import { dryRunState, startRealCluster, type RealCluster, type RealClusterOptions } from './real-api.js';
import { ScriptedHost } from './scripted-host.js';

export const HOUSEKEEPER_NS = 'housekeeper-system';
export const UPDATES_PATH = `/apis/housekeeper.io/v1alpha1/namespaces/${HOUSEKEEPER_NS}/updates`;

/**
 * nkd's Housekeeper manifests without the workloads (no image runs here): CRDs, RBAC, policies; resolves
 * once the server serves Updates (a new CRD's storage takes a moment: 429 "storage is initializing").
 */
export async function installHousekeeper(real: RealCluster, admin: ClusterClient): Promise<void> {
  const manifests = housekeeperManifests({ image: 'hub.example/nkd-housekeeper:test', nkdVersion: '0.1.0' });
  await admin.apply(manifests.filter((o) => o.kind !== 'Deployment' && o.kind !== 'DaemonSet'));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await real.api('GET', UPDATES_PATH);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(200);
    }
  }
}

/** A token of a Housekeeper service account, issued by the API server (TokenRequest). */
export async function serviceAccountToken(real: RealCluster, account: string): Promise<string> {
  const token = (await real.api(
    'POST',
    `/api/v1/namespaces/${HOUSEKEEPER_NS}/serviceaccounts/${account}/token`,
    { spec: { expirationSeconds: 86_400 } },
  )) as { status: { token: string } };
  return token.status.token;
}

/** The harness's own admin (not audited) as a caller for listAll. */
export function harnessCaller(real: RealCluster): {
  server: string;
  call: (method: string, path: string) => Promise<unknown>;
} {
  return { server: real.server, call: (method, path) => real.api(method, path) };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves with `check`'s first defined value (a rejection counts as not yet); throws after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(200);
  }
}

/** The Update CRD as templates/housekeeper/crd.yaml has it, created; resolves once Updates are served. */
export async function createUpdateCrd(real: RealCluster): Promise<void> {
  const crd = parseYaml(
    readFileSync(new URL('../../templates/housekeeper/crd.yaml', import.meta.url), 'utf8'),
  ) as object;
  await real.api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  await eventually(() => real.api('GET', '/apis/housekeeper.io/v1alpha1/updates'));
}

export interface RealSuite {
  /** Set in beforeAll: the running control plane, the dry-run state's PKI and directories. */
  real: RealCluster;
  pki: ClusterPki;
  state: Awaited<ReturnType<typeof dryRunState>>;
  /** Closed after the test that made it: housekeeperKube clients and the like. */
  closeAfterEach(close: () => void): void;
  /** A Housekeeper client authenticated as nkd's admin (pki/admin.*), closed after the test. */
  adminKube(): HousekeeperClient;
}

type HousekeeperClient = ReturnType<typeof housekeeperKube>;

/**
 * The hooks of a test file with one real control plane on a fresh dry-run state (beforeAll; `setup`
 * then runs once it is up), its clients closed after each test, everything stopped after all. Call it
 * inside describeReal's body.
 */
export function realSuite(
  options: Omit<RealClusterOptions, 'clusterDir'>,
  setup?: (suite: RealSuite) => Promise<void>,
): RealSuite {
  const closers: (() => void)[] = [];
  // real, pki and state are filled in by beforeAll, before any test reads them.
  const suite = {
    closeAfterEach: (close: () => void) => void closers.push(close),
    adminKube(): HousekeeperClient {
      const kube = housekeeperKube({
        server: suite.real.server,
        caPem: suite.pki.clusterCa.certPem,
        auth: { clientCertPem: suite.pki.admin.certPem, clientKeyPem: suite.pki.admin.keyPem },
        tlsServerName: suite.real.tlsServerName,
      });
      closers.push(() => kube.close());
      return kube;
    },
  } as Partial<RealSuite> as RealSuite;
  beforeAll(async () => {
    suite.state = await dryRunState();
    suite.pki = await loadPki(join(suite.state.clusterDir, 'pki'));
    suite.real = await startRealCluster({ clusterDir: suite.state.clusterDir, ...options });
    await setup?.(suite);
  }, 180_000);
  afterEach(() => {
    while (closers.length > 0) closers.pop()!();
  });
  afterAll(async () => {
    await suite.real?.stop();
    suite.state?.remove();
  });
  return suite;
}

export async function inChunks<T>(
  items: T[],
  size: number,
  run: (item: T) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

export interface NodeAgents {
  hosts: Map<string, ScriptedHost>;
  /** One pass of the agent of every node handed a target and not done or failed with it. */
  pass(): Promise<void>;
}

/**
 * The agents of a cluster's nodes, created when a node is first handed a target. A host that asked to
 * reboot comes back on its staged image with a fresh agent (as after its pod restarts).
 */
export function nodeAgents(options: {
  real: RealCluster;
  kube: ReturnType<typeof housekeeperKube>;
  oldImage: string;
  /** The kubeadm and kubelet version a host booted on `image` runs. */
  versionOf: (image: string) => string;
  /** Nodes that run a control plane (their host answers for its static pods' version). */
  controlPlanes?: string[];
  /** Called with each command line a host ran, after the host answered it. */
  onCommand?: (node: string, line: string, host: ScriptedHost) => void;
  /** Called when a host came back from its reboot (before its fresh agent's first pass). */
  onBoot?: (node: string, host: ScriptedHost) => void;
}): NodeAgents {
  const hosts = new Map<string, ScriptedHost>();
  const agents = new Map<string, NodeAgent>();
  const agentOf = (name: string): NodeAgent => {
    let host = hosts.get(name);
    if (!host) {
      const version = options.versionOf(options.oldImage);
      const created = new ScriptedHost({
        booted: `ostree-unverified-registry:${options.oldImage}`,
        kubeadmVersion: version,
        ...(options.controlPlanes?.includes(name) ? { controlPlaneVersion: version } : {}),
      });
      created.versionOfImage = options.versionOf;
      if (options.onCommand) created.onCommand = (line) => options.onCommand!(name, line, created);
      hosts.set(name, (host = created));
    }
    if (host.rebootRequested) {
      host.reboot();
      // The new image's kubeadm and kubelet run from this boot on.
      host.kubeadmVersion = options.versionOf(host.booted.replace(/^ostree-unverified-registry:/, ''));
      options.onBoot?.(name, host);
      agents.delete(name);
    }
    let agent = agents.get(name);
    if (!agent) {
      agent = new NodeAgent({
        nodeName: name,
        namespace: HOUSEKEEPER_NS,
        kube: options.kube,
        host,
        sleep: async () => {},
      });
      agents.set(name, agent);
    }
    return agent;
  };
  return {
    hosts,
    async pass() {
      const nodes = await listAll<NodeObject>(harnessCaller(options.real), '/api/v1/nodes');
      const working = nodes.filter((n) => {
        const annotations = n.metadata.annotations ?? {};
        const target = keyOf(annotations[TARGET_ANNOTATION]);
        if (target === undefined) return false;
        // Done or failed with this target (progress left by an earlier Update has another key).
        const progress = annotations[PROGRESS_ANNOTATION] ?? '';
        return keyOf(progress) !== target || !/"phase":"(done|failed)"/.test(progress);
      });
      await inChunks(working, 25, (n) =>
        agentOf(n.metadata.name)
          .step()
          .catch((err: unknown) => process.stderr.write(`agent ${n.metadata.name}: ${String(err)}\n`)),
      );
    },
  };
}

/** The `key` of a target or progress annotation (JSON); undefined when there is none. */
function keyOf(annotation: string | undefined): string | undefined {
  if (!annotation) return undefined;
  try {
    const key = (JSON.parse(annotation) as { key?: unknown }).key;
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Passes of `agents` every `everyMs` until the Update `name` is Completed (resolves) or Failed or past
 * `timeoutMs` (rejects), or `stop()` was called (resolves).
 */
export function driveAgents(
  real: RealCluster,
  agents: NodeAgents,
  name: string,
  options: { everyMs?: number; timeoutMs?: number; failedIsDone?: boolean } = {},
): { done: Promise<UpdateObject>; stop(): void } {
  let stopped = false;
  const deadline = Date.now() + (options.timeoutMs ?? 3_600_000);
  const done = (async () => {
    for (;;) {
      const update = (await real.api('GET', `${UPDATES_PATH}/${name}`).catch(() => undefined)) as
        UpdateObject | undefined;
      const phase = update?.status?.phase;
      if (stopped || phase === 'Completed' || (phase === 'Failed' && options.failedIsDone)) return update!;
      if (phase === 'Failed') throw new Error(`the rollout failed: ${JSON.stringify(update!.status)}`);
      if (Date.now() > deadline) throw new Error(`Update ${name} not Completed in time`);
      if (update) await agents.pass();
      await sleep(options.everyMs ?? 1000);
    }
  })();
  return {
    done,
    stop: () => {
      stopped = true;
    },
  };
}
