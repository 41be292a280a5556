// The end-to-end harness's config filling (scripts/e2e/config.ts): what this machine dictates is set,
// everything else of a user's config is kept, and what cannot run here is replaced with a note.
import { describe, expect, it } from 'vitest';
import { defaultConfig, fillConfig, firstHost, requestedNetwork } from '../../scripts/e2e/config.js';

const FILL = {
  image: '/cache/testnode.qcow2',
  kubeVersion: 'v1.37.2',
  registryHost: '10.213.5.1:5000',
  cidr: '10.213.5.0/24',
  poolPath: '/work/pool',
  sshPublicKey: 'ssh-ed25519 AAAA e2e@nkd',
  libvirtUri: 'qemu:///system',
};

describe('e2e config', () => {
  it('fills the default config with the image, TCG, the plain-HTTP mirror and the key', () => {
    const { config, notes } = fillConfig(defaultConfig('nkde2e-x'), FILL);
    const spec = config.spec as Record<string, Record<string, unknown>>;
    expect(notes).toEqual(['platform -> libvirt (this machine has no other)']);
    expect(spec.kubernetes).toEqual({
      version: 'v1.37.2',
      imageRepository: '10.213.5.1:5000/k8s',
      probeTolerance: 4,
    });
    expect(spec.registries).toEqual([{ host: '10.213.5.1:5000', plainHTTP: true }]);
    expect(spec.platform).toEqual({
      libvirt: {
        uri: 'qemu:///system',
        image: FILL.image,
        domainType: 'qemu',
        poolPath: '/work/pool',
        network: { cidr: '10.213.5.0/24' },
      },
    });
    expect(spec.access).toEqual({ sshAuthorizedKeys: [FILL.sshPublicKey] });
    expect(spec.network).toEqual({ plugin: 'flannel' });
  });

  it("keeps a user's settings, network and keys, and says what it changed", () => {
    const user = {
      apiVersion: 'nkd.nestos.io/v1alpha1',
      kind: 'Cluster',
      metadata: { name: 'mine' },
      spec: {
        kubernetes: { version: 'v1.36.0', podSubnet: '10.50.0.0/16', probeTolerance: 2 },
        network: { plugin: 'flannel' },
        controlPlane: { count: 1, cpus: 2, memoryMiB: 3072 },
        workers: { count: 2, cpus: 1, memoryMiB: 4096 },
        access: { user: 'ops', sshAuthorizedKeys: ['ssh-ed25519 BBBB me'] },
        registries: [
          { host: '10.213.5.1:5000', ca: 'x' },
          { host: 'other:5000', plainHTTP: true },
        ],
        platform: {
          libvirt: { image: '/x.qcow2', uri: 'qemu:///system', network: { cidr: '192.168.77.0/24' } },
        },
      },
    };
    expect(requestedNetwork(user)).toEqual({ cidr: '192.168.77.0/24' });
    const { config, notes } = fillConfig(user, {
      ...FILL,
      cidr: '192.168.77.0/24',
      registryHost: '192.168.77.1:5000',
    });
    const spec = config.spec as Record<string, Record<string, unknown>>;
    expect(notes).toEqual(["kubernetes.version v1.36.0 -> v1.37.2 (the stand-in image's)"]);
    expect(spec.kubernetes).toEqual({
      version: 'v1.37.2',
      podSubnet: '10.50.0.0/16',
      probeTolerance: 2,
      imageRepository: '192.168.77.1:5000/k8s',
    });
    expect(spec.controlPlane).toEqual({ count: 1, cpus: 2, memoryMiB: 3072 });
    expect(spec.workers).toEqual({ count: 2, cpus: 1, memoryMiB: 4096 });
    expect(spec.access).toEqual({
      user: 'ops',
      sshAuthorizedKeys: ['ssh-ed25519 BBBB me', FILL.sshPublicKey],
    });
    expect(spec.registries).toEqual([
      { host: '10.213.5.1:5000', ca: 'x' },
      { host: 'other:5000', plainHTTP: true },
      { host: '192.168.77.1:5000', plainHTTP: true },
    ]);
    expect((spec.platform as { libvirt: unknown }).libvirt).toEqual({
      image: FILL.image,
      uri: 'qemu:///system',
      domainType: 'qemu',
      poolPath: '/work/pool',
      network: { cidr: '192.168.77.0/24' },
    });
  });

  it('replaces what the stand-in and the mirror cannot run, and says so', () => {
    const config = (spec: Record<string, unknown>) => ({ metadata: { name: 'x' }, spec });
    const crio = fillConfig(config({ runtime: 'crio', network: { plugin: 'flannel' } }), FILL);
    expect((crio.config.spec as Record<string, unknown>).runtime).toBe('containerd');
    expect(crio.notes).toContain('runtime crio -> containerd (the NestOS stand-in runs containerd only)');

    // calico is the default plugin; its version names a calico manifest, so it goes too.
    for (const network of [undefined, { plugin: 'calico', version: 'v3.29' }]) {
      const filled = fillConfig(config(network ? { network } : {}), FILL);
      expect((filled.config.spec as Record<string, unknown>).network).toEqual({ plugin: 'flannel' });
      expect(filled.notes.some((n) => n.startsWith('network.plugin calico -> flannel'))).toBe(true);
    }
  });

  it("keeps a calico manifest of the user's own, relative paths made absolute from the config's directory", () => {
    const config = {
      metadata: { name: 'x' },
      spec: {
        network: { plugin: 'calico', manifest: 'net/calico.yaml' },
        hooks: { preDeploy: ['hooks/check.sh', '/abs/pre.sh'], postDeploy: ['extra'] },
        platform: { libvirt: { uri: 'qemu+ssh://elsewhere/system' } },
      },
    };
    const { config: filled, notes } = fillConfig(config, { ...FILL, configDir: '/home/me/cluster' });
    const spec = filled.spec as Record<string, Record<string, unknown>>;
    expect(spec.network).toEqual({ plugin: 'calico', manifest: '/home/me/cluster/net/calico.yaml' });
    expect(spec.hooks).toEqual({
      preDeploy: ['/home/me/cluster/hooks/check.sh', '/abs/pre.sh'],
      postDeploy: ['/home/me/cluster/extra'],
    });
    expect(spec.platform!.libvirt).toMatchObject({ uri: 'qemu:///system' });
    expect(notes).toContain(
      "platform.libvirt.uri qemu+ssh://elsewhere/system -> qemu:///system (the run's own libvirtd)",
    );
    const remote = fillConfig(
      {
        metadata: { name: 'x' },
        spec: { network: { plugin: 'calico', manifest: 'https://example.org/c.yaml' } },
      },
      FILL,
    );
    expect((remote.config.spec as Record<string, Record<string, unknown>>).network!.manifest).toBe(
      'https://example.org/c.yaml',
    );
  });

  it('puts the host side of a network on its first address', () => {
    expect(firstHost('10.213.5.0/24')).toBe('10.213.5.1');
    expect(firstHost('192.168.77.128/25')).toBe('192.168.77.129');
    expect(firstHost('172.16.0.0/12')).toBe('172.16.0.1');
  });

  it("sizes nodes for 2 cores and 24 GiB, nkd's defaults included, and says so; no workers stays none", () => {
    const user = {
      metadata: { name: 'big' },
      spec: {
        network: { plugin: 'flannel' },
        controlPlane: { count: 3, cpus: 8, memoryMiB: 16384, diskGiB: 30 },
        workers: { count: 0 },
        platform: { libvirt: { image: '/x.qcow2' } },
      },
    };
    const { config, notes } = fillConfig(user, FILL);
    const spec = config.spec as Record<string, Record<string, unknown>>;
    expect(spec.controlPlane).toEqual({ count: 3, cpus: 2, memoryMiB: 4096, diskGiB: 30 });
    // `nkd scale` adds a worker with these sizes.
    expect(spec.workers).toEqual({ count: 0, cpus: 2, memoryMiB: 4096 });
    expect(notes).toEqual([
      'controlPlane.cpus 8 -> 2 (what 2 cores and 24 GiB run under TCG)',
      'controlPlane.memoryMiB 16384 -> 4096 (what 2 cores and 24 GiB run under TCG)',
      "workers.cpus (nkd's default 4) -> 2 (what 2 cores and 24 GiB run under TCG)",
      "workers.memoryMiB (nkd's default 8192) -> 4096 (what 2 cores and 24 GiB run under TCG)",
    ]);
    const defaults = fillConfig({ metadata: { name: 'd' }, spec: { platform: { libvirt: {} } } }, FILL);
    expect(defaults.config.spec).toMatchObject({
      controlPlane: { cpus: 2, memoryMiB: 4096 },
      workers: { cpus: 2, memoryMiB: 4096 },
    });
    expect(defaults.notes).toContain(
      "workers.memoryMiB (nkd's default 8192) -> 4096 (what 2 cores and 24 GiB run under TCG)",
    );
  });

  it('replaces what cannot run here: an API VIP or endpoint, another mirror, a release image, a Housekeeper image or none', () => {
    const user = {
      metadata: { name: 'vip' },
      spec: {
        network: { plugin: 'flannel' },
        controlPlane: { count: 1, cpus: 2, memoryMiB: 2048 },
        workers: { count: 1, cpus: 2, memoryMiB: 2048 },
        kubernetes: { controlPlaneEndpoint: '10.213.5.250:6443', imageRepository: 'registry.example/k8s' },
        os: { releaseImage: 'registry.example/nestos:24.03' },
        housekeeper: { enabled: false, image: 'registry.example/hk:1' },
        platform: { libvirt: { image: '/x.qcow2', apiEndpoint: { type: 'vip', address: '10.213.5.250' } } },
      },
    };
    const { config, notes } = fillConfig(user, FILL);
    const spec = config.spec as Record<string, Record<string, Record<string, unknown>>>;
    expect(spec.os).toBeUndefined();
    expect(spec.housekeeper).toBeUndefined();
    expect(spec.platform!.libvirt!.apiEndpoint).toBeUndefined();
    expect(spec.kubernetes).not.toHaveProperty('controlPlaneEndpoint');
    expect(notes).toEqual([
      "kubernetes.imageRepository registry.example/k8s -> 10.213.5.1:5000/k8s (the run's mirror)",
      'kubernetes.controlPlaneEndpoint 10.213.5.250:6443 -> the first control plane (no load balancer or VIP runs here)',
      'os.releaseImage registry.example/nestos:24.03 -> none (the stand-in boots its own image)',
      'housekeeper.enabled false -> true (the upgrade step needs Housekeeper)',
      "housekeeper.image registry.example/hk:1 -> nkd's own, from the mirror",
      'platform.libvirt.apiEndpoint vip -> first-control-plane (the stand-in has no keepalived)',
    ]);
    const kept = fillConfig(
      {
        metadata: { name: 'fcp' },
        spec: { platform: { libvirt: { image: '/x', apiEndpoint: { type: 'first-control-plane' } } } },
      },
      FILL,
    );
    expect(
      (kept.config.spec as { platform: { libvirt: Record<string, unknown> } }).platform.libvirt.apiEndpoint,
    ).toEqual({
      type: 'first-control-plane',
    });
  });
});
