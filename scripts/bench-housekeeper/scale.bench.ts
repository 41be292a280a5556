/**
 * Housekeeper at scale (`npm run bench:housekeeper`): a real control plane (test/helpers/real-api.ts:
 * etcd, kube-apiserver, kwok, from `npm run tools`) with NKD_BENCH_NODES kwok nodes (default 1,000), each
 * running one kube-system DaemonSet pod, the Housekeeper's CRD and RBAC applied by nkd's own client, and
 * the operator as its image runs it (operator.mjs, its own process, its service account's token).
 *
 * Three phases, each measured from the API server's audit log (the operator's own requests, by its
 * service account) and from the operator's per-pass report (RSS, pass and planning time):
 *   1. idle, no Update, NKD_BENCH_IDLE_S seconds (default 60);
 *   2. an OS rollout over every node (NKD_BENCH_MAX_UNAVAILABLE workers at once, default 100), driven
 *      by the real node agent (src/housekeeper/agent) of each node handed out, on a scripted host (the
 *      simulated part: rpm-ostree, reboot), authenticated as nkd's admin;
 *   3. idle again, with the Update Completed.
 * Prints a table and writes bench-housekeeper.json. Needs `npm run build` (operator.mjs runs dist/).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, expect, it } from 'vitest';
import { clusterClientFromPki } from '../../src/cluster/client.js';
import { housekeeperKube } from '../../src/housekeeper/kube-client.js';
import { OS_IMAGE_ANNOTATION, type NodeObject, type PodObject } from '../../src/housekeeper/types.js';
import { listAll } from '../../src/kube/list.js';
import { loadPki } from '../../src/pki/index.js';
import {
  dryRunState,
  startRealCluster,
  type AuditEvent,
  type RealCluster,
} from '../../test/helpers/real-api.js';
import {
  driveAgents,
  harnessCaller as harness,
  HOUSEKEEPER_NS as NS,
  inChunks,
  installHousekeeper,
  nodeAgents,
  serviceAccountToken,
  sleep,
  UPDATES_PATH as UPDATES,
} from '../../test/helpers/real-housekeeper.js';

const NODES = Number(process.env.NKD_BENCH_NODES ?? 1000);
const IDLE_S = Number(process.env.NKD_BENCH_IDLE_S ?? 60);
const MAX_UNAVAILABLE = Number(process.env.NKD_BENCH_MAX_UNAVAILABLE ?? 100);
const OPERATOR_USER = `system:serviceaccount:${NS}:housekeeper-operator`;
const OLD = 'hub.example/nestos:old';
const NEW = 'hub.example/nestos:new';
const KUBE_VERSION = 'v1.37.2';

interface Pass {
  at: number;
  passMs: number;
  planMs?: number;
  rss: number;
  heapUsed: number;
  nodes?: number;
}

interface PhaseResult {
  phase: string;
  seconds: number;
  requests: number;
  requestsPerMinute: number;
  byKind: Record<string, number>;
  passes: number;
  passMsMedian: number;
  passMsMax: number;
  planMsMedian?: number;
  planMsMax?: number;
  rssMiBMax: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

/** Polls every 2 s until `done`, for at most 10 minutes. */
async function until(what: string, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 600_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`not within 10 minutes: ${what}`);
    await sleep(2000);
  }
}

/** "list nodes", "patch updates/status", ...: what kind of request an audit event was. */
function kindOf(e: AuditEvent): string {
  const ref = e.objectRef;
  return `${e.verb} ${ref?.resource ?? e.requestURI.split('?')[0]}${ref?.subresource ? `/${ref.subresource}` : ''}`;
}

let cluster: RealCluster | undefined;
let state: Awaited<ReturnType<typeof dryRunState>> | undefined;
let stopOperator: (() => void) | undefined;
afterAll(async () => {
  stopOperator?.();
  await cluster?.stop();
  state?.remove();
});

it(`Housekeeper operator over ${NODES} kwok nodes: requests, memory, planning time`, async () => {
  state = await dryRunState();
  const pki = await loadPki(join(state.clusterDir, 'pki'));
  // No controller manager: its garbage collector would delete the pods owned by a DaemonSet that is not
  // there; the operator needs none of its controllers.
  cluster = await startRealCluster({
    clusterDir: state.clusterDir,
    scheduler: false,
    controllerManager: false,
  });
  const real = cluster;
  const admin = clusterClientFromPki(pki, real.server, { tlsServerName: real.tlsServerName });
  await installHousekeeper(real, admin);

  // The nodes, each reporting the old image (as its agent would have), and one DaemonSet pod each.
  const names = Array.from({ length: NODES }, (_, i) => `node-${String(i + 1).padStart(4, '0')}`);
  let t = Date.now();
  await inChunks(names, 25, (name) =>
    real.addNodes([{ name, kubeletVersion: KUBE_VERSION, annotations: { [OS_IMAGE_ANNOTATION]: OLD } }]),
  );
  // Polled every 2 s (the harness's nodesReady polls every 100 ms: too much for a thousand nodes).
  await until(`${NODES} nodes Ready`, async () => {
    const nodes = await listAll<NodeObject>(harness(real), '/api/v1/nodes');
    return (
      nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .length >= NODES
    );
  });
  const nodesMs = Date.now() - t;
  t = Date.now();
  // Without a controller manager nothing creates the "default" service account the pods need.
  await real
    .api('POST', '/api/v1/namespaces/kube-system/serviceaccounts', { metadata: { name: 'default' } })
    .catch(() => undefined);
  await inChunks(names, 25, (name) =>
    real.api('POST', '/api/v1/namespaces/kube-system/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `kube-proxy-${name}`,
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'DaemonSet',
            name: 'kube-proxy',
            uid: '00000000-0000-0000-0000-000000000001',
            controller: true,
          },
        ],
      },
      spec: {
        nodeName: name,
        containers: [{ name: 'kube-proxy', image: 'registry.k8s.io/kube-proxy:v1.37.2' }],
      },
    }),
  );
  await until(`${NODES} DaemonSet pods Ready`, async () => {
    const pods = await listAll<PodObject>(harness(real), '/api/v1/namespaces/kube-system/pods');
    return (
      pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .length >= NODES
    );
  });
  const podsMs = Date.now() - t;
  console.log(
    `bench: ${NODES} nodes Ready in ${(nodesMs / 1000).toFixed(0)} s, their pods in ${(podsMs / 1000).toFixed(0)} s`,
  );

  // The operator, in a process of its own, with its service account's token.
  const dir = mkdtempSync(join(tmpdir(), 'nkd-bench-hk-'));
  writeFileSync(join(dir, 'token'), await serviceAccountToken(real, 'housekeeper-operator'), { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), pki.clusterCa.certPem);
  const passes: Pass[] = [];
  const child = spawn(process.execPath, [join(import.meta.dirname, 'operator.mjs')], {
    env: {
      ...process.env,
      NKD_BENCH_SERVER: real.server,
      NKD_BENCH_CA_FILE: join(dir, 'ca.crt'),
      NKD_BENCH_TOKEN_FILE: join(dir, 'token'),
      NKD_BENCH_TLS_NAME: real.tlsServerName,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stopOperator = () => child.kill('SIGTERM');
  createInterface({ input: child.stdout! }).on('line', (line) => passes.push(JSON.parse(line) as Pass));
  createInterface({ input: child.stderr! }).on('line', (line) => process.stderr.write(`operator: ${line}\n`));
  while (passes.length === 0) await sleep(200);

  const results: PhaseResult[] = [];
  async function measure(phase: string, during: () => Promise<void>): Promise<void> {
    const before = (await real.requests()).length;
    const firstPass = passes.length;
    const started = Date.now();
    await during();
    const seconds = (Date.now() - started) / 1000;
    const mine = (await real.requests()).slice(before).filter((e) => e.user.username === OPERATOR_USER);
    const byKind: Record<string, number> = {};
    for (const e of mine) byKind[kindOf(e)] = (byKind[kindOf(e)] ?? 0) + 1;
    const window = passes.slice(firstPass);
    const plans = window.flatMap((p) => (p.planMs === undefined ? [] : [p.planMs]));
    results.push({
      phase,
      seconds: Math.round(seconds),
      requests: mine.length,
      requestsPerMinute: Math.round((mine.length / seconds) * 60 * 10) / 10,
      byKind,
      passes: window.length,
      passMsMedian: Math.round(median(window.map((p) => p.passMs))),
      passMsMax: Math.round(Math.max(0, ...window.map((p) => p.passMs))),
      ...(plans.length > 0
        ? {
            planMsMedian: Math.round(median(plans) * 10) / 10,
            planMsMax: Math.round(Math.max(...plans) * 10) / 10,
          }
        : {}),
      rssMiBMax: mib(Math.max(0, ...window.map((p) => p.rss))),
    });
  }

  await measure('idle, no Update', () => sleep(IDLE_S * 1000));

  const agentKube = housekeeperKube({
    server: real.server,
    caPem: pki.clusterCa.certPem,
    auth: { clientCertPem: pki.admin.certPem, clientKeyPem: pki.admin.keyPem },
    tlsServerName: real.tlsServerName,
  });
  await measure(`rollout of ${NODES} nodes, ${MAX_UNAVAILABLE} at once`, async () => {
    await real.api('POST', UPDATES, {
      apiVersion: 'housekeeper.io/v1alpha1',
      kind: 'Update',
      metadata: { name: 'os-new' },
      spec: { osImageURL: NEW, maxUnavailable: MAX_UNAVAILABLE, drainTimeoutSeconds: 60 },
    });
    // Every second, one pass of each handed-out node's agent, until Completed (Failed: an error).
    const agents = nodeAgents({ real, kube: agentKube, oldImage: OLD, versionOf: () => KUBE_VERSION });
    await driveAgents(real, agents, 'os-new').done;
  });
  agentKube.close();

  await measure('idle, Update Completed', () => sleep(IDLE_S * 1000));
  stopOperator();
  admin.close();

  writeFileSync('bench-housekeeper.json', `${JSON.stringify({ nodes: NODES, results }, null, 2)}\n`);
  console.table(
    results.map((r) => ({
      phase: r.phase,
      s: r.seconds,
      'requests/min': r.requestsPerMinute,
      passes: r.passes,
      'pass ms (median/max)': `${r.passMsMedian}/${r.passMsMax}`,
      'plan ms (median/max)': r.planMsMedian === undefined ? '-' : `${r.planMsMedian}/${r.planMsMax}`,
      'RSS MiB (max)': r.rssMiBMax,
    })),
  );
  for (const r of results) console.log(`${r.phase}: ${JSON.stringify(r.byKind)}`);
  // Idle must not depend on the node count: no node or pod lists while nothing is to be done.
  for (const r of [results[0]!, results[2]!]) {
    expect(
      Object.keys(r.byKind).filter((k) => k.startsWith('list nodes') || k.startsWith('list pods')),
    ).toEqual([]);
  }
});
