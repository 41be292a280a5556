// The air-gap feature: every image a cluster pulls follows kubernetes.imageRepository, and
// spec.registries tells each runtime how to reach registries over plain HTTP or with a private CA.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { housekeeperManifests } from '../../src/addons/housekeeper/manifests.js';
import { bundledNetworkManifests, resolveNetworkAddon } from '../../src/addons/network/index.js';
import type { KubeObject } from '../../src/cluster/types.js';
import { parseClusterConfig } from '../../src/config/load.js';
import { planCluster } from '../../src/plan/plan.js';
import { renderCluster } from '../../src/render/node.js';
import { loadTemplates } from '../../src/render/templates.js';
import { configYaml, validConfig, type ConfigOverrides } from '../helpers/configs.js';
import { FAKE_PKI } from '../helpers/fake-pki.js';

const CA = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'registries', 'ca.pem'), 'utf8');
const MIRROR = '10.0.0.1:5000/k8s';

function images(objects: readonly KubeObject[]): string[] {
  const found: string[] = [];
  const walk = (value: unknown, key?: string): void => {
    if (key === 'image' && typeof value === 'string') found.push(value);
    else if (Array.isArray(value)) value.forEach((v) => walk(v));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
  };
  objects.forEach((o) => walk(o));
  return found;
}

/** Every file of the first node's Ignition config, decoded, by path. */
function nodeFiles(overrides: ConfigOverrides): Map<string, string> {
  const [first] = renderCluster({
    plan: planCluster(validConfig({ controlPlane: { count: 1 }, workers: { count: 0 }, ...overrides })),
    pki: FAKE_PKI,
    templates: loadTemplates(),
  });
  const files = first!.ignition.storage?.files ?? [];
  const dropins = (first!.ignition.systemd?.units ?? []).flatMap((u) =>
    (u.dropins ?? []).map((d) => [`/etc/systemd/system/${u.name}.d/${d.name}`, d.contents ?? ''] as const),
  );
  return new Map([
    ...files.map(
      (f) =>
        [
          f.path,
          Buffer.from(f.contents.source.replace(/^data:;base64,/, ''), 'base64').toString('utf8'),
        ] as const,
    ),
    ...dropins,
  ]);
}

function errorsOf(overrides: ConfigOverrides): string[] {
  const { errors } = parseClusterConfig(configYaml(overrides), 'c.yaml');
  return errors.map((e) => `${e.path}: ${e.message}`);
}

describe('images follow kubernetes.imageRepository', () => {
  it.each([
    ['flannel', 'v0.26.1'],
    ['calico', 'v3.29.1'],
  ] as const)('puts every %s image under the mirror, same path as upstream', (plugin, version) => {
    const mirrored = images(
      bundledNetworkManifests(plugin, version, { podSubnet: '10.244.0.0/16', imageRepository: MIRROR }),
    );
    const upstream = images(bundledNetworkManifests(plugin, version, { podSubnet: '10.244.0.0/16' }));
    expect(upstream.length).toBeGreaterThan(0);
    expect(upstream.every((i) => i.startsWith('docker.io/'))).toBe(true);
    expect(mirrored).toEqual(upstream.map((i) => i.replace(/^docker\.io\//, `${MIRROR}/`)));
  });

  it('keeps the upstream images with the default repository', () => {
    const objects = bundledNetworkManifests('flannel', 'v0.26.1', {
      podSubnet: '10.244.0.0/16',
      imageRepository: 'registry.k8s.io',
    });
    expect(images(objects)).toContain('docker.io/flannel/flannel:v0.26.1');
  });

  it('applies the mirror to the network add-on resolved from the config', async () => {
    const config = validConfig({ kubernetes: { imageRepository: MIRROR } });
    const addon = await resolveNetworkAddon(config, { baseDir: '/nonexistent' });
    const all = images(addon!.objects);
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((i) => i.startsWith(`${MIRROR}/calico/`))).toBe(true);
  });

  it("pulls Housekeeper's default image from the mirror, and an explicit image as given", () => {
    const mirrored = housekeeperManifests({ image: '', nkdVersion: '0.1.0', imageRepository: MIRROR });
    expect(new Set(images(mirrored))).toEqual(new Set([`${MIRROR}/nestos/nkd-housekeeper:v0.1.0`]));
    const explicit = housekeeperManifests({
      image: 'hub.example/hk:1',
      nkdVersion: '0.1.0',
      imageRepository: MIRROR,
    });
    expect(new Set(images(explicit))).toEqual(new Set(['hub.example/hk:1']));
  });

  it.each(['containerd', 'crio', 'isulad', 'docker'])(
    'gives %s the pause image from the mirror',
    (runtime) => {
      const files = nodeFiles({ runtime, kubernetes: { imageRepository: MIRROR } });
      const runtimeFiles = [...files.entries()].filter(([path]) =>
        /containerd\/config\.toml|crio\.conf\.d|isulad\/daemon\.json|cri-docker/.test(path),
      );
      expect(runtimeFiles).toHaveLength(1);
      expect(runtimeFiles[0]![1]).toContain(`${MIRROR}/pause:3.10.2`);
      expect(runtimeFiles[0]![1]).not.toContain('registry.k8s.io');
    },
  );
});

describe('config checks of the values that land in runtime files', () => {
  it.each([
    ['http://10.0.0.1:5000', 'a scheme'],
    ['registry.example/k8s"\n[evil]', 'a quote and a newline (TOML injection)'],
    ['Registry.Example', 'uppercase'],
    ['registry.example:5000/K8s', 'an uppercase path'],
    ['registry example', 'a space'],
    ['', 'nothing'],
  ])('refuses imageRepository %j (%s)', (imageRepository) => {
    expect(errorsOf({ kubernetes: { imageRepository } }).join('\n')).toMatch(
      /spec\.kubernetes\.imageRepository: must be host/,
    );
  });

  it('refuses an imageRepository port out of range', () => {
    expect(errorsOf({ kubernetes: { imageRepository: 'r.example:70000/k8s' } })).toContain(
      'spec.kubernetes.imageRepository: port must be from 1 to 65535',
    );
  });

  it.each(['http://10.0.0.1:5000', '10.0.0.1:5000/path', 'a"b', 'x y', '..', '-x'])(
    'refuses registry host %j',
    (host) => {
      expect(errorsOf({ registries: [{ host, plainHTTP: true }] }).join('\n')).toMatch(
        /spec\.registries\[0\]\.host: must be host or host:port/,
      );
    },
  );

  it('refuses contradictory and duplicate registry entries', () => {
    const errors = errorsOf({
      registries: [
        { host: 'a.example', plainHTTP: true, ca: CA },
        { host: 'b.example', insecureSkipVerify: true, ca: CA },
        { host: 'a.example' },
        { host: 'c.example:0' },
      ],
    });
    expect(errors).toEqual(
      expect.arrayContaining([
        'spec.registries[0].ca: does not apply with plainHTTP: true (plain HTTP has no TLS)',
        'spec.registries[1].ca: has no effect with insecureSkipVerify: true; keep only one',
        'spec.registries[2].host: a.example is listed twice; merge the two entries',
        'spec.registries[3].host: port must be from 1 to 65535',
      ]),
    );
  });

  it('refuses a CA that is not certificates', () => {
    const key = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n';
    const broken = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    const errors = errorsOf({
      registries: [
        { host: 'a.example', ca: key },
        { host: 'b.example', ca: broken },
        { host: 'c.example', ca: 'not pem' },
        { host: 'd.example', ca: `${CA}\ntrailing` },
      ],
    });
    expect(errors).toEqual([
      'spec.registries[0].ca: holds a private key; give only the CA certificate',
      'spec.registries[1].ca: holds a CERTIFICATE block that does not parse',
      'spec.registries[2].ca: is not a PEM certificate (expected -----BEGIN CERTIFICATE-----)',
      'spec.registries[3].ca: holds text outside its PEM blocks',
    ]);
  });

  it('accepts a mirror with a plain-HTTP registry and a private CA', () => {
    expect(
      errorsOf({
        kubernetes: { imageRepository: MIRROR },
        registries: [
          { host: '10.0.0.1:5000', plainHTTP: true },
          { host: 'registry.corp.example', ca: CA },
        ],
      }),
    ).toEqual([]);
  });
});

describe('spec.registries for each runtime', () => {
  const registries = [
    { host: '10.0.0.1:5000', plainHTTP: true },
    { host: 'registry.corp.example', ca: CA },
    { host: 'lab.example:8443', insecureSkipVerify: true },
  ];

  it('gives containerd a hosts.toml per registry under its config_path, and the CA beside it', () => {
    const files = nodeFiles({ runtime: 'containerd', registries });
    expect(files.get('/etc/containerd/config.toml')).toContain('config_path = "/etc/containerd/certs.d"');
    expect(files.get('/etc/containerd/certs.d/10.0.0.1:5000/hosts.toml')).toContain(
      'server = "http://10.0.0.1:5000"',
    );
    expect(files.get('/etc/containerd/certs.d/lab.example:8443/hosts.toml')).toMatch(/skip_verify = true/);
    expect(files.get('/etc/containerd/certs.d/registry.corp.example/hosts.toml')).toContain(
      'ca = "/etc/containerd/certs.d/registry.corp.example/ca.crt"',
    );
    expect(files.get('/etc/containerd/certs.d/registry.corp.example/ca.crt')).toBe(CA);
  });

  it('gives CRI-O insecure registry entries and the CA in containers certs.d', () => {
    const files = nodeFiles({ runtime: 'crio', registries });
    const conf = files.get('/etc/containers/registries.conf.d/90-nkd-registries.conf')!;
    expect(conf).toContain('location = "10.0.0.1:5000"\ninsecure = true');
    expect(conf).toContain('location = "lab.example:8443"\ninsecure = true');
    expect(conf).not.toContain('registry.corp.example');
    expect(files.get('/etc/containers/certs.d/registry.corp.example/ca.crt')).toBe(CA);
  });

  it.each([
    ['isulad', '/etc/isulad'],
    ['docker', '/etc/docker'],
  ])('gives %s insecure-registries in daemon.json and the CA in its certs.d', (runtime, dir) => {
    const files = nodeFiles({ runtime, registries });
    const daemon = JSON.parse(files.get(`${dir}/daemon.json`)!) as Record<string, unknown>;
    expect(daemon['insecure-registries']).toEqual(['10.0.0.1:5000', 'lab.example:8443']);
    expect(files.get(`${dir}/certs.d/registry.corp.example/ca.crt`)).toBe(CA);
  });

  it('renders no registry files and no insecure-registries without spec.registries', () => {
    for (const runtime of ['containerd', 'crio', 'isulad', 'docker']) {
      const files = nodeFiles({ runtime });
      expect([...files.keys()].filter((p) => /certs\.d|registries\.conf/.test(p))).toEqual([]);
      expect([...files.values()].some((c) => c.includes('insecure-registries'))).toBe(false);
    }
  });
});
