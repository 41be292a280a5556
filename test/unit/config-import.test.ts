// `nkd config import` without the CLI: the original NKD config in, an nkd config that nkd's own
// parser accepts out, with one warning per dropped or changed key.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { importOriginal, type ImportProblem } from '../../src/config/import/index.js';
import { inferCidr } from '../../src/config/import/platform.js';
import { parseClusterConfig } from '../../src/config/load.js';
import type { ClusterConfig } from '../../src/config/schema.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'nkd-original');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOr0p0VZ7Qv4Jm6a8bq2L9t3Kc5d1XyWnE0sUfHgRiTj ops@example';
const FILES: Record<string, string> = {
  '/src/id_ed25519.pub': `${KEY}\n`,
  '/keys/id.pub': `# a comment line\n${KEY}\n\n`,
  '/keys/id':
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
};

function run(text: string, outputDir = '/src') {
  return importOriginal(text, {
    source: 'cluster_config.yaml',
    sourceDir: '/src',
    outputDir,
    readFile: (path) => FILES[path],
  });
}

/** Converts, asserts success, and parses the result with nkd's own parser. */
function convert(text: string, outputDir?: string) {
  const result = run(text, outputDir);
  if (!result.ok) throw new Error(`import failed: ${JSON.stringify(result.errors)}`);
  const parsed = parseClusterConfig(result.text, 'converted.yaml');
  expect(parsed.errors).toEqual([]);
  return { text: result.text, warnings: result.warnings, config: parsed.config as ClusterConfig };
}

function failure(text: string) {
  const result = run(text);
  if (result.ok) throw new Error(`expected the import to fail:\n${result.text}`);
  return result;
}

/** A small valid original; tests override what they look at. */
const BASE = {
  clusterID: 'demo',
  platform: 'libvirt',
  infraPlatform: { osPath: '/var/lib/libvirt/images/nestos.qcow2' },
  sshKey: '/keys/id.pub',
  master: [{ hostname: 'k8s-master01' }],
  worker: [{ hostname: 'k8s-worker01' }],
};
const original = (over: Record<string, unknown> = {}) => stringify({ ...BASE, ...over });

function messageAt(warnings: ImportProblem[], path: string): string {
  const hits = warnings.filter((w) => w.path === path);
  expect(hits, `${path} in ${JSON.stringify(warnings)}`).toHaveLength(1);
  return hits[0]!.message;
}

describe('the original template (libvirt)', () => {
  const { text, warnings, config } = convert(fixture('libvirt-template.yaml'));

  it('keeps what the original would have built, on a Kubernetes upstream still maintains', () => {
    expect(config.metadata.name).toBe('cluster');
    expect(config.spec.runtime).toBe('crio');
    expect(messageAt(warnings, 'kubernetes.kubernetesVersion')).toBe(
      'v1.29.1 is no longer maintained upstream (nkd deploys v1.35.0 to v1.37.x): spec.kubernetes.version is v1.37.2',
    );
    expect(config.spec.kubernetes).toMatchObject({
      version: 'v1.37.2',
      controlPlaneEndpoint: '',
      imageRepository: 'registry.k8s.io',
      podSubnet: '10.244.0.0/16',
      serviceSubnet: '10.96.0.0/16',
    });
    for (const [group, hostname] of [
      [config.spec.controlPlane, 'k8s-master01'],
      [config.spec.workers, 'k8s-worker01'],
    ] as const) {
      expect(group).toMatchObject({ count: 1, cpus: 4, memoryMiB: 8192, diskGiB: 50 });
      expect(group.hosts).toEqual([{ hostname }]);
    }
    expect(config.spec.platform.libvirt).toMatchObject({
      uri: 'qemu:///system',
      image: '/etc/nkd/NestOS-For-Container-22.03-LTS-SP2.x86_64.qcow2',
      network: { cidr: '192.168.132.0/24', gateway: '192.168.132.1' },
    });
    expect(config.spec.network.plugin).toBe('calico');
    expect(config.spec.access).toEqual({ user: 'nest', sshAuthorizedKeys: [] });
  });

  it('drops the default password hash and the fixed certificate key, saying where they belong', () => {
    expect(messageAt(warnings, 'password')).toBe(
      'dropped: a password hash for the node user; nkd allows SSH key logins only (spec.access.sshAuthorizedKeys)',
    );
    expect(messageAt(warnings, 'kubernetes.certificateKey')).toBe(
      'dropped: nkd generates the certificate key for control-plane joins and keeps it in its state directory (0600)',
    );
    expect(messageAt(warnings, 'kubernetes.adminKubeconfig')).toMatch(/^dropped: .*nkd kubeconfig <name>/);
    expect(text).not.toContain('$1$');
    expect(text).not.toContain('5d1b6f0c2e8a');
  });

  it('reports the settings nkd derives itself, and nothing for empty values', () => {
    expect(messageAt(warnings, 'kubernetes.pauseImage')).toMatch(/^dropped: .*pause image/);
    expect(messageAt(warnings, 'kubernetes.kubernetesApiVersion')).toMatch(
      /nkd writes kubeadm config API v1beta4/,
    );
    expect(messageAt(warnings, 'kubernetes.network.plugin')).toMatch(/bundled, tested calico/);
    expect(messageAt(warnings, 'username')).toMatch(/^root is not carried over/);
    expect(messageAt(warnings, 'sshKey')).toBe(
      'cannot read /root/.ssh/id_rsa.pub; add its public key to spec.access.sshAuthorizedKeys yourself',
    );
    for (const empty of [
      'kubernetes.token',
      'kubernetes.registryMirror',
      'certAsset',
      'hooks.preHookScript',
    ]) {
      expect(warnings.map((w) => w.path)).not.toContain(empty);
    }
  });

  it('starts with a header naming the file it came from, and lists the notes', () => {
    expect(text.split('\n')[0]).toBe(
      '# Converted by `nkd config import` from the NKD config cluster_config.yaml.',
    );
    expect(text).toContain('#   password: dropped: a password hash');
  });
});

describe('the original template (openstack)', () => {
  const { text, warnings, config } = convert(fixture('openstack-template.yaml'));

  it('maps image, network, region, zone and names a clouds.yaml entry', () => {
    expect(config.spec.platform.openstack).toMatchObject({
      cloud: 'cluster',
      region: 'RegionOne',
      image: 'NestOS-For-Container-22.03-LTS-SP2',
      flavor: 'nkd-4c-8192m-50g',
      externalNetwork: 'public',
      availabilityZone: 'nova',
    });
    expect(config.spec.platform.openstack?.network.name).toBeUndefined();
    expect(messageAt(warnings, 'infraPlatform')).toContain(
      'openstack flavor create --vcpus 4 --ram 8192 --disk 50 nkd-4c-8192m-50g',
    );
  });

  it('drops every OpenStack credential with where it goes instead', () => {
    expect(messageAt(warnings, 'infraPlatform.password')).toBe(
      'dropped (a secret, nkd keeps no credentials in the config): put it in clouds.yaml as clouds.cluster.auth.password (spec.platform.openstack.cloud is "cluster"), or in OS_PASSWORD',
    );
    for (const [key, env] of [
      ['username', 'OS_USERNAME'],
      ['tenantName', 'OS_PROJECT_NAME'],
      ['authURL', 'OS_AUTH_URL'],
    ]) {
      expect(messageAt(warnings, `infraPlatform.${key}`)).toMatch(
        new RegExp(`^dropped .*clouds\\.yaml.*${env}$`),
      );
    }
    expect(text).not.toContain('dummy-not-a-real-password');
    expect(text).not.toContain('controller:5000');
  });

  it('uses an existing internal network and guesses its cidr from the node addresses', () => {
    const withNet = fixture('openstack-template.yaml')
      .replace(/internalNetwork: (""|'')/, 'internalNetwork: tenant-net')
      .replace(/ip: (""|'')/, 'ip: 172.16.5.10')
      .replace(/ip: (""|'')/, 'ip: 172.16.5.20');
    const r = convert(withNet);
    expect(r.config.spec.platform.openstack?.network).toMatchObject({
      name: 'tenant-net',
      cidr: '172.16.5.0/24',
    });
    expect(messageAt(r.warnings, 'infraPlatform.internalNetwork')).toMatch(/guessed from the node addresses/);
  });
});

describe('a 3-master/2-worker libvirt cluster with fixed addresses', () => {
  const { warnings, config } = convert(fixture('libvirt-ha.yaml'));

  it('fixes every hostname and address, the endpoint, the user and the key', () => {
    expect(config.spec.controlPlane.count).toBe(3);
    expect(config.spec.workers.count).toBe(2);
    expect(config.spec.controlPlane.hosts.map((h) => `${h.hostname} ${h.ip}`)).toEqual([
      'k8s-master01 192.168.132.11',
      'k8s-master02 192.168.132.12',
      'k8s-master03 192.168.132.13',
    ]);
    expect(config.spec.workers.hosts.map((h) => h.ip)).toEqual(['192.168.132.21', '192.168.132.22']);
    expect(config.spec.kubernetes.controlPlaneEndpoint).toBe('192.168.132.11:6443');
    expect(config.spec.access).toEqual({ user: 'ops', sshAuthorizedKeys: [KEY] });
    expect(config.spec.network.plugin).toBe('flannel');
    expect(config.spec.runtime).toBe('containerd');
    expect(config.spec.platform.libvirt?.uri).toBe('qemu+ssh://root@kvm01.example/system');
    expect(config.spec.hooks.postDeploy).toEqual(['manifests/']);
    expect(messageAt(warnings, 'hooks.postHookYaml')).toMatch(/never applied it/);
  });

  it('sizes a group by its largest node and says so', () => {
    expect(config.spec.controlPlane).toMatchObject({ cpus: 4, memoryMiB: 8192, diskGiB: 50 });
    expect(config.spec.workers).toMatchObject({ cpus: 8, memoryMiB: 16384, diskGiB: 100 });
    expect(messageAt(warnings, 'worker[].hardwareInfo.cpu')).toBe(
      'nodes differ (4, 8 CPUs); nkd gives every node of spec.workers the same size, so spec.workers.cpus is the largest, 8',
    );
    expect(messageAt(warnings, 'worker[].hardwareInfo.ram')).toMatch(/largest, 16384$/);
    // Both workers have 100 GB: no warning for disk, nor for the identical masters.
    expect(warnings.map((w) => w.path)).not.toContain('worker[].hardwareInfo.disk');
    expect(warnings.some((w) => w.path.startsWith('master'))).toBe(false);
  });

  it('rebases relative hook paths onto the output directory', () => {
    const r = convert(fixture('libvirt-ha.yaml'), '/elsewhere');
    expect(r.config.spec.hooks.postDeploy).toEqual(['../src/manifests']);
  });
});

describe('mappings', () => {
  it('sanitizes the cluster ID and hostnames into DNS labels, with a warning each', () => {
    const r = convert(original({ clusterID: 'Prod_Cluster.01', master: [{ hostname: 'Master_01' }] }));
    expect(r.config.metadata.name).toBe('prod-cluster-01');
    expect(messageAt(r.warnings, 'clusterID')).toBe(
      '"Prod_Cluster.01" is not a DNS-1123 label of at most 40 characters; metadata.name is "prod-cluster-01"',
    );
    expect(r.config.spec.controlPlane.hosts[0]?.hostname).toBe('master-01');
    expect(messageAt(r.warnings, 'master[0].hostname')).toMatch(/becomes "master-01"/);
    expect(convert(original({ clusterID: 'x'.repeat(50) })).config.metadata.name).toHaveLength(40);
  });

  it("names a cluster without clusterID as the original did, and fills the original's defaults", () => {
    const r = convert(original({ clusterID: undefined, worker: undefined }));
    expect(r.config.metadata.name).toBe('cluster');
    expect(r.config.spec.runtime).toBe('crio');
    expect(r.config.spec.kubernetes.version).toBe('v1.37.2');
    expect(messageAt(r.warnings, 'kubernetes.kubernetesVersion')).toMatch(
      /^the original's default v1\.29\.1 is no longer maintained upstream/,
    );
    expect(r.config.spec.workers.count).toBe(0);
    expect(r.config.spec.controlPlane).toMatchObject({ cpus: 4, memoryMiB: 8192, diskGiB: 50 });
  });

  it('accepts key spellings the original accepted and subnets directly under kubernetes', () => {
    const r = convert(
      original({
        master: [{ hostname: 'm1', ip: '192.168.132.10', hardwareinfo: { cpu: '6', ram: 12288, disk: 60 } }],
        kubernetes: {
          kubernetesVersion: '1.36.3',
          apiServerEndpoint: 'https://lb.example:6443/',
          podSubnet: '10.32.0.0/16',
          serviceSubnet: '10.33.0.0/16',
          releaseImageURL: 'docker://registry.example/nestos/k8s:1.31',
        },
      }),
    );
    expect(r.config.spec.controlPlane).toMatchObject({ cpus: 6, memoryMiB: 12288, diskGiB: 60 });
    expect(r.config.spec.kubernetes).toMatchObject({
      version: 'v1.36.3',
      controlPlaneEndpoint: 'lb.example:6443',
      podSubnet: '10.32.0.0/16',
      serviceSubnet: '10.33.0.0/16',
    });
    expect(r.config.spec.os.releaseImage).toBe('registry.example/nestos/k8s:1.31');
  });

  it('adds the API port to an endpoint without one', () => {
    const r = convert(original({ kubernetes: { apiserverEndpoint: '192.168.132.100' } }));
    expect(r.config.spec.kubernetes.controlPlaneEndpoint).toBe('192.168.132.100:6443');
    expect(messageAt(r.warnings, 'kubernetes.apiserverEndpoint')).toMatch(/has no port/);
  });

  it('turns an unknown network plugin into none with a warning', () => {
    const r = convert(original({ kubernetes: { network: { plugin: 'cilium' } } }));
    expect(r.config.spec.network.plugin).toBe('none');
    expect(messageAt(r.warnings, 'kubernetes.network.plugin')).toMatch(/spec\.hooks\.postDeploy/);
  });

  it('carries runtimes over as they are', () => {
    for (const runtime of ['crio', 'containerd', 'isulad', 'docker'] as const) {
      expect(convert(original({ runtime })).config.spec.runtime).toBe(runtime);
    }
  });

  it("passes nkd's own warnings on, at the original key", () => {
    expect(messageAt(convert(original({ runtime: 'docker' })).warnings, 'runtime')).toMatch(/cri-dockerd/);
    const masters = [1, 2, 3].map((n) => ({ hostname: `m${n}` }));
    const r = convert(original({ master: masters }));
    expect(messageAt(r.warnings, 'kubernetes.apiserverEndpoint')).toMatch(/single point of failure/);
    // The missing key is said once, by the import, not again by nkd's "no sshAuthorizedKeys".
    expect(convert(original({ sshKey: undefined })).warnings.filter((w) => w.path === 'sshKey')).toHaveLength(
      1,
    );
  });

  it('reads the sshKey file relative to the imported file, and never copies a private key', () => {
    expect(convert(original({ sshKey: 'id_ed25519.pub' })).config.spec.access.sshAuthorizedKeys).toEqual([
      KEY,
    ]);
    const r = convert(original({ sshKey: '/keys/id' }));
    expect(r.config.spec.access.sshAuthorizedKeys).toEqual([]);
    expect(messageAt(r.warnings, 'sshKey')).toMatch(/is a private key/);
    expect(r.text).not.toContain('PRIVATE KEY');
  });

  it('explains the pre-deploy hook instead of mapping it', () => {
    const r = convert(original({ hooks: { preHookScript: 'scripts/pre.sh' } }));
    expect(r.config.spec.hooks.preDeploy).toEqual([]);
    expect(messageAt(r.warnings, 'hooks.preHookScript')).toMatch(
      /spec\.hooks\.preDeploy runs local executables/,
    );
  });

  it('drops token, certAsset and generalos-only keys with one warning each', () => {
    const r = convert(
      original({
        kubernetes: { token: 'abcdef.0123456789abcdef', packageList: ['kubeadm'], rpmPackagePath: '/rpms' },
        certAsset: { rootCaCertPath: '/pki/ca.crt' },
      }),
    );
    expect(messageAt(r.warnings, 'kubernetes.token')).toBe(
      'dropped: nkd generates the bootstrap token and keeps it in its state directory (0600)',
    );
    expect(messageAt(r.warnings, 'certAsset')).toMatch(/bringing your own CA is not supported/);
    expect(messageAt(r.warnings, 'kubernetes.packageList')).toMatch(/generalos/);
    expect(messageAt(r.warnings, 'kubernetes.rpmPackagePath')).toMatch(/generalos/);
    expect(r.text).not.toContain('abcdef.0123456789abcdef');
  });

  it('reports unknown keys and ignores them', () => {
    const r = convert(original({ nodeCount: 3 }));
    expect(messageAt(r.warnings, 'nodeCount')).toBe('is not a key of the NKD config format; ignored');
  });

  it('is deterministic', () => {
    const text = fixture('libvirt-ha.yaml');
    expect(convert(text).text).toBe(convert(text).text);
  });

  it('infers the smallest /24-or-larger network holding every fixed address', () => {
    expect(inferCidr([{ ip: '10.1.2.3' }, {}])).toBe('10.1.2.0/24');
    expect(inferCidr([{ ip: '10.1.2.3' }, { ip: '10.1.3.9' }])).toBe('10.1.2.0/23');
    expect(inferCidr([{}])).toBeUndefined();
  });
});

describe('refusals', () => {
  it.each(['pxe', 'ipxe'])('refuses platform %s', (platform) => {
    const r = failure(original({ platform, infraPlatform: { ip: '192.168.1.2' } }));
    expect(r.internal).toBe(false);
    expect(r.errors).toEqual([
      {
        path: 'platform',
        message: `${platform} is not supported: nkd deploys on libvirt or openstack only (it has no bare-metal PXE/iPXE install)`,
        severity: 'error',
      },
    ]);
  });

  it('refuses generalos and arm64', () => {
    const r = failure(original({ osImage: { type: 'generalos' }, architecture: 'arm64' }));
    expect(r.errors.map((e) => e.path)).toEqual(['architecture', 'osImage.type']);
  });

  it('refuses a libvirt cluster without an image', () => {
    const r = failure(original({ infraPlatform: {} }));
    expect(r.errors.map((e) => e.path)).toEqual(['infraPlatform.osPath']);
  });

  it('reports values nkd rejects at the original key, not as an internal error', () => {
    const r = failure(original({ kubernetes: { kubernetesVersion: 'v1.40.0' } }));
    expect(r.internal).toBe(false);
    expect(r.errors).toEqual([
      {
        path: 'kubernetes.kubernetesVersion',
        message: expect.stringMatching(/v1\.40\.0 is not supported.*\(as nkd's spec\.kubernetes\.version\)$/),
        severity: 'error',
      },
    ]);
    const ip = failure(original({ master: [{ hostname: 'm1', ip: '10.9.9.9' }] }));
    expect(ip.errors.map((e) => e.path)).toEqual(['master[0].ip']);
  });

  it('reports YAML syntax errors and type errors', () => {
    expect(failure('clusterID: [').errors[0]?.path).toBe('(yaml)');
    expect(failure(original({ master: 'k8s-master01' })).errors[0]?.path).toBe('master');
    expect(failure('- a list').errors[0]?.path).toBe('(root)');
  });
});
