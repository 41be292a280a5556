// Every kind of config mistake a user makes, run through the real CLI: `nkd validate` and
// `nkd deploy --dry-run` must both exit 3, point at the exact line and key path of the mistake
// (FILE:LINE:COL: key.path: message), and leave the state directory untouched.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  edit,
  lineOf,
  listTree,
  problemLines,
  removeTempDirs,
  sandbox,
  writeConfig,
  type RunResult,
} from '../helpers/cli.js';

afterAll(removeTempDirs);

/** A valid libvirt config every case below is derived from (one small edit each). */
const BASE = `apiVersion: nkd.nestos.io/v1alpha1
kind: Cluster
metadata:
  name: demo
spec:
  kubernetes:
    version: v1.36.3
    controlPlaneEndpoint: api.demo.example:6443
    podSubnet: 10.244.0.0/16
    serviceSubnet: 10.96.0.0/16
  runtime: containerd
  network:
    plugin: calico
  controlPlane:
    count: 3
    cpus: 2
    memoryMiB: 4096
    diskGiB: 30
  workers:
    count: 2
    cpus: 2
    memoryMiB: 4096
    diskGiB: 30
  access:
    sshAuthorizedKeys:
      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh1cR1G4dbgS0bY6tV1v7aZx2Ck3Jr0yGm9oN2kQ0sE ops@example
  platform:
    libvirt:
      uri: qemu:///system
      image: /var/lib/libvirt/images/nestos.qcow2
      network:
        cidr: 192.168.132.0/24
`;

const LIBVIRT_PLATFORM = BASE.slice(BASE.indexOf('  platform:\n'));
const OPENSTACK_PLATFORM = `  platform:
    openstack:
      cloud: mycloud
      image: nestos-22.03
      flavor: m1.large
      network:
        cidr: 10.0.0.0/24
      externalNetwork: public
      apiAllowedCIDRs: [203.0.113.0/24]
`;
/** The same cluster on OpenStack (sized by its flavor), for the OpenStack-only mistakes. */
const OPENSTACK_BASE = edit(BASE, LIBVIRT_PLATFORM, OPENSTACK_PLATFORM).replaceAll(
  '    cpus: 2\n    memoryMiB: 4096\n    diskGiB: 30\n',
  '',
);

const CP_HEAD = '  controlPlane:\n    count: 3\n';
const WORKERS_HEAD = '  workers:\n    count: 2\n';

/** Adds `hosts:` entries (YAML lines at item level, e.g. "- hostname: a") to the control plane. */
function cpHosts(...items: string[]): string {
  return edit(BASE, CP_HEAD, `${CP_HEAD}    hosts:\n${items.map((i) => `      ${i}\n`).join('')}`);
}

/** Where the problem must be reported: the nth line containing a needle, or a fixed line. */
type Where = string | { needle: string; nth: number } | { line: number };

interface InvalidCase {
  name: string;
  yaml: string;
  where: Where;
  path: string;
  message: RegExp;
  /** Number of error lines expected (default 1: each edit is one mistake). */
  count?: number;
}

function expectedLine(c: InvalidCase): number {
  const w = c.where;
  if (typeof w === 'string') return lineOf(c.yaml, w);
  if ('line' in w) return w.line;
  return lineOf(c.yaml, w.needle, w.nth);
}

const PRIVATE_KEY_BODY = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW';

const CASES: InvalidCase[] = [
  // --- keys and document shape
  {
    name: 'unknown key: controlplane typo',
    yaml: edit(BASE, '  controlPlane:', '  controlplane:'),
    where: 'controlplane:',
    path: 'spec.controlplane',
    message: /^unknown key "controlplane" \(did you mean "controlPlane"\?\)$/,
  },
  {
    name: 'wrong apiVersion',
    yaml: edit(BASE, 'apiVersion: nkd.nestos.io/v1alpha1', 'apiVersion: nkd.nestos.io/v1'),
    where: 'apiVersion:',
    path: 'apiVersion',
    message: /must be nkd\.nestos\.io\/v1alpha1/,
  },
  {
    name: 'wrong kind',
    yaml: edit(BASE, 'kind: Cluster', 'kind: Deployment'),
    where: 'kind: Deployment',
    path: 'kind',
    message: /must be Cluster/,
  },
  {
    name: 'cluster name with uppercase letters',
    yaml: edit(BASE, 'name: demo', 'name: Demo'),
    where: 'name: Demo',
    path: 'metadata.name',
    message: /DNS-1123 label/,
  },
  {
    name: 'cluster name longer than 40 characters',
    yaml: edit(BASE, 'name: demo', `name: ${'a'.repeat(41)}`),
    where: 'name: aaaa',
    path: 'metadata.name',
    message: /at most 40 characters/,
  },
  {
    name: 'a string where a number is expected (count: three)',
    yaml: edit(BASE, '    count: 3', '    count: three'),
    where: 'count: three',
    path: 'spec.controlPlane.count',
    message: /"three"/,
  },
  // --- Kubernetes
  {
    name: 'Kubernetes minor upstream no longer maintains (v1.34), naming the range',
    yaml: edit(BASE, 'version: v1.36.3', 'version: v1.34.2'),
    where: 'version: v1.34.2',
    path: 'spec.kubernetes.version',
    message:
      /^v1\.34\.2 is not supported \(upstream no longer maintains it\): nkd deploys v1\.35\.0 to v1\.37\.x$/,
  },
  {
    name: 'Kubernetes minor newer than nkd knows (v1.38)',
    yaml: edit(BASE, 'version: v1.36.3', 'version: v1.38.0'),
    where: 'version: v1.38.0',
    path: 'spec.kubernetes.version',
    message:
      /^v1\.38\.0 is not supported \(it is newer than nkd was checked against\): nkd deploys v1\.35\.0 to v1\.37\.x$/,
  },
  {
    name: 'malformed Kubernetes version (no leading v)',
    yaml: edit(BASE, 'version: v1.36.3', 'version: 1.36.3'),
    where: 'version: 1.36.3',
    path: 'spec.kubernetes.version',
    message: /must look like v1\.37\.2/,
  },
  {
    name: 'controlPlaneEndpoint without a port',
    yaml: edit(BASE, 'controlPlaneEndpoint: api.demo.example:6443', 'controlPlaneEndpoint: api.demo.example'),
    where: 'controlPlaneEndpoint:',
    path: 'spec.kubernetes.controlPlaneEndpoint',
    message: /must be host:port/,
  },
  {
    name: 'podSubnet overlapping serviceSubnet',
    yaml: edit(BASE, 'serviceSubnet: 10.96.0.0/16', 'serviceSubnet: 10.244.128.0/17'),
    where: 'serviceSubnet:',
    path: 'spec.kubernetes.serviceSubnet',
    message: /10\.244\.128\.0\/17 overlaps podSubnet 10\.244\.0\.0\/16/,
  },
  {
    name: 'podSubnet overlapping the node network',
    yaml: edit(BASE, 'podSubnet: 10.244.0.0/16', 'podSubnet: 192.168.0.0/16'),
    where: 'podSubnet:',
    path: 'spec.kubernetes.podSubnet',
    message: /overlaps the node network 192\.168\.132\.0\/24/,
  },
  // --- runtime and network plugin
  {
    name: 'invalid container runtime',
    yaml: edit(BASE, 'runtime: containerd', 'runtime: podman'),
    where: 'runtime: podman',
    path: 'spec.runtime',
    message: /must be one of: containerd, crio, isulad, docker/,
  },
  {
    name: 'invalid network plugin',
    yaml: edit(BASE, 'plugin: calico', 'plugin: cilium'),
    where: 'plugin: cilium',
    path: 'spec.network.plugin',
    message: /must be one of: calico, flannel, none/,
  },
  // --- node groups
  {
    name: 'controlPlane.count 0',
    yaml: edit(BASE, '    count: 3', '    count: 0'),
    where: 'count: 0',
    path: 'spec.controlPlane.count',
    message: /must be 1 or more/,
  },
  {
    name: 'negative workers.count',
    yaml: edit(BASE, '    count: 2', '    count: -1'),
    where: 'count: -1',
    path: 'spec.workers.count',
    message: /must be 0 or more/,
  },
  {
    name: 'control-plane cpus 1',
    yaml: edit(BASE, `${CP_HEAD}    cpus: 2`, `${CP_HEAD}    cpus: 1`),
    where: 'cpus: 1',
    path: 'spec.controlPlane.cpus',
    message: /at least 2/,
  },
  {
    // kubeadm compares 1700 MB with the RAM the kernel reports, ~150 MiB under the machine's: a real
    // 1700 MiB node reported ~1555 MiB and kubeadm's preflight refused it.
    name: 'control-plane memory 1700 MiB',
    yaml: edit(
      BASE,
      `${CP_HEAD}    cpus: 2\n    memoryMiB: 4096`,
      `${CP_HEAD}    cpus: 2\n    memoryMiB: 1700`,
    ),
    where: 'memoryMiB: 1700',
    path: 'spec.controlPlane.memoryMiB',
    message: /at least 2048/,
  },
  // --- hosts and addresses
  {
    name: 'duplicate hostnames in hosts',
    yaml: cpHosts('- hostname: k8s-master01', '- hostname: k8s-master01'),
    where: { needle: 'hostname: k8s-master01', nth: 2 },
    path: 'spec.controlPlane.hosts[1].hostname',
    message: /hostname "k8s-master01" .* already used by controlPlane\.hosts\[0\]/,
  },
  {
    name: 'fixed hostname colliding with a generated one',
    yaml: cpHosts('- hostname: demo-worker-1'),
    where: { needle: 'count: 2', nth: 1 },
    path: 'spec.workers.count',
    message: /hostname "demo-worker-1" .* already used by controlPlane\.hosts\[0\]/,
  },
  {
    name: 'duplicate ip in hosts (control plane and worker)',
    yaml: edit(
      cpHosts('- ip: 192.168.132.11'),
      WORKERS_HEAD,
      `${WORKERS_HEAD}    hosts:\n      - ip: 192.168.132.11\n`,
    ),
    where: { needle: 'ip: 192.168.132.11', nth: 2 },
    path: 'spec.workers.hosts[0].ip',
    message: /192\.168\.132\.11 is already used by demo-cp-1/,
  },
  {
    name: 'ip outside the node cidr',
    yaml: cpHosts('- ip: 10.1.2.3'),
    where: 'ip: 10.1.2.3',
    path: 'spec.controlPlane.hosts[0].ip',
    message: /outside the node network 192\.168\.132\.0\/24/,
  },
  {
    name: 'ip equal to the gateway',
    yaml: cpHosts('- ip: 192.168.132.1'),
    where: 'ip: 192.168.132.1',
    path: 'spec.controlPlane.hosts[0].ip',
    message: /it is the gateway/,
  },
  {
    name: 'more hosts than count',
    yaml: edit(
      BASE,
      WORKERS_HEAD,
      '  workers:\n    count: 1\n    hosts:\n      - hostname: w1\n      - hostname: w2\n',
    ),
    where: 'hosts:',
    path: 'spec.workers.hosts',
    message: /lists 2 hosts but workers\.count is 1/,
  },
  // --- platform
  {
    name: 'no platform section',
    yaml: edit(BASE, LIBVIRT_PLATFORM, ''),
    where: 'spec:',
    path: 'spec.platform',
    message: /is required/,
  },
  {
    name: 'empty platform section',
    yaml: edit(BASE, LIBVIRT_PLATFORM, '  platform: {}\n'),
    where: 'platform: {}',
    path: 'spec.platform',
    message: /exactly one platform must be set .*none is set/,
  },
  {
    name: 'two platforms',
    yaml: `${BASE}${OPENSTACK_PLATFORM.replace('  platform:\n', '')}`,
    where: 'platform:',
    path: 'spec.platform',
    message: /exactly one platform must be set .*found libvirt and openstack/,
  },
  {
    name: 'node cidr with host bits set',
    yaml: edit(BASE, 'cidr: 192.168.132.0/24', 'cidr: 192.168.132.1/24'),
    where: 'cidr:',
    path: 'spec.platform.libvirt.network.cidr',
    message: /host bits set; the network address is 192\.168\.132\.0\/24/,
  },
  {
    name: 'node cidr too small for the node count',
    yaml: edit(BASE, 'cidr: 192.168.132.0/24', 'cidr: 192.168.132.0/30'),
    where: 'cidr:',
    path: 'spec.platform.libvirt.network.cidr',
    message: /no free address left .* needs 5 node addresses/,
  },
  {
    name: 'gateway outside the node cidr',
    yaml: edit(BASE, 'cidr: 192.168.132.0/24\n', 'cidr: 192.168.132.0/24\n        gateway: 10.0.0.1\n'),
    where: 'gateway:',
    path: 'spec.platform.libvirt.network.gateway',
    message: /10\.0\.0\.1 is not a host address of 192\.168\.132\.0\/24/,
  },
  {
    name: 'relative libvirt image path',
    yaml: edit(BASE, 'image: /var/lib/libvirt/images/nestos.qcow2', 'image: images/nestos.qcow2'),
    where: 'image: images/nestos.qcow2',
    path: 'spec.platform.libvirt.image',
    message: /must be an absolute path/,
  },
  {
    name: 'openstack without an image',
    yaml: edit(OPENSTACK_BASE, '      image: nestos-22.03\n', ''),
    where: 'openstack:',
    path: 'spec.platform.openstack.image',
    message: /is required/,
  },
  {
    name: 'openstack: cpus under workers (the flavor sizes nodes)',
    yaml: edit(OPENSTACK_BASE, WORKERS_HEAD, `${WORKERS_HEAD}    cpus: 8\n`),
    where: 'cpus: 8',
    path: 'spec.workers.cpus',
    message:
      /^is not used on openstack: the flavor sizes the nodes \(spec\.platform\.openstack\.flavor\); remove it$/,
  },
  {
    name: 'openstack: memoryMiB under controlPlane at its default value',
    yaml: edit(OPENSTACK_BASE, CP_HEAD, `${CP_HEAD}    memoryMiB: 8192\n`),
    where: 'memoryMiB: 8192',
    path: 'spec.controlPlane.memoryMiB',
    message: /^is not used on openstack: the flavor sizes the nodes/,
  },
  {
    name: 'openstack: diskGiB under controlPlane (the flavor or rootVolume sizes the disk)',
    yaml: edit(OPENSTACK_BASE, CP_HEAD, `${CP_HEAD}    diskGiB: 80\n`),
    where: 'diskGiB: 80',
    path: 'spec.controlPlane.diskGiB',
    message: /^is not used on openstack: .*spec\.platform\.openstack\.rootVolume\.sizeGiB; remove it$/,
  },
  // --- secrets
  {
    name: 'inline secret: password under openstack',
    yaml: edit(OPENSTACK_BASE, '      cloud: mycloud\n', '      cloud: mycloud\n      password: hunter2\n'),
    where: 'password: hunter2',
    path: 'spec.platform.openstack.password',
    message: /secrets are never accepted in the config file; use clouds\.yaml/,
  },
  {
    name: 'inline secret: bootstrap token under kubernetes',
    yaml: edit(BASE, 'version: v1.36.3\n', 'version: v1.36.3\n    token: abcdef.0123456789abcdef\n'),
    where: 'token:',
    path: 'spec.kubernetes.token',
    message: /secrets are never accepted in the config file; nkd generates cluster secrets/,
  },
  {
    name: 'pre-deploy hook that does not exist (relative to the config)',
    yaml: edit(
      BASE,
      '  runtime: containerd',
      '  runtime: containerd\n  hooks:\n    preDeploy: [hooks/missing.sh]',
    ),
    where: 'preDeploy: [hooks/missing.sh]',
    path: 'spec.hooks.preDeploy[0]',
    message: /\/hooks\/missing\.sh is not an executable file$/,
  },
  {
    name: 'network manifest file that does not exist',
    yaml: edit(BASE, '    plugin: calico', '    plugin: calico\n    manifest: cni/calico.yaml'),
    where: 'manifest: cni/calico.yaml',
    path: 'spec.network.manifest',
    message: /\/cni\/calico\.yaml does not exist$/,
  },
  {
    name: 'private key pasted in sshAuthorizedKeys',
    yaml: edit(
      BASE,
      '      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh1cR1G4dbgS0bY6tV1v7aZx2Ck3Jr0yGm9oN2kQ0sE ops@example\n',
      [
        '      - |',
        '        -----BEGIN OPENSSH PRIVATE KEY-----',
        `        ${PRIVATE_KEY_BODY}`,
        '        -----END OPENSSH PRIVATE KEY-----',
        '',
      ].join('\n'),
    ),
    where: '- |',
    path: 'spec.access.sshAuthorizedKeys[0]',
    message: /is a private key; give the public key/,
  },
  // --- YAML itself
  {
    name: 'YAML syntax error (nested mapping on one line)',
    yaml: edit(BASE, 'plugin: calico', 'plugin: calico: x'),
    where: 'plugin: calico: x',
    path: '(yaml)',
    message: /Nested mappings are not allowed/,
  },
  {
    name: 'YAML duplicate key',
    yaml: edit(BASE, '  runtime: containerd\n', '  runtime: containerd\n  runtime: crio\n'),
    where: 'runtime: crio',
    path: '(yaml)',
    message: /unique/,
  },
  {
    name: 'empty file',
    yaml: '',
    where: { line: 1 },
    path: '(root)',
    message: /the file is empty/,
  },
];

interface Outcome {
  file: string;
  state: string;
  home: string;
  validate: RunResult;
  deploy: RunResult;
}

/** Each case runs once (validate and deploy in parallel); the tests below share the result. */
const outcomes = new Map<string, Promise<Outcome>>();
function outcome(c: InvalidCase): Promise<Outcome> {
  let p = outcomes.get(c.name);
  if (!p) {
    p = (async () => {
      const sb = sandbox();
      const file = writeConfig(sb.root, c.yaml);
      const [validate, deploy] = await Promise.all([
        sb.run(['validate', '-f', file]),
        sb.run(['deploy', '-f', file, '--dry-run', '--state-dir', sb.state]),
      ]);
      return { file, state: sb.state, home: sb.home, validate, deploy };
    })();
    outcomes.set(c.name, p);
  }
  return p;
}

function summaryLine(file: string, count: number): string {
  return `nkd: ${file} is invalid (${count} problem${count === 1 ? '' : 's'})`;
}

describe.concurrent('the base configs are valid (so each case below is exactly one mistake)', () => {
  it.each([
    ['libvirt', BASE],
    ['openstack', OPENSTACK_BASE],
  ])('%s base validates with no warnings', async (_name, yaml) => {
    const sb = sandbox();
    // With the base image present (a missing local image is warned about) and the OpenStack Ignition
    // service address set (deploy needs it; a dry-run does not, so it is a warning).
    const image = join(sb.root, 'nestos.qcow2');
    writeFileSync(image, '');
    const complete = yaml
      .replace('/var/lib/libvirt/images/nestos.qcow2', image)
      .replace(
        'externalNetwork: public\n',
        'externalNetwork: public\n      ignitionService:\n        advertise: 203.0.113.10:22623\n',
      );
    const file = writeConfig(sb.root, complete);
    const r = await sb.run(['validate', '-f', file]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });
});

describe.concurrent('invalid configs: validate and deploy --dry-run exit 3 and point at the mistake', () => {
  it('has at least 18 distinct cases', () => {
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    expect(new Set(CASES.map((c) => c.yaml)).size).toBe(CASES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(18);
  });

  it.each(CASES)('$name', async (c) => {
    const o = await outcome(c);
    const count = c.count ?? 1;
    const line = expectedLine(c);
    for (const [command, r] of [
      ['validate', o.validate],
      ['deploy --dry-run', o.deploy],
    ] as const) {
      const context = `${command}\n--- stderr:\n${r.stderr}`;
      expect(r.exitCode, context).toBe(3);
      expect(r.stdout, context).toBe('');
      const problems = problemLines(r.stderr, o.file);
      expect(problems, context).toHaveLength(count);
      const hit = problems.find((p) => p.path === c.path);
      expect(hit, `${context}\nno problem with key path ${c.path}`).toBeDefined();
      expect(hit!.message, context).toMatch(c.message);
      expect(hit!.line, `${context}\nexpected line ${line}`).toBe(line);
      const sourceLine = c.yaml.split('\n')[hit!.line - 1] ?? '';
      expect(hit!.col, context).toBeGreaterThanOrEqual(1);
      expect(hit!.col, context).toBeLessThanOrEqual(Math.max(1, sourceLine.length));
      // The closing line names the file and the number of problems.
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines.at(-1), context).toBe(summaryLine(o.file, count));
      // Nothing but problem lines, the summary and (validate only) warnings.
      expect(
        lines.filter((l) => !l.startsWith('warning: ')),
        context,
      ).toHaveLength(count + 1);
    }
    // Both commands report exactly the same problems.
    expect(problemLines(o.deploy.stderr)).toEqual(problemLines(o.validate.stderr));
    // Invalid input writes nothing under the state directory (and nothing in HOME).
    expect(existsSync(o.state), listTree(o.state).join('\n')).toBe(false);
    expect(listTree(o.home)).toEqual([]);
  });

  it('never echoes a pasted private key back', async () => {
    const c = CASES.find((x) => x.name === 'private key pasted in sshAuthorizedKeys')!;
    const o = await outcome(c);
    for (const r of [o.validate, o.deploy]) {
      expect(r.stderr).not.toContain(PRIVATE_KEY_BODY);
      expect(r.stderr).not.toContain('BEGIN OPENSSH');
    }
  });

  it('never echoes an inline secret back', async () => {
    const o = await outcome(CASES.find((x) => x.name === 'inline secret: password under openstack')!);
    const t = await outcome(CASES.find((x) => x.name === 'inline secret: bootstrap token under kubernetes')!);
    for (const r of [o.validate, o.deploy]) expect(r.stderr).not.toContain('hunter2');
    for (const r of [t.validate, t.deploy]) expect(r.stderr).not.toContain('0123456789abcdef');
  });
});

/** Several mistakes at once: every one is reported in one run, sorted by line. */
interface Mistake {
  from: string;
  to: string;
  where: string;
  path: string;
}

function applyMistakes(base: string, mistakes: Mistake[]): string {
  return mistakes.reduce((text, m) => edit(text, m.from, m.to), base);
}

describe.concurrent('several mistakes in one file', () => {
  // Schema-level mistakes; the file puts `kind` last so that schema order (apiVersion, kind, metadata,
  // spec) differs from file order and the output must really be sorted.
  const schemaBase = `${edit(BASE, 'kind: Cluster\n', '')}kind: Cluster\n`;
  const schemaMistakes: Mistake[] = [
    {
      from: `${CP_HEAD}    cpus: 2\n    memoryMiB:`,
      to: `${CP_HEAD}    cpus: 2\n    memory:`,
      where: 'memory: 4096',
      path: 'spec.controlPlane.memory',
    },
    { from: 'kind: Cluster', to: 'kind: Clustr', where: 'kind: Clustr', path: 'kind' },
    { from: 'name: demo', to: 'name: Demo_1', where: 'name: Demo_1', path: 'metadata.name' },
    { from: 'runtime: containerd', to: 'runtime: rkt', where: 'runtime: rkt', path: 'spec.runtime' },
    { from: '    count: 3', to: '    count: three', where: 'count: three', path: 'spec.controlPlane.count' },
    { from: '  workers:', to: '  worker:', where: 'worker:', path: 'spec.worker' },
    {
      from: 'image: /var/lib/libvirt/images/nestos.qcow2',
      to: 'image: /var/lib/libvirt/images/nestos.qcow2\n      pasword: x',
      where: 'pasword:',
      path: 'spec.platform.libvirt.pasword',
    },
  ];
  // Cross-field mistakes, found in an order (kubernetes, control plane, addresses, access, images)
  // that again differs from file order.
  const semanticMistakes: Mistake[] = [
    {
      from: 'controlPlaneEndpoint: api.demo.example:6443',
      to: 'controlPlaneEndpoint: 192.168.132.1:6443',
      where: 'controlPlaneEndpoint:',
      path: 'spec.kubernetes.controlPlaneEndpoint',
    },
    {
      from: 'serviceSubnet: 10.96.0.0/16',
      to: 'serviceSubnet: 10.244.0.0/20',
      where: 'serviceSubnet:',
      path: 'spec.kubernetes.serviceSubnet',
    },
    {
      from: `${CP_HEAD}    cpus: 2`,
      to: `${CP_HEAD}    cpus: 1`,
      where: 'cpus: 1',
      path: 'spec.controlPlane.cpus',
    },
    {
      from: 'version: v1.36.3',
      to: 'version: v1.19.3',
      where: 'version: v1.19.3',
      path: 'spec.kubernetes.version',
    },
    {
      from: WORKERS_HEAD,
      to: `${WORKERS_HEAD}    hosts:\n      - ip: 192.168.132.255\n`,
      where: 'ip: 192.168.132.255',
      path: 'spec.workers.hosts[0].ip',
    },
    {
      from: 'image: /var/lib/libvirt/images/nestos.qcow2',
      to: 'image: nestos.qcow2',
      where: 'image: nestos.qcow2',
      path: 'spec.platform.libvirt.image',
    },
    {
      from: '      - ssh-ed25519 AAAAC3',
      to: '      - not-a-key AAAAC3',
      where: 'not-a-key',
      path: 'spec.access.sshAuthorizedKeys[0]',
    },
  ];

  it.each([
    ['schema mistakes', schemaBase, schemaMistakes],
    ['cross-field mistakes', BASE, semanticMistakes],
  ] as const)('reports all %s in one run, sorted by line', async (_name, base, mistakes) => {
    const yaml = applyMistakes(base, mistakes);
    const sb = sandbox();
    const file = writeConfig(sb.root, yaml);
    const [validate, deploy, json] = await Promise.all([
      sb.run(['validate', '-f', file]),
      sb.run(['deploy', '-f', file, '--dry-run', '--state-dir', sb.state]),
      sb.run(['validate', '-f', file, '--json']),
    ]);
    const expected = mistakes
      .map((m) => ({ path: m.path, line: lineOf(yaml, m.where) }))
      .sort((a, b) => a.line - b.line);
    for (const r of [validate, deploy]) {
      expect(r.exitCode, r.stderr).toBe(3);
      const problems = problemLines(r.stderr, file);
      expect(
        problems.map((p) => ({ path: p.path, line: p.line })),
        r.stderr,
      ).toEqual(expected);
      const positions = problems.map((p) => p.line * 10_000 + p.col);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
      expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(summaryLine(file, mistakes.length));
    }
    expect(json.exitCode).toBe(3);
    const report = JSON.parse(json.stdout) as { valid: boolean; errors: { path: string; line: number }[] };
    expect(report.valid).toBe(false);
    expect(report.errors.map((e) => ({ path: e.path, line: e.line }))).toEqual(expected);
    expect(existsSync(sb.state)).toBe(false);
  });
});
