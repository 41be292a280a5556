/**
 * A real Kubernetes control plane for tests: etcd, kube-apiserver, kube-controller-manager and
 * kube-scheduler built by `npm run tools` (NKD_KUBE_BIN), run on loopback with an nkd cluster's own
 * PKI, plus kwok for nodes that turn Ready and pods that run.
 *
 * Usage (one start per test file; about 5-15 s on this machine, printed at start):
 *
 *   const need = realApiRequirement();                       // for describeReal (helpers/real.ts)
 *   describeReal('my real-API tests', need, () => {
 *     let cluster: RealCluster;
 *     beforeAll(async () => { cluster = await startRealCluster({ clusterDir }); }, 120_000);
 *     afterAll(() => cluster?.stop());
 *     it('...', async () => {
 *       await cluster.addNodes([{ name: 'demo-cp-1', controlPlane: true }]);  // kwok makes it Ready
 *       const out = await cluster.kubectl(['get', 'nodes', '-o', 'json']);     // the real kubectl
 *       // nkd itself: cluster.server (https://127.0.0.1:PORT) with the planned endpoint's name as the
 *       // TLS name, or cluster.writeOutputs() so `nkd status/wait/...` dial it like a deployed cluster.
 *     });
 *   });
 *
 * What "an nkd cluster's own PKI" means here, exactly as kubeadm sets a control plane up:
 * - `clusterDir` is a cluster state directory written by `nkd deploy --dry-run` (plan.json, pki/), or
 *   use `dryRunState()` to make one in-process;
 * - the cluster CA (pki/ca.*) signs the API server's serving certificate, for the plan's certSANs
 *   (the planned endpoint's name, each control-plane name and address) plus kubeadm's defaults
 *   (kubernetes.default.svc..., the first service IP) and 127.0.0.1, and the controller-manager's and
 *   scheduler's client certificates; it is the API server's --client-ca-file, so nkd's admin
 *   certificate (pki/admin.*) authenticates as it would on a deployed cluster;
 * - the etcd CA signs etcd's serving certificate and the API server's etcd client certificate;
 * - the front-proxy CA is the --requestheader-client-ca-file and signs the front-proxy client;
 * - nkd's service-account key pair signs and verifies service-account tokens; the controller manager
 *   publishes pki/ca.crt as kube-root-ca.crt and signs CSRs with the cluster CA.
 *
 * Leaf certificates are made by the openssl CLI (not nkd's own code), valid for a year like kubeadm's.
 * Processes are ended by pid in stop(), at process exit, and by a watchdog shell that kills them (and
 * removes the temp directory) if the test process dies without cleaning up. Ports are free loopback
 * ports picked at start. NKD_REAL_API_KEEP=1 keeps the directory (logs of every component) after stop.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { DebugLog } from '../../src/lib/log.js';
import type { ClusterPlan } from '../../src/plan/types.js';
import { planFromConfig, withPreparedCluster } from '../../src/workflows/prepare.js';
import { configYaml, type ConfigOverrides } from './configs.js';
import type { Requirement } from './real.js';
import { allOf, toolEnv, toolRequirement } from './tools.js';

export const KUBE_BIN_ENV = 'NKD_KUBE_BIN';
const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'kwok'];
/** A managed node's annotation: how long (a Go duration) kwok keeps it NotReady after it appears. */
export const READY_AFTER = 'nkd.test/ready-after';
/** kwok manages the nodes carrying this annotation; other nodes stay without a kubelet (never Ready). */
export const KWOK_ANNOTATION = 'kwok.x-k8s.io/node';

/**
 * For describeReal: openssl, and in NKD_KUBE_BIN etcd, kube-apiserver, kwok, and (unless a test leaves
 * them out, as in startRealCluster's options) kube-controller-manager, kube-scheduler and kubectl.
 */
export function realApiRequirement(
  options: { controllerManager?: boolean; scheduler?: boolean; kubectl?: boolean } = {},
): Requirement {
  const openssl: Requirement = {
    missing: () => (spawnSync('openssl', ['version']).status === 0 ? undefined : 'openssl is not on PATH'),
  };
  const binaries = BINARIES.filter(
    (b) =>
      (b !== 'kube-controller-manager' || options.controllerManager !== false) &&
      (b !== 'kube-scheduler' || options.scheduler !== false) &&
      (b !== 'kubectl' || options.kubectl !== false),
  );
  return allOf(openssl, ...binaries.map((b) => toolRequirement(KUBE_BIN_ENV, b)));
}

/** The planned endpoint of dryRunState's clusters: a name, as with a load balancer in front. */
export const DRY_RUN_ENDPOINT = 'api.demo.test';

/**
 * What `nkd deploy --dry-run` writes (plan.json, pki/, admin.conf, assets), made in-process in a new
 * temp directory: returns the cluster directory and the state directory holding it.
 */
export async function dryRunState(
  overrides: ConfigOverrides = {},
): Promise<{ stateDir: string; clusterDir: string; configFile: string; remove(): void }> {
  const root = mkdtempSync(join(tmpdir(), 'nkd-real-state-'));
  const configFile = join(root, 'cluster.yaml');
  writeFileSync(
    configFile,
    configYaml({
      ...overrides,
      kubernetes: { controlPlaneEndpoint: `${DRY_RUN_ENDPOINT}:6443`, ...overrides.kubernetes },
    }),
  );
  const stateDir = join(root, 'state');
  const log = new DebugLog();
  const planned = await planFromConfig(configFile, log);
  const clusterDir = await withPreparedCluster(
    planned,
    { stateDir, log, progress: { step: () => {} } },
    async (prepared) => prepared.paths.root,
  );
  return { stateDir, clusterDir, configFile, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export interface RealClusterOptions {
  /** A cluster state directory from `nkd deploy --dry-run`: plan.json and pki/. */
  clusterDir: string;
  /** Run kube-controller-manager (default true): GC, disruption budgets, node lifecycle, workloads. */
  controllerManager?: boolean;
  /** Run kube-scheduler (default true): pods of Deployments and DaemonSets get a node. */
  scheduler?: boolean;
  /** Run kwok (default true): annotated nodes turn Ready, their pods Running. */
  kwok?: boolean;
  /** Extra kube-apiserver flags (`--name=value`), e.g. admission plugins or audit settings. */
  apiServerFlags?: string[];
}

export interface KwokNode {
  name: string;
  controlPlane?: boolean;
  /** Default true: kwok manages it (Ready, heartbeats, its pods Running); false: no kubelet at all. */
  ready?: boolean;
  kubeletVersion?: string;
  osImage?: string;
  address?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  unschedulable?: boolean;
}

export interface RealCluster {
  /** `https://127.0.0.1:PORT`: where the API server listens. */
  server: string;
  port: number;
  /** `127.0.0.1:PORT`, the form outputs.json's apiEndpoint takes. */
  endpoint: string;
  /** The planned endpoint's host: the name nkd verifies the serving certificate against. */
  tlsServerName: string;
  /** The harness's admin kubeconfig (system:masters, not audited) that `kubectl()` uses. */
  kubeconfig: string;
  /** A kubeconfig with nkd's admin certificate (pki/admin.*) pointing at `server` (audited). */
  nkdKubeconfig: string;
  plan: ClusterPlan;
  /** Milliseconds from start to every component ready. */
  startupMs: number;
  /** Runs the real kubectl as nkd's admin; rejects with its stderr when it exits non-zero. */
  kubectl(args: string[], input?: string): Promise<string>;
  /**
   * nkd's own requests as the API server's audit log recorded them (users nkd-admin and the service
   * accounts of housekeeper-system; the harness's kubectl, kwok and the controllers have identities of
   * their own and are not logged), oldest first. Waits briefly for the log to catch up.
   */
  requests(): Promise<AuditEvent[]>;
  /**
   * One request as the harness's admin (not audited): the parsed JSON answer; rejects on HTTP >= 400.
   * `body` is sent as JSON (also for `application/apply-patch+yaml`, JSON being YAML).
   */
  api(method: string, path: string, body?: unknown, contentType?: string): Promise<unknown>;
  /** Creates (or updates) Node objects; kwok makes the `ready` ones Ready. */
  addNodes(nodes: KwokNode[]): Promise<void>;
  /** Resolves once every named node is Ready (kwok took it over); rejects after `timeoutMs`. */
  nodesReady(names: string[], timeoutMs?: number): Promise<void>;
  /** Deletes every Node object (and so, through the controllers, the pods bound to them). */
  deleteAllNodes(): Promise<void>;
  /** Writes outputs.json into the cluster directory: nkd then dials this server like a deployment. */
  writeOutputs(clusterDir?: string): void;
  /** Ends every process by pid and removes the temp directory. */
  stop(): Promise<void>;
}

/** One audit event (audit.k8s.io/v1, level Metadata), the fields tests look at. */
export interface AuditEvent {
  verb: string;
  requestURI: string;
  user: { username: string; groups?: string[] };
  userAgent?: string;
  objectRef?: {
    resource?: string;
    namespace?: string;
    name?: string;
    subresource?: string;
    apiGroup?: string;
  };
  responseStatus?: { code?: number };
}

interface Files {
  dir: string;
  pki: string;
}

/** Identities whose requests the audit log keeps: nkd's admin and Housekeeper's service accounts. */
const AUDIT_POLICY = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  omitStages: ['RequestReceived'],
  rules: [
    { level: 'Metadata', users: ['nkd-admin'] },
    { level: 'Metadata', userGroups: ['system:serviceaccounts:housekeeper-system'] },
    { level: 'None' },
  ],
};

// -------------------------------------------------------------------------------------- start-up

export async function startRealCluster(options: RealClusterOptions): Promise<RealCluster> {
  const t0 = Date.now();
  const bin = toolEnv(KUBE_BIN_ENV);
  if (bin === undefined) throw new Error(`${KUBE_BIN_ENV} is not set: run \`npm run tools\``);
  const plan = JSON.parse(readFileSync(join(options.clusterDir, 'plan.json'), 'utf8')) as ClusterPlan;
  const dir = mkdtempSync(join(tmpdir(), 'nkd-real-api-'));
  const files: Files = { dir, pki: join(options.clusterDir, 'pki') };
  const procs = new Processes(dir);
  try {
    const [etcdPort, etcdPeerPort, port, kcmPort, schedPort] = await freePorts(5);
    await issueCertificates(files, plan);
    writeKubeconfigs(files, plan, port!);

    procs.start('etcd', join(bin, 'etcd'), etcdArgs(files, etcdPort!, etcdPeerPort!));
    procs.start('kube-apiserver', join(bin, 'kube-apiserver'), [
      ...apiServerArgs(files, plan, port!, etcdPort!),
      ...(options.apiServerFlags ?? []),
    ]);
    await procs.until('kube-apiserver', () => healthy(files, port!, '/readyz'), 90_000);
    const apiMs = Date.now() - t0;

    const waits: Promise<void>[] = [];
    if (options.controllerManager !== false) {
      procs.start(
        'kube-controller-manager',
        join(bin, 'kube-controller-manager'),
        kcmArgs(files, plan, kcmPort!),
      );
      waits.push(procs.until('kube-controller-manager', () => healthy(files, kcmPort!, '/healthz'), 60_000));
    }
    if (options.scheduler !== false) {
      procs.start('kube-scheduler', join(bin, 'kube-scheduler'), schedulerArgs(files, schedPort!));
      waits.push(procs.until('kube-scheduler', () => healthy(files, schedPort!, '/healthz'), 60_000));
    }
    if (options.kwok !== false) {
      procs.start('kwok', join(bin, 'kwok'), kwokArgs(files));
    }
    await Promise.all(waits);
    const startupMs = Date.now() - t0;
    // Visible in the test output: the cost of a real control plane, per start.
    console.log(
      `real-api: kube-apiserver ready in ${(apiMs / 1000).toFixed(1)} s, every component in ` +
        `${(startupMs / 1000).toFixed(1)} s (${procs.names().join(', ')}) on 127.0.0.1:${port}`,
    );
    return cluster(files, plan, port!, startupMs, procs);
  } catch (err) {
    await procs.stopAll();
    throw err;
  }
}

function cluster(
  files: Files,
  plan: ClusterPlan,
  port: number,
  startupMs: number,
  procs: Processes,
): RealCluster {
  const kubeconfig = join(files.dir, 'harness.conf');
  const bin = toolEnv(KUBE_BIN_ENV)!;
  const api = (method: string, path: string, body?: unknown, contentType = 'application/json') =>
    harnessRequest(files, port, method, path, body, contentType);
  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const r = await execa(join(bin, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], {
      reject: false,
      ...(input !== undefined ? { input } : {}),
    });
    if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  };
  return {
    server: `https://127.0.0.1:${port}`,
    port,
    endpoint: `127.0.0.1:${port}`,
    tlsServerName: plan.kubernetes.controlPlaneEndpoint.host,
    kubeconfig,
    nkdKubeconfig: join(files.dir, 'admin.conf'),
    plan,
    startupMs,
    kubectl,
    async requests() {
      await new Promise((r) => setTimeout(r, 250));
      const file = join(files.dir, 'audit.log');
      if (!existsSync(file)) return [];
      return readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as AuditEvent);
    },
    api,
    async addNodes(nodes) {
      for (const node of nodes) {
        await api(
          'PATCH',
          `/api/v1/nodes/${node.name}?fieldManager=nkd-test-harness&force=true`,
          nodeObject(node),
          'application/apply-patch+yaml',
        );
      }
    },
    async nodesReady(names, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const list = (await api('GET', '/api/v1/nodes')) as {
          items: {
            metadata: { name: string };
            status?: { conditions?: { type: string; status: string }[] };
          }[];
        };
        const ready = new Set(
          list.items
            .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
            .map((n) => n.metadata.name),
        );
        if (names.every((n) => ready.has(n))) return;
        if (Date.now() > deadline)
          throw new Error(
            `nodes not Ready within ${timeoutMs} ms: ${names.filter((n) => !ready.has(n)).join(', ')}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async deleteAllNodes() {
      await api('DELETE', '/api/v1/nodes');
    },
    writeOutputs(clusterDir) {
      const target = clusterDir ?? join(files.pki, '..');
      writeFileSync(
        join(target, 'outputs.json'),
        JSON.stringify({ apiEndpoint: `127.0.0.1:${port}`, nodes: [] }),
        {
          mode: 0o600,
        },
      );
    },
    stop: () => procs.stopAll(),
  };
}

// ------------------------------------------------------------------------------------------ nodes

/**
 * The plan's nodes as kubeadm registers them: its node names and addresses, the kubelet at the planned
 * version, control planes labelled and (when the cluster has workers) tainted NoSchedule.
 */
export function plannedNodes(plan: ClusterPlan, ready = true): KwokNode[] {
  const hasWorkers = plan.nodes.some((n) => n.role === 'worker');
  return plan.nodes.map((n) => ({
    name: n.name,
    ready,
    address: n.address,
    kubeletVersion: plan.kubernetes.version,
    controlPlane: n.role === 'control-plane',
    ...(n.role === 'control-plane' && hasWorkers
      ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }
      : {}),
  }));
}

/**
 * Registers `nodes` one at a time, like machines booting: each joins NotReady (no kubelet yet), and
 * `stepMs` later kwok takes it over and it turns Ready; then the next one joins.
 */
export async function bootNodes(cluster: RealCluster, nodes: KwokNode[], stepMs = 300): Promise<void> {
  for (const node of nodes) {
    const annotations = { ...node.annotations, [READY_AFTER]: `${stepMs}ms` };
    await cluster.addNodes([{ ...node, ready: true, annotations }]);
    await new Promise((r) => setTimeout(r, 2 * stepMs));
  }
}

function nodeObject(n: KwokNode): object {
  const managed = n.ready !== false;
  const resources = { cpu: '32', memory: '256Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      labels: {
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        ...(n.controlPlane ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
        ...n.labels,
      },
      annotations: { ...(managed ? { [KWOK_ANNOTATION]: 'fake' } : {}), ...n.annotations },
    },
    spec: { ...(n.taints ? { taints: n.taints } : {}), ...(n.unschedulable ? { unschedulable: true } : {}) },
    status: {
      allocatable: resources,
      capacity: resources,
      ...(n.address ? { addresses: [{ type: 'InternalIP', address: n.address }] } : {}),
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: 'linux',
        kubeletVersion: n.kubeletVersion ?? 'v1.37.2',
        osImage: n.osImage ?? 'NestOS For Container 24.03-LTS',
        kernelVersion: '6.6.0',
        containerRuntimeVersion: 'containerd://2.1.0',
        machineID: '',
        systemUUID: '',
        bootID: '',
        kubeProxyVersion: '',
      },
    },
  };
}

// ---------------------------------------------------------------------------------- certificates

/** The SANs kubeadm gives the API server certificate, plus loopback where this one listens. */
function apiServerSans(plan: ClusterPlan): string[] {
  const k = plan.kubernetes;
  const names = [
    ...k.apiServerCertSANs,
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${k.dnsDomain}`,
    firstServiceIp(k.serviceSubnet),
    '127.0.0.1',
    'localhost',
  ];
  return [...new Set(names)];
}

function firstServiceIp(cidr: string): string {
  const [base] = cidr.split('/');
  const parts = base!.split('.').map(Number);
  parts[3] = parts[3]! + 1;
  return parts.join('.');
}

interface Leaf {
  name: string;
  ca: 'ca' | 'etcd-ca' | 'front-proxy-ca';
  subject: string;
  sans?: string[];
  usage: 'serverAuth' | 'clientAuth' | 'serverAuth,clientAuth';
}

async function issueCertificates(files: Files, plan: ClusterPlan): Promise<void> {
  const loopback = ['127.0.0.1', 'localhost'];
  const leaves: Leaf[] = [
    {
      name: 'apiserver',
      ca: 'ca',
      subject: '/CN=kube-apiserver',
      sans: apiServerSans(plan),
      usage: 'serverAuth',
    },
    {
      name: 'etcd-server',
      ca: 'etcd-ca',
      subject: '/CN=etcd',
      sans: loopback,
      usage: 'serverAuth,clientAuth',
    },
    {
      name: 'apiserver-etcd-client',
      ca: 'etcd-ca',
      subject: '/O=system:masters/CN=kube-apiserver-etcd-client',
      usage: 'clientAuth',
    },
    {
      name: 'front-proxy-client',
      ca: 'front-proxy-ca',
      subject: '/CN=front-proxy-client',
      usage: 'clientAuth',
    },
    {
      name: 'controller-manager',
      ca: 'ca',
      subject: '/CN=system:kube-controller-manager',
      usage: 'clientAuth',
    },
    { name: 'scheduler', ca: 'ca', subject: '/CN=system:kube-scheduler', usage: 'clientAuth' },
    // The harness's own kubectl and kwok: admins, but not nkd-admin, so the audit log holds only nkd.
    { name: 'harness', ca: 'ca', subject: '/O=system:masters/CN=nkd-test-harness', usage: 'clientAuth' },
    { name: 'kwok', ca: 'ca', subject: '/O=system:masters/CN=kwok', usage: 'clientAuth' },
    {
      name: 'kcm-serving',
      ca: 'ca',
      subject: '/CN=kube-controller-manager',
      sans: loopback,
      usage: 'serverAuth',
    },
    {
      name: 'scheduler-serving',
      ca: 'ca',
      subject: '/CN=kube-scheduler',
      sans: loopback,
      usage: 'serverAuth',
    },
  ];
  await Promise.all(leaves.map((leaf) => issue(files, leaf)));
}

async function issue(files: Files, leaf: Leaf): Promise<void> {
  const san = (leaf.sans ?? []).map((s) => (/^[\d.]+$/.test(s) ? `IP:${s}` : `DNS:${s}`)).join(',');
  const r = await execa(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(files.dir, `${leaf.name}.key`),
      '-out',
      join(files.dir, `${leaf.name}.crt`),
      '-subj',
      leaf.subject,
      '-CA',
      join(files.pki, `${leaf.ca}.crt`),
      '-CAkey',
      join(files.pki, `${leaf.ca}.key`),
      '-days',
      '365',
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      '-addext',
      `extendedKeyUsage=${leaf.usage}`,
      ...(san ? ['-addext', `subjectAltName=${san}`] : []),
    ],
    { reject: false },
  );
  if (r.exitCode !== 0) throw new Error(`openssl could not issue ${leaf.name}: ${r.stderr.trim()}`);
}

function kubeconfigYaml(
  files: Files,
  plan: ClusterPlan,
  port: number,
  user: string,
  cert: string,
  key: string,
): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: plan.name,
        cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority': join(files.pki, 'ca.crt') },
      },
    ],
    users: [{ name: user, user: { 'client-certificate': cert, 'client-key': key } }],
    contexts: [{ name: user, context: { cluster: plan.name, user } }],
    'current-context': user,
  });
}

function writeKubeconfigs(files: Files, plan: ClusterPlan, port: number): void {
  const write = (file: string, user: string, cert: string, key: string): void =>
    writeFileSync(join(files.dir, file), kubeconfigYaml(files, plan, port, user, cert, key), { mode: 0o600 });
  write('admin.conf', 'nkd-admin', join(files.pki, 'admin.crt'), join(files.pki, 'admin.key'));
  for (const c of ['controller-manager', 'scheduler', 'harness', 'kwok']) {
    write(`${c}.conf`, c, join(files.dir, `${c}.crt`), join(files.dir, `${c}.key`));
  }
  writeFileSync(join(files.dir, 'audit-policy.yaml'), stringify(AUDIT_POLICY));
}

// ------------------------------------------------------------------------------------------- flags

function etcdArgs(f: Files, port: number, peerPort: number): string[] {
  const client = `https://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    '--name=nkd-test',
    `--data-dir=${join(f.dir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=nkd-test=${peer}`,
    `--cert-file=${join(f.dir, 'etcd-server.crt')}`,
    `--key-file=${join(f.dir, 'etcd-server.key')}`,
    `--trusted-ca-file=${join(f.pki, 'etcd-ca.crt')}`,
    '--client-cert-auth=true',
    // A test's data is thrown away at the end: durability costs time on a shared disk for nothing.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
}

/** kube-apiserver as kubeadm's static pod runs it, on loopback. */
function apiServerArgs(f: Files, plan: ClusterPlan, port: number, etcdPort: number): string[] {
  const pki = (name: string): string => join(f.pki, name);
  const own = (name: string): string => join(f.dir, name);
  return [
    '--bind-address=127.0.0.1',
    // What the `kubernetes` Service's endpoints say, as kubeadm sets it: the first control plane's
    // planned address (never dialled here; the endpoint reconciler refuses loopback).
    `--advertise-address=${plan.nodes.find((n) => n.role === 'control-plane')!.address}`,
    `--secure-port=${port}`,
    `--etcd-servers=https://127.0.0.1:${etcdPort}`,
    `--etcd-cafile=${pki('etcd-ca.crt')}`,
    `--etcd-certfile=${own('apiserver-etcd-client.crt')}`,
    `--etcd-keyfile=${own('apiserver-etcd-client.key')}`,
    `--tls-cert-file=${own('apiserver.crt')}`,
    `--tls-private-key-file=${own('apiserver.key')}`,
    `--client-ca-file=${pki('ca.crt')}`,
    `--service-account-issuer=https://kubernetes.default.svc.${plan.kubernetes.dnsDomain}`,
    `--service-account-key-file=${pki('sa.pub')}`,
    `--service-account-signing-key-file=${pki('sa.key')}`,
    `--service-cluster-ip-range=${plan.kubernetes.serviceSubnet}`,
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    '--enable-bootstrap-token-auth=true',
    '--allow-privileged=true',
    `--requestheader-client-ca-file=${pki('front-proxy-ca.crt')}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-username-headers=X-Remote-User',
    `--proxy-client-cert-file=${own('front-proxy-client.crt')}`,
    `--proxy-client-key-file=${own('front-proxy-client.key')}`,
    '--profiling=false',
    `--audit-policy-file=${own('audit-policy.yaml')}`,
    `--audit-log-path=${own('audit.log')}`,
    '--audit-log-format=json',
  ];
}

function componentAuthArgs(f: Files, conf: string, port: number, serving: string): string[] {
  return [
    `--kubeconfig=${join(f.dir, conf)}`,
    `--authentication-kubeconfig=${join(f.dir, conf)}`,
    `--authorization-kubeconfig=${join(f.dir, conf)}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--tls-cert-file=${join(f.dir, `${serving}.crt`)}`,
    `--tls-private-key-file=${join(f.dir, `${serving}.key`)}`,
    `--client-ca-file=${join(f.pki, 'ca.crt')}`,
    `--requestheader-client-ca-file=${join(f.pki, 'front-proxy-ca.crt')}`,
    '--leader-elect=false',
    '--profiling=false',
  ];
}

function kcmArgs(f: Files, plan: ClusterPlan, port: number): string[] {
  return [
    ...componentAuthArgs(f, 'controller-manager.conf', port, 'kcm-serving'),
    `--cluster-name=${plan.name}`,
    `--cluster-signing-cert-file=${join(f.pki, 'ca.crt')}`,
    `--cluster-signing-key-file=${join(f.pki, 'ca.key')}`,
    '--controllers=*,bootstrapsigner,tokencleaner',
    `--root-ca-file=${join(f.pki, 'ca.crt')}`,
    `--service-account-private-key-file=${join(f.pki, 'sa.key')}`,
    `--service-cluster-ip-range=${plan.kubernetes.serviceSubnet}`,
    '--use-service-account-credentials=true',
  ];
}

function schedulerArgs(f: Files, port: number): string[] {
  return componentAuthArgs(f, 'scheduler.conf', port, 'scheduler-serving');
}

/**
 * kwok's behaviour, as Stage objects of our own (kwok has no built-in ones): a managed node turns Ready
 * (kwok also renews its Lease, the heartbeat the node lifecycle controller watches); a pod bound to it
 * runs, Ready, with an IP; a pod being deleted goes at once (no kubelet to wait for).
 */
function kwokStages(): object[] {
  const stage = (name: string, kind: string, selector: object[], next: object, extra = {}): object => ({
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name },
    spec: { resourceRef: { apiGroup: 'v1', kind }, selector: { matchExpressions: selector }, next, ...extra },
  });
  const notReady = {
    key: '.status.conditions.[] | select( .type == "Ready" ) | .status',
    operator: 'NotIn',
    values: ['True'],
  };
  const nodeReady = [
    '{{ $now := Now }}',
    'conditions:',
    '- type: Ready',
    '  status: "True"',
    '  reason: KubeletReady',
    '  message: kwok runs this node (nkd test harness)',
    '  lastHeartbeatTime: {{ $now | Quote }}',
    '  lastTransitionTime: {{ $now | Quote }}',
    'phase: Running',
  ].join('\n');
  const podRunning = [
    '{{ $now := Now }}',
    'conditions:',
    '{{ range list "PodScheduled" "Initialized" "ContainersReady" "Ready" }}',
    '- type: {{ . }}',
    '  status: "True"',
    '  lastTransitionTime: {{ $now | Quote }}',
    '{{ end }}',
    'containerStatuses:',
    '{{ range .spec.containers }}',
    '- name: {{ .name | Quote }}',
    '  image: {{ .image | Quote }}',
    '  ready: true',
    '  started: true',
    '  restartCount: 0',
    '  state: { running: { startedAt: {{ $now | Quote }} } }',
    '{{ end }}',
    '{{ with NodeIPsWith .spec.nodeName }}hostIP: {{ index . 0 | Quote }}{{ end }}',
    '{{ with PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}podIP: {{ index . 0 | Quote }}{{ end }}',
    'phase: Running',
    'startTime: {{ $now | Quote }}',
  ].join('\n');
  return [
    // A node may ask to stay NotReady a while first (bootNodes: a machine still booting).
    stage(
      'nkd-node-ready',
      'Node',
      [notReady],
      { statusTemplate: nodeReady },
      {
        delay: {
          durationMilliseconds: 0,
          durationFrom: { expressionFrom: `.metadata.annotations["${READY_AFTER}"]` },
        },
      },
    ),
    stage(
      'nkd-pod-running',
      'Pod',
      [
        { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' },
        { key: '.status.phase', operator: 'In', values: ['Pending'] },
      ],
      { statusTemplate: podRunning },
    ),
    stage('nkd-pod-delete', 'Pod', [{ key: '.metadata.deletionTimestamp', operator: 'Exists' }], {
      delete: true,
    }),
  ];
}

function kwokArgs(f: Files): string[] {
  const config = join(f.dir, 'kwok.yaml');
  // An explicit configuration, so kwok never reads ~/.kwok.
  const documents = [
    {
      apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
      kind: 'KwokConfiguration',
      // Set explicitly: kwok run this way applies no defaults, and 0 workers refuse to start.
      options: {
        nodeLeaseDurationSeconds: 40,
        nodeLeaseParallelism: 4,
        nodePlayStageParallelism: 4,
        podPlayStageParallelism: 4,
        podsOnNodeSyncParallelism: 4,
      },
    },
    ...kwokStages(),
  ];
  writeFileSync(config, documents.map((d) => `---\n${stringify(d)}`).join(''));
  return [
    `--kubeconfig=${join(f.dir, 'kwok.conf')}`,
    `--config=${config}`,
    `--manage-nodes-with-annotation-selector=${KWOK_ANNOTATION}=fake`,
  ];
}

// --------------------------------------------------------------------------------------- processes

/** A request as the harness's admin, verified against the cluster CA. */
function harnessRequest(
  f: Files,
  port: number,
  method: string,
  path: string,
  body: unknown,
  contentType: string,
): Promise<unknown> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca: readFileSync(join(f.pki, 'ca.crt')),
        cert: readFileSync(join(f.dir, 'harness.crt')),
        key: readFileSync(join(f.dir, 'harness.key')),
        servername: 'localhost',
        headers: {
          Accept: 'application/json',
          ...(payload !== undefined
            ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 400)
            reject(new Error(`${method} ${path}: HTTP ${res.statusCode}: ${text}`));
          else resolve(text === '' ? undefined : (JSON.parse(text) as unknown));
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** An HTTPS GET verified against the cluster CA, as the harness's admin (not audited); true on 200. */
function healthy(f: Files, port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'GET',
        ca: readFileSync(join(f.pki, 'ca.crt')),
        cert: readFileSync(join(f.dir, 'harness.crt')),
        key: readFileSync(join(f.dir, 'harness.key')),
        servername: 'localhost',
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * A plain TCP forwarder on 127.0.0.1:`port` (default: a free one) to 127.0.0.1:`targetPort`: TLS and
 * authentication stay end to end, but the address can be "down" (not yet listening) and come up later.
 */
export async function tcpForward(
  targetPort: number,
  port?: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function freePorts(count: number): Promise<number[]> {
  const one = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const server = createServer();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
  // Sequentially-held servers would be safer against repeats; distinct ports are checked instead.
  return (async () => {
    const ports = new Set<number>();
    while (ports.size < count) ports.add(await one());
    return [...ports];
  })();
}

const live = new Set<Processes>();
process.on('exit', () => {
  for (const p of live) p.killNow();
});

/** The components of one cluster: started with logs in the temp dir, ended by pid. */
class Processes {
  private readonly procs: { name: string; child: ChildProcess; exited: boolean }[] = [];
  private watchdog: ChildProcess | undefined;
  private stopped = false;

  constructor(private readonly dir: string) {
    live.add(this);
  }

  names(): string[] {
    return this.procs.map((p) => p.name);
  }

  start(name: string, bin: string, args: string[]): void {
    const log = openSync(join(this.dir, `${name}.log`), 'a');
    const child = spawn(bin, args, { stdio: ['ignore', log, log] });
    const entry = { name, child, exited: false };
    child.on('exit', () => (entry.exited = true));
    this.procs.push(entry);
    writeFileSync(join(this.dir, 'pids'), this.procs.map((p) => p.child.pid).join(' '));
    this.startWatchdog();
  }

  /** Polls `check` until true; fails early, with the log's tail, when the process exits. */
  async until(name: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const entry = this.procs.find((p) => p.name === name)!;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (entry.exited) throw new Error(`${name} exited during start-up:\n${this.tail(name)}`);
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${name} not healthy within ${timeoutMs / 1000} s:\n${this.tail(name)}`);
  }

  tail(name: string): string {
    const file = join(this.dir, `${name}.log`);
    if (!existsSync(file)) return '(no log)';
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  }

  /** One watchdog per cluster: when this process is gone, it kills the components and the directory. */
  private startWatchdog(): void {
    if (this.watchdog) return;
    const script =
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -9 $(cat "$2/pids") 2>/dev/null; rm -rf "$2"';
    this.watchdog = spawn('sh', ['-c', script, 'watchdog', String(process.pid), this.dir], {
      detached: true,
      stdio: 'ignore',
    });
    this.watchdog.unref();
  }

  killNow(): void {
    for (const p of this.procs) if (!p.exited) p.child.kill('SIGKILL');
    this.watchdog?.kill('SIGKILL');
    if (process.env.NKD_REAL_API_KEEP !== '1') rmSync(this.dir, { recursive: true, force: true });
  }

  /** Reverse start order: SIGTERM, then SIGKILL after 5 s. */
  async stopAll(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const p of [...this.procs].reverse()) {
      if (p.exited) continue;
      const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
      p.child.kill('SIGTERM');
      const timer = setTimeout(() => p.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    this.watchdog?.kill('SIGKILL');
    live.delete(this);
    if (process.env.NKD_REAL_API_KEEP === '1') console.log(`real-api: kept ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}
