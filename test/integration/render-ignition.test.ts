/**
 * End to end through the real Ignition 2.14: config → plan → render → `ignition-validate` → apply into a
 * scratch root → assert on the files a node would boot with. One PKI is generated and shared (key
 * generation is the slow part); every node of every cluster in the matrix is applied.
 */
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClusterConfig } from '../../src/config/load.js';
import type { ClusterConfig, Runtime } from '../../src/config/schema.js';
import { generatePki, type ClusterPki } from '../../src/pki/index.js';
import { planCluster } from '../../src/plan/plan.js';
import type { ClusterPlan, NodePlan } from '../../src/plan/types.js';
import { renderCluster, type RenderedNode } from '../../src/render/node.js';
import { loadTemplates, type TemplateSet } from '../../src/render/templates.js';
import { applyIgnition, ignitionAvailable, validateIgnition, type AppliedRoot } from '../helpers/ignition.js';

// ---------------------------------------------------------------------------------------------------------
// Expectations stated independently of the code under test.

const SSH_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh1cR1G4dbgS0bY6tV1v7aZx2Ck3Jr0yGm9oN2kQ0sE nkd-render@test';
const ADMIN_USER = 'nest';
const NODE_CIDR = '192.168.132.0/24';
const RELEASE_IMAGE = 'registry.example.com/nestos/kubernetes:1.35';

const VERSIONS = {
  'v1.35.4': { api: 'kubeadm.k8s.io/v1beta4', short: 'v1beta4', pause: 'registry.k8s.io/pause:3.10.1' },
  'v1.37.2': { api: 'kubeadm.k8s.io/v1beta4', short: 'v1beta4', pause: 'registry.k8s.io/pause:3.10.2' },
} as const;
type Version = keyof typeof VERSIONS;

interface RuntimeExpectation {
  criSocket: string;
  /** Units Ignition must enable for this runtime. */
  units: string[];
  /** The unit kubelet and kubeadm wait for. */
  service: string;
  /** Config files only this runtime's nodes get. */
  files: string[];
  expectConfigured(root: AppliedRoot, pauseImage: string): void;
}

const RUNTIMES: Record<Runtime, RuntimeExpectation> = {
  containerd: {
    criSocket: 'unix:///run/containerd/containerd.sock',
    units: ['containerd.service'],
    service: 'containerd.service',
    files: ['/etc/containerd/config.toml'],
    expectConfigured(root, pauseImage) {
      const toml = root.readFile('/etc/containerd/config.toml');
      expect(toml).toMatch(/^version = 2$/m);
      expect(toml).toMatch(/^\s*SystemdCgroup = true$/m);
      expect(toml).toContain(`sandbox_image = "${pauseImage}"`);
      // The cri plugin must not be disabled (the stock containerd package ships it disabled).
      expect(toml).not.toMatch(/disabled_plugins.*cri/);
    },
  },
  crio: {
    criSocket: 'unix:///var/run/crio/crio.sock',
    units: ['crio.service'],
    service: 'crio.service',
    files: ['/etc/crio/crio.conf.d/90-nkd.conf'],
    expectConfigured(root, pauseImage) {
      const conf = root.readFile('/etc/crio/crio.conf.d/90-nkd.conf');
      expect(iniSection(conf, 'crio.runtime')).toContain('cgroup_manager = "systemd"');
      expect(iniSection(conf, 'crio.image')).toContain(`pause_image = "${pauseImage}"`);
    },
  },
  isulad: {
    criSocket: 'unix:///var/run/isulad.sock',
    units: ['isulad.service'],
    service: 'isulad.service',
    files: ['/etc/isulad/daemon.json'],
    expectConfigured(root, pauseImage) {
      const daemon = JSON.parse(root.readFile('/etc/isulad/daemon.json')) as Record<string, unknown>;
      expect(daemon['systemd-cgroup']).toBe(true);
      expect(daemon['enable-cri-v1']).toBe(true);
      expect(daemon['pod-sandbox-image']).toBe(pauseImage);
      expect(daemon['network-plugin']).toBe('cni');
      expect(daemon.hosts).toEqual(['unix:///var/run/isulad.sock']);
    },
  },
  docker: {
    criSocket: 'unix:///var/run/cri-dockerd.sock',
    units: ['docker.service', 'cri-docker.socket', 'cri-docker.service'],
    service: 'cri-docker.service',
    files: ['/etc/docker/daemon.json', '/etc/systemd/system/cri-docker.service.d/20-nkd.conf'],
    expectConfigured(root, pauseImage) {
      const daemon = JSON.parse(root.readFile('/etc/docker/daemon.json')) as Record<string, unknown>;
      expect(daemon['exec-opts']).toContain('native.cgroupdriver=systemd');
      const dropin = unitFile(root.readFile('/etc/systemd/system/cri-docker.service.d/20-nkd.conf'));
      // A drop-in must clear ExecStart before setting it again.
      const execStart = dropin.get('Service')?.get('ExecStart') ?? [];
      expect(execStart).toHaveLength(2);
      expect(execStart[0]).toBe('');
      expect(execStart[1]).toMatch(/^\/usr\/bin\/cri-dockerd /);
      expect(execStart[1]).toContain(`--pod-infra-container-image=${pauseImage}`);
    },
  },
};

const ALL_RUNTIME_FILES = Object.values(RUNTIMES).flatMap((r) => r.files);

/** kubeadm's shared CA material, as the control plane must get it (mode, PKI field). */
const CONTROL_PLANE_PKI: ReadonlyArray<{ name: string; mode: number; pem: (pki: ClusterPki) => string }> = [
  { name: 'ca.crt', mode: 0o644, pem: (p) => p.clusterCa.certPem },
  { name: 'ca.key', mode: 0o600, pem: (p) => p.clusterCa.keyPem },
  { name: 'etcd/ca.crt', mode: 0o644, pem: (p) => p.etcdCa.certPem },
  { name: 'etcd/ca.key', mode: 0o600, pem: (p) => p.etcdCa.keyPem },
  { name: 'front-proxy-ca.crt', mode: 0o644, pem: (p) => p.frontProxyCa.certPem },
  { name: 'front-proxy-ca.key', mode: 0o600, pem: (p) => p.frontProxyCa.keyPem },
  { name: 'sa.key', mode: 0o600, pem: (p) => p.serviceAccount.privateKeyPem },
  { name: 'sa.pub', mode: 0o644, pem: (p) => p.serviceAccount.publicKeyPem },
];

// ---------------------------------------------------------------------------------------------------------
// The matrix: every runtime with both kubeadm API versions; 1 and 3 control planes and 0 and 2 workers each
// with both API versions; every bootstrap kind (init, join-control-plane, join) with both API versions.

interface Case {
  runtime: Runtime;
  version: Version;
  controlPlanes: 1 | 3;
  workers: 0 | 2;
  releaseImage?: string;
  /** An explicit controlPlaneEndpoint (otherwise the first control-plane address, port 6443). */
  endpoint?: string;
  /** Fixed hostname/ip for the first worker. */
  firstWorker?: { hostname: string; ip: string };
  /** The API on a keepalived VIP (apiEndpoint.type vip): control planes get keepalived. */
  vip?: true;
  /** kubernetes.probeTolerance: control planes get kubeadm probe patches. */
  probeTolerance?: number;
}

const CASES: Case[] = [
  { runtime: 'containerd', version: 'v1.35.4', controlPlanes: 3, workers: 2, releaseImage: RELEASE_IMAGE },
  { runtime: 'containerd', version: 'v1.37.2', controlPlanes: 1, workers: 0 },
  { runtime: 'crio', version: 'v1.35.4', controlPlanes: 1, workers: 0 },
  { runtime: 'crio', version: 'v1.37.2', controlPlanes: 3, workers: 2, endpoint: 'api.crio.example:443' },
  {
    runtime: 'isulad',
    version: 'v1.35.4',
    controlPlanes: 1,
    workers: 2,
    firstWorker: { hostname: 'edge-a', ip: '192.168.132.200' },
  },
  { runtime: 'isulad', version: 'v1.37.2', controlPlanes: 3, workers: 0 },
  { runtime: 'docker', version: 'v1.35.4', controlPlanes: 3, workers: 0 },
  { runtime: 'docker', version: 'v1.37.2', controlPlanes: 1, workers: 2 },
  { runtime: 'containerd', version: 'v1.37.2', controlPlanes: 3, workers: 2, vip: true, probeTolerance: 3 },
];

function caseName(c: Case): string {
  const extras = [
    c.releaseImage ? 'release image' : '',
    c.endpoint ? `endpoint ${c.endpoint}` : '',
    c.firstWorker ? `fixed worker ${c.firstWorker.hostname}` : '',
    c.vip ? 'keepalived VIP' : '',
    c.probeTolerance ? `probe tolerance ${c.probeTolerance}` : '',
  ].filter((e) => e !== '');
  const base = `${c.runtime}, ${c.version} (${VERSIONS[c.version].short}), ${c.controlPlanes} control-plane + ${c.workers} workers`;
  return extras.length > 0 ? `${base}, ${extras.join(', ')}` : base;
}

/** The cluster config as a user would write it; parsed by the real loader so defaults apply. */
function configYaml(c: Case): string {
  const minor = c.version.split('.')[1];
  const kubernetes: Record<string, unknown> = { version: c.version };
  if (c.endpoint) kubernetes.controlPlaneEndpoint = c.endpoint;
  if (c.probeTolerance) kubernetes.probeTolerance = c.probeTolerance;
  const workers: Record<string, unknown> = { count: c.workers, cpus: 2, memoryMiB: 4096 };
  if (c.firstWorker) workers.hosts = [c.firstWorker];
  return stringify({
    apiVersion: 'nkd.nestos.io/v1alpha1',
    kind: 'Cluster',
    metadata: { name: `${c.runtime}-${minor}-${c.controlPlanes}cp-${c.workers}w${c.vip ? '-vip' : ''}` },
    spec: {
      kubernetes,
      runtime: c.runtime,
      controlPlane: { count: c.controlPlanes, cpus: 2, memoryMiB: 4096 },
      workers,
      access: { sshAuthorizedKeys: [SSH_KEY] },
      ...(c.releaseImage ? { os: { releaseImage: c.releaseImage } } : {}),
      platform: {
        libvirt: {
          image: '/var/lib/libvirt/images/nestos.qcow2',
          network: { cidr: NODE_CIDR },
          ...(c.vip ? { apiEndpoint: { type: 'vip' } } : {}),
        },
      },
    },
  });
}

function parseCase(c: Case): ReturnType<typeof parseClusterConfig> {
  return parseClusterConfig(configYaml(c), `${caseName(c)}.yaml`);
}

function configOf(c: Case): ClusterConfig {
  const parsed = parseCase(c);
  if (!parsed.config || parsed.errors.length > 0) {
    throw new Error(`invalid test config for ${caseName(c)}: ${JSON.stringify(parsed.errors, null, 2)}`);
  }
  return parsed.config;
}

function expectedEndpoint(c: Case, plan: ClusterPlan): string {
  if (c.endpoint) return c.endpoint;
  if (c.vip) return `${plan.kubernetes.apiVip!.address}:6443`;
  const first = plan.nodes.find((n) => n.role === 'control-plane' && n.index === 1);
  if (!first) throw new Error('no first control-plane node');
  return `${first.address}:6443`;
}

// ---------------------------------------------------------------------------------------------------------
// Small parsers.

/** Lines of one `[section]` of an INI/TOML-like file. */
function iniSection(text: string, section: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const header = /^\[(.+)\]$/.exec(line);
    if (header) current = header[1]!;
    else if (current === section && line !== '' && !line.startsWith('#')) lines.push(line);
  }
  return lines;
}

/** A systemd unit file as section → key → every value assigned, in order. */
function unitFile(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = sections.get(header[1]!) ?? new Map<string, string[]>();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`not a unit file line: ${line}`);
    const key = line.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}

/** Whitespace-separated unit names of a dependency setting (Requires=, After=, ...). */
function unitList(text: string, section: string, key: string): string[] {
  return (
    unitFile(text)
      .get(section)
      ?.get(key)
      ?.flatMap((v) => v.split(/\s+/))
      .filter((v) => v !== '') ?? []
  );
}

type Yaml = Record<string, unknown>;

function kubeadmDocs(text: string): Yaml[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error('kubeadm.yaml is not a YAML stream');
  for (const doc of docs) expect(doc.errors.map((e) => e.message)).toEqual([]);
  return docs.map((doc) => doc.toJS() as Yaml);
}

function get(obj: unknown, path: string): unknown {
  let value: unknown = obj;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** One kubelet extra arg, from the list of {name, value} v1beta4 uses. */
function kubeletExtraArg(registration: unknown, name: string): unknown {
  const args = get(registration, 'kubeletExtraArgs');
  expect(Array.isArray(args)).toBe(true);
  const list = args as Array<{ name: string; value: unknown }>;
  for (const entry of list) expect(Object.keys(entry).sort()).toEqual(['name', 'value']);
  const matches = list.filter((e) => e.name === name);
  expect(matches).toHaveLength(1);
  return matches[0]?.value;
}

/** Every regular file under the applied root, as node paths. */
function allFiles(root: AppliedRoot): string[] {
  return readdirSync(root.root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !lstatSync(join(e.parentPath, e.name)).isSymbolicLink())
    .map((e) => `/${relative(root.root, join(e.parentPath, e.name))}`);
}

/**
 * Diagnostics of `systemd-analyze verify` that come from parsing (they carry FILE:LINE), for unit files
 * given as name → contents, checked in one run.
 */
async function unitParseErrors(dir: string, units: ReadonlyMap<string, string>): Promise<string[]> {
  const paths = [...units].map(([name, contents]) => {
    const path = join(dir, name);
    writeFileSync(path, contents);
    return path;
  });
  const result = await execa('systemd-analyze', ['verify', ...paths], { reject: false, all: true });
  // Missing dependencies and ExecStart binaries on this machine are expected; parse problems are not.
  return (result.all ?? '').split('\n').filter((line) => paths.some((path) => line.startsWith(`${path}:`)));
}

// ---------------------------------------------------------------------------------------------------------
// Assertion helpers, one per behaviour.

interface NodeContext {
  c: Case;
  plan: ClusterPlan;
  node: NodePlan;
  rendered: RenderedNode;
  root: AppliedRoot;
  pki: ClusterPki;
  scratch: string;
}

function expectIdentity({ plan, node, root }: NodeContext): void {
  expect(root.readFile('/etc/hostname')).toBe(`${node.name}\n`);
  const hosts = root.readFile('/etc/hosts');
  expect(hosts.split('\n')).toContain(`${node.address} ${node.name}`);
  expect(hosts).toMatch(/^127\.0\.0\.1\s+localhost\b/m);
  // Every node can resolve every control-plane name.
  for (const cp of plan.nodes.filter((n) => n.role === 'control-plane')) {
    expect(hosts.split('\n')).toContain(`${cp.address} ${cp.name}`);
  }
  expect(root.readFile('/etc/passwd')).toMatch(
    new RegExp(`^${ADMIN_USER}:x:\\d+:\\d+::/home/${ADMIN_USER}:`, 'm'),
  );
  expect(root.readFile('/etc/group')).toMatch(new RegExp(`^wheel:x:10:${ADMIN_USER}$`, 'm'));
  expect(root.readFile(`/home/${ADMIN_USER}/.ssh/authorized_keys.d/ignition`).trim()).toBe(SSH_KEY);
}

function expectKernelSettings({ root }: NodeContext): void {
  const modules = root
    .readFile('/etc/modules-load.d/nkd-kubernetes.conf')
    .split('\n')
    .map((l) => l.trim());
  expect(modules).toContain('overlay');
  expect(modules).toContain('br_netfilter');
  const sysctls = new Map(
    root
      .readFile('/etc/sysctl.d/90-nkd-kubernetes.conf')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
      .map((l) => l.split('=').map((s) => s.trim()) as [string, string]),
  );
  expect(sysctls.get('net.ipv4.ip_forward')).toBe('1');
  expect(sysctls.get('net.bridge.bridge-nf-call-iptables')).toBe('1');
  expect(sysctls.get('net.bridge.bridge-nf-call-ip6tables')).toBe('1');
}

function expectRuntimeConfigured({ c, root }: NodeContext): void {
  const runtime = RUNTIMES[c.runtime];
  for (const file of runtime.files) expect(root.exists(file), file).toBe(true);
  runtime.expectConfigured(root, VERSIONS[c.version].pause);
  // Nothing of the other runtimes.
  for (const file of ALL_RUNTIME_FILES.filter((f) => !runtime.files.includes(f))) {
    expect(root.exists(file), file).toBe(false);
  }
}

function expectUnitsEnabled({ c, root }: NodeContext): void {
  const runtime = RUNTIMES[c.runtime];
  const enabled = root.enabledUnits();
  for (const unit of [...runtime.units, 'kubelet.service', 'nkd-kubeadm.service', 'nkd-swapoff.service']) {
    expect(enabled).toContain(unit);
  }
  const kubeadmUnit = root.readFile('/etc/systemd/system/nkd-kubeadm.service');
  expect(unitList(kubeadmUnit, 'Unit', 'Requires')).toContain(runtime.service);
  expect(unitList(kubeadmUnit, 'Unit', 'After')).toContain(runtime.service);
  expect(unitFile(kubeadmUnit).get('Service')?.get('ExecStart')).toEqual(['/usr/local/bin/nkd-kubeadm']);
  const kubeletDropin = root.readFile('/etc/systemd/system/kubelet.service.d/20-nkd.conf');
  expect(unitList(kubeletDropin, 'Unit', 'After')).toEqual(
    expect.arrayContaining([runtime.service, 'nkd-swapoff.service']),
  );
  expect(root.readFile('/etc/systemd/system/nkd-swapoff.service')).toMatch(/^ExecStart=.*swapoff/m);
}

/** Control planes of a cluster with a probe tolerance get kubeadm's patch files and point kubeadm at them. */
function expectProbePatches({ c, node, root, rendered }: NodeContext): void {
  const dir = '/etc/nkd/kubeadm-patches';
  const patched = c.probeTolerance !== undefined && node.role === 'control-plane';
  expect(root.exists(dir)).toBe(patched);
  expect(rendered.kubeadmText.includes(`directory: ${dir}`)).toBe(patched);
  if (!patched) return;
  const names = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];
  expect(readdirSync(join(root.root, dir)).sort()).toEqual(names.map((n) => `${n}+strategic.yaml`));
  for (const name of names) {
    const path = `${dir}/${name}+strategic.yaml`;
    expect(root.mode(path)).toBe(0o644);
    expect(root.readFile(path)).toContain(`name: ${name}\n`);
  }
}

function expectKubeadmConfig({ c, plan, node, root, pki, rendered }: NodeContext): void {
  const { api } = VERSIONS[c.version];
  const endpoint = expectedEndpoint(c, plan);
  expect(root.mode('/etc/nkd')).toBe(0o700);
  expect(root.mode('/etc/nkd/kubeadm.yaml')).toBe(0o600);
  const text = root.readFile('/etc/nkd/kubeadm.yaml');
  expect(text).toBe(rendered.kubeadmText);
  const docs = kubeadmDocs(text);
  const byKind = new Map(docs.map((d) => [d.kind as string, d]));
  for (const doc of docs) {
    if (doc.kind !== 'KubeletConfiguration') expect(doc.apiVersion).toBe(api);
  }

  const registration =
    node.bootstrap === 'init'
      ? get(byKind.get('InitConfiguration'), 'nodeRegistration')
      : get(byKind.get('JoinConfiguration'), 'nodeRegistration');
  expect(get(registration, 'name')).toBe(node.name);
  expect(get(registration, 'criSocket')).toBe(RUNTIMES[c.runtime].criSocket);
  expect(kubeletExtraArg(registration, 'node-ip')).toBe(node.address);
  if (node.role === 'worker') {
    expect(registration).not.toHaveProperty('taints');
  } else {
    // Control planes keep kubeadm's NoSchedule taint unless they are the only nodes.
    const taints =
      c.workers > 0 ? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] : [];
    expect(get(registration, 'taints')).toEqual(taints);
  }

  if (node.bootstrap === 'init') {
    expect(docs.map((d) => d.kind)).toEqual([
      'InitConfiguration',
      'ClusterConfiguration',
      'KubeletConfiguration',
    ]);
    const init = byKind.get('InitConfiguration');
    expect(get(init, 'localAPIEndpoint.bindPort')).toBe(6443);
    expect(get(init, 'localAPIEndpoint.advertiseAddress')).toBe(node.address);
    const tokens = get(init, 'bootstrapTokens') as Yaml[];
    expect(tokens).toHaveLength(1);
    expect(tokens[0]?.token).toBe(pki.bootstrapToken);
    expect(tokens[0]?.usages).toEqual(expect.arrayContaining(['signing', 'authentication']));
    expect(tokens[0]?.groups).toEqual(['system:bootstrappers:kubeadm:default-node-token']);

    const cluster = byKind.get('ClusterConfiguration');
    expect(get(cluster, 'kubernetesVersion')).toBe(c.version);
    expect(get(cluster, 'controlPlaneEndpoint')).toBe(endpoint);
    const sans = get(cluster, 'apiServer.certSANs') as string[];
    expect(sans).toContain(endpoint.slice(0, endpoint.lastIndexOf(':')));
    for (const cp of plan.nodes.filter((n) => n.role === 'control-plane')) {
      expect(sans).toEqual(expect.arrayContaining([cp.name, cp.address]));
    }
    expect(get(cluster, 'networking.podSubnet')).toBe('10.244.0.0/16');
    expect(get(cluster, 'networking.serviceSubnet')).toBe('10.96.0.0/16');

    const kubelet = byKind.get('KubeletConfiguration');
    expect(get(kubelet, 'apiVersion')).toBe('kubelet.config.k8s.io/v1beta1');
    expect(get(kubelet, 'cgroupDriver')).toBe('systemd');
    // A reboot stops the pods through the kubelet, critical ones last, instead of systemd's 90 s a scope.
    expect(get(kubelet, 'shutdownGracePeriod')).toBe('30s');
    expect(get(kubelet, 'shutdownGracePeriodCriticalPods')).toBe('10s');
  } else {
    expect(docs.map((d) => d.kind)).toEqual(['JoinConfiguration']);
    const join = byKind.get('JoinConfiguration');
    const token = get(join, 'discovery.bootstrapToken');
    expect(get(token, 'apiServerEndpoint')).toBe(endpoint);
    expect(get(token, 'token')).toBe(pki.bootstrapToken);
    expect(get(token, 'caCertHashes')).toEqual([pki.caCertHash]);
    expect(token).not.toHaveProperty('unsafeSkipCAVerification');
    if (node.bootstrap === 'join-control-plane') {
      expect(get(join, 'controlPlane.localAPIEndpoint.advertiseAddress')).toBe(node.address);
      expect(get(join, 'controlPlane.localAPIEndpoint.bindPort')).toBe(6443);
    } else {
      expect(join).not.toHaveProperty('controlPlane');
    }
  }

  // v1beta3's spellings (which kubeadm 1.37 refuses) never appear.
  for (const doc of docs) {
    expect(get(doc, 'discovery.timeout')).toBeUndefined();
    expect(get(doc, 'apiServer.timeoutForControlPlane')).toBeUndefined();
  }
}

async function expectBootstrapScript({ c, plan, node, root }: NodeContext): Promise<void> {
  const path = '/usr/local/bin/nkd-kubeadm';
  expect(root.mode(path)).toBe(0o755);
  const script = root.readFile(path);
  expect(script.startsWith('#!/bin/bash\n')).toBe(true);
  const syntax = await execa('bash', ['-n', join(root.root, path)], { reject: false, all: true });
  expect(syntax.all).toBe('');
  expect(syntax.exitCode).toBe(0);

  expect(script).toContain(`SOCKET=${RUNTIMES[c.runtime].criSocket.replace(/^unix:\/\//, '')}`);
  const validate = script.indexOf('kubeadm config validate --config');
  expect(validate).toBeGreaterThan(0);
  const command = node.bootstrap === 'init' ? 'kubeadm init --config' : 'kubeadm join --config';
  const other = node.bootstrap === 'init' ? 'kubeadm join' : 'kubeadm init';
  expect(script.indexOf(command)).toBeGreaterThan(validate);
  expect(script).not.toContain(other);

  const readyz = `https://${expectedEndpoint(c, plan)}/readyz`;
  if (node.bootstrap === 'init') {
    // The first control plane never waits for the cluster endpoint; only a resume waits for its own
    // API server, before the full init (test/unit/kubeadm-script.test.ts runs those branches).
    const local = `https://${node.address}:6443/readyz`;
    expect(script.split('/readyz')).toHaveLength(2);
    expect(script.indexOf(local)).toBeGreaterThan(0);
    expect(script.indexOf(local)).toBeLessThan(script.indexOf(command));
    expect(script).toContain('kubeadm init phase $phase --config "$CONFIG"');
  } else {
    expect(script).not.toContain('kubeadm init phase');
    const wait = script.indexOf(readyz);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThan(script.indexOf(command));
  }

  // Control planes copy the shared CA material where kubeadm looks for it, before kubeadm runs.
  for (const file of CONTROL_PLANE_PKI) {
    const copy = `/etc/nkd/pki/${file.name} /etc/kubernetes/pki/${file.name}`;
    if (node.role === 'control-plane') {
      expect(script).toContain(copy);
      expect(script.indexOf(copy)).toBeLessThan(script.indexOf(command));
    } else {
      expect(script).not.toContain(copy);
    }
  }
}

function expectControlPlanePki({ root, pki }: NodeContext): void {
  expect(root.mode('/etc/nkd/pki')).toBe(0o700);
  expect(root.mode('/etc/nkd/pki/etcd')).toBe(0o700);
  for (const file of CONTROL_PLANE_PKI) {
    const path = `/etc/nkd/pki/${file.name}`;
    expect(root.exists(path), path).toBe(true);
    expect(root.readFile(path), path).toBe(file.pem(pki));
    expect(root.mode(path), path).toBe(file.mode);
  }
  expect(readdirSync(join(root.root, 'etc/nkd/pki'), { recursive: true }).map(String).sort()).toEqual(
    [...CONTROL_PLANE_PKI.map((f) => f.name), 'etcd'].sort(),
  );
}

function expectNoPrivateMaterial({ root, pki }: NodeContext): void {
  const files = allFiles(root);
  expect(files).toEqual(expect.arrayContaining(['/etc/nkd/kubeadm.yaml', '/etc/nkd/pki/ca.crt']));
  for (const path of files) {
    const text = readFileSync(join(root.root, path), 'utf8');
    expect(text, path).not.toContain('PRIVATE KEY');
    expect(text, path).not.toContain('client-key-data');
    expect(text, path).not.toContain(pki.admin.certPem);
    expect(text, path).not.toContain(pki.certificateKey);
  }
  expect(readdirSync(join(root.root, 'etc/nkd/pki'))).toEqual(['ca.crt']);
  expect(root.readFile('/etc/nkd/pki/ca.crt')).toBe(pki.clusterCa.certPem);
}

/** No node gets the deployer's admin client credentials, control plane or not. */
function expectNoAdminCredentials({ root, pki }: NodeContext): void {
  for (const path of allFiles(root)) {
    const text = readFileSync(join(root.root, path), 'utf8');
    expect(text, path).not.toContain(pki.admin.keyPem);
    expect(text, path).not.toContain(pki.admin.certPem);
    expect(text, path).not.toContain('client-key-data');
  }
}

/** Control planes of a VIP cluster run keepalived from nkd's files; nothing of it elsewhere. */
function expectKeepalived({ c, plan, node, root, pki }: NodeContext): void {
  const holds = c.vip === true && node.role === 'control-plane';
  expect(root.exists('/etc/keepalived/keepalived.conf')).toBe(holds);
  expect(root.enabledUnits().includes('nkd-keepalived.service')).toBe(holds);
  if (!holds) return;
  expect(root.mode('/etc/keepalived/keepalived.conf')).toBe(0o600);
  const conf = root.readFile('/etc/keepalived/keepalived.conf');
  expect(conf).toContain(`auth_pass ${pki.vrrpPassword}`);
  expect(conf).toContain(`${plan.kubernetes.apiVip!.address}/32 dev $NKD_INTERFACE`);
  expect(conf).toContain(`unicast_src_ip ${node.address}`);
  for (const path of ['/usr/local/bin/nkd-keepalived', '/usr/local/bin/nkd-apiserver-check'])
    expect(root.mode(path), path).toBe(0o755);
}

function expectNoZincatiUpdates({ root }: NodeContext): void {
  // Housekeeper owns OS updates: Zincati (where the image ships it) must not reboot nodes undrained.
  const config = root.readFile('/etc/zincati/config.d/90-nkd-housekeeper.toml');
  expect(config).toMatch(/^\[updates\]\nenabled = false$/m);
}

async function expectRebase({ root }: NodeContext): Promise<void> {
  expect(root.enabledUnits()).toContain('nkd-rebase.service');
  const unit = root.readFile('/etc/systemd/system/nkd-rebase.service');
  expect(unitFile(unit).get('Service')?.get('ExecStart')).toEqual(['/usr/local/bin/nkd-rebase']);
  // First boot only: afterwards Housekeeper owns the OS image, and a newer one must not be rebased back.
  expect(unitFile(unit).get('Unit')?.get('ConditionPathExists')).toEqual(['!/var/lib/nkd/rebase.done']);
  expect(root.mode('/usr/local/bin/nkd-rebase')).toBe(0o755);
  const script = root.readFile('/usr/local/bin/nkd-rebase');
  expect(script.startsWith('#!/bin/bash\n')).toBe(true);
  expect(script).toContain(RELEASE_IMAGE);
  expect(script).toContain('rpm-ostree rebase');
  const syntax = await execa('bash', ['-n', join(root.root, '/usr/local/bin/nkd-rebase')], {
    reject: false,
    all: true,
  });
  expect(syntax.all).toBe('');

  const kubeadmUnit = root.readFile('/etc/systemd/system/nkd-kubeadm.service');
  expect(unitList(kubeadmUnit, 'Unit', 'Requires')).toContain('nkd-rebase.service');
  expect(unitList(kubeadmUnit, 'Unit', 'After')).toContain('nkd-rebase.service');
  const kubeletDropin = root.readFile('/etc/systemd/system/kubelet.service.d/20-nkd.conf');
  expect(unitList(kubeletDropin, 'Unit', 'After')).toContain('nkd-rebase.service');
}

function expectNoRebase({ root }: NodeContext): void {
  expect(root.enabledUnits()).not.toContain('nkd-rebase.service');
  expect(root.exists('/etc/systemd/system/nkd-rebase.service')).toBe(false);
  expect(root.exists('/usr/local/bin/nkd-rebase')).toBe(false);
  expect(root.readFile('/etc/systemd/system/nkd-kubeadm.service')).not.toContain('nkd-rebase');
  expect(root.readFile('/etc/systemd/system/kubelet.service.d/20-nkd.conf')).not.toContain('nkd-rebase');
}

async function expectUnitsParse({ root, scratch, node }: NodeContext): Promise<void> {
  const dir = mkdtempSync(join(scratch, `units-${node.name}-`));
  const units = root.enabledUnits().filter((u) => root.exists(`/etc/systemd/system/${u}`));
  expect(units.length).toBeGreaterThanOrEqual(2);
  const files = new Map(units.map((u) => [u, root.readFile(`/etc/systemd/system/${u}`)]));
  // Drop-ins for units the OS image ships: parse them appended to a minimal unit of that name.
  const dropins = allFiles(root).filter((p) => /^\/etc\/systemd\/system\/[^/]+\.d\/[^/]+\.conf$/.test(p));
  expect(dropins).toContain('/etc/systemd/system/kubelet.service.d/20-nkd.conf');
  for (const dropin of dropins) {
    const unit = dropin.split('/')[4]!.replace(/\.d$/, '');
    expect(files.has(unit), `${unit} is both a full unit and a drop-in target`).toBe(false);
    const base = `[Unit]\nDescription=stand-in for ${unit}\n\n[Service]\nExecStart=/bin/true\n`;
    files.set(unit, `${base}\n${root.readFile(dropin)}`);
  }
  const errors = await unitParseErrors(dir, files);
  expect(errors).toEqual([]);
}

// ---------------------------------------------------------------------------------------------------------

describe.skipIf(!ignitionAvailable() || process.getuid?.() !== 0)(
  'rendered Ignition applied by the real Ignition',
  () => {
    let pki: ClusterPki;
    let templates: TemplateSet;
    let scratch: string;

    beforeAll(async () => {
      scratch = mkdtempSync(join(tmpdir(), 'nkd-render-ign-'));
      templates = loadTemplates();
      pki = await generatePki();
    });
    afterAll(() => {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    describe.each(CASES.map((c) => ({ ...c, name: caseName(c) })))('$name', (c) => {
      // Parsing and planning are pure and synchronous, so the node list is known when tests are collected.
      const plan = planCluster(configOf(c));
      const rendered = new Map<string, RenderedNode>();
      const validation = new Map<string, { ok: boolean; output: string }>();
      const applied = new Map<string, AppliedRoot | Error>();

      beforeAll(async () => {
        const dir = mkdtempSync(join(scratch, 'cluster-'));
        for (const r of renderCluster({ plan, pki, templates })) rendered.set(r.node.name, r);
        await Promise.all(
          [...rendered.values()].map(async (r) => {
            const path = join(dir, `${r.node.name}.ign`);
            writeFileSync(path, r.ignitionText);
            validation.set(r.node.name, await validateIgnition(path));
            try {
              applied.set(r.node.name, await applyIgnition(path));
            } catch (err) {
              applied.set(r.node.name, err as Error);
            }
          }),
        );
      });
      afterAll(() => {
        for (const a of applied.values()) if (!(a instanceof Error)) a.cleanup();
      });

      it('parses without errors and plans the expected nodes', () => {
        const parsed = parseCase(c);
        expect(parsed.errors).toEqual([]);
        expect(plan.kubernetes.kubeadmApiVersion).toBe(VERSIONS[c.version].api);
        expect(plan.nodes.filter((n) => n.bootstrap === 'init')).toHaveLength(1);
        expect(plan.nodes.filter((n) => n.bootstrap === 'join-control-plane')).toHaveLength(
          c.controlPlanes - 1,
        );
        expect(plan.nodes.filter((n) => n.bootstrap === 'join')).toHaveLength(c.workers);
        if (c.firstWorker) {
          expect(plan.nodes.find((n) => n.role === 'worker' && n.index === 1)).toMatchObject({
            name: c.firstWorker.hostname,
            address: c.firstWorker.ip,
          });
        }
      });

      describe.each(plan.nodes.map((node) => ({ node, label: `${node.name} (${node.bootstrap})` })))(
        '$label',
        ({ node }) => {
          const context = (): NodeContext => {
            const root = applied.get(node.name);
            const r = rendered.get(node.name);
            if (root === undefined || r === undefined) throw new Error(`${node.name} was not rendered`);
            if (root instanceof Error) throw root;
            return { c, plan, node, rendered: r, root, pki, scratch };
          };

          it('is accepted by ignition-validate and applied by Ignition', () => {
            const v = validation.get(node.name);
            expect(v?.output).toBe('');
            expect(v?.ok).toBe(true);
            expect(context().root.log).toContain('Ignition finished successfully');
          });
          it('gets its hostname, /etc/hosts and the admin user with the ssh key', () => {
            expectIdentity(context());
          });
          it('turns Zincati auto-updates off: Housekeeper upgrades the OS', () => {
            expectNoZincatiUpdates(context());
          });
          it('loads the kernel modules and sysctls Kubernetes needs', () => {
            expectKernelSettings(context());
          });
          it(`configures ${c.runtime} for systemd cgroups and the ${c.version} pause image`, () => {
            expectRuntimeConfigured(context());
          });
          it('enables the runtime, kubelet, swap-off and kubeadm units', () => {
            expectUnitsEnabled(context());
          });
          it(`gets a private ${VERSIONS[c.version].short} kubeadm.yaml for ${node.bootstrap}`, () => {
            expectKubeadmConfig(context());
          });
          it(c.probeTolerance ? 'gets probe patches on control planes only' : 'gets no probe patches', () => {
            expectProbePatches(context());
          });
          it('gets a bootstrap script that validates the kubeadm config first', async () => {
            await expectBootstrapScript(context());
          });
          if (node.role === 'control-plane') {
            it('gets the shared CA material with private key modes', () => {
              expectControlPlanePki(context());
            });
          } else {
            it('holds no private key, admin credential or CA material beyond ca.crt', () => {
              expectNoPrivateMaterial(context());
            });
          }
          it('never gets the admin client credentials', () => {
            expectNoAdminCredentials(context());
          });
          it(c.vip ? 'runs keepalived for the API VIP on control planes only' : 'has no keepalived', () => {
            expectKeepalived(context());
          });
          if (c.releaseImage) {
            it('rebases to the release image before kubeadm runs', async () => {
              await expectRebase(context());
            });
          } else {
            it('has no OS rebase unit or script', () => {
              expectNoRebase(context());
            });
          }
          it('has unit files and drop-ins systemd parses without errors', async () => {
            await expectUnitsParse(context());
          });
        },
      );
    });

    it('detects unit-file parse errors with systemd-analyze (self-check of the unit assertion)', async () => {
      const dir = mkdtempSync(join(scratch, 'units-selfcheck-'));
      const errors = await unitParseErrors(
        dir,
        new Map([
          ['fine.service', '[Unit]\nDescription=fine\n\n[Service]\nExecStart=/bin/true\n'],
          ['broken.service', '[Unit]\nBogusKey=1\n\n[Service]\nExecStart=/bin/true\n'],
        ]),
      );
      expect(errors).toHaveLength(1);
      expect(errors.join('\n')).toMatch(/Unknown key/);
    });

    it.each(CASES.map((c) => ({ c, name: caseName(c) })))(
      'renders byte-identical output twice: $name',
      ({ c }) => {
        const plan = planCluster(configOf(c));
        const first = renderCluster({ plan, pki, templates });
        const again = renderCluster({ plan, pki, templates });
        // A freshly planned plan and freshly loaded templates must not change a byte either.
        const fresh = renderCluster({ plan: planCluster(configOf(c)), pki, templates: loadTemplates() });
        expect(again.map((r) => r.ignitionText)).toEqual(first.map((r) => r.ignitionText));
        expect(fresh.map((r) => r.ignitionText)).toEqual(first.map((r) => r.ignitionText));
        expect(fresh.map((r) => r.node.name)).toEqual(plan.nodes.map((n) => n.name));
      },
    );
  },
);
