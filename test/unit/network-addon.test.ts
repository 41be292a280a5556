// The bundled CNI manifests are checked structurally here; they are never run on a real cluster in this
// repository's tests. The override path talks only to a loopback HTTPS server started below.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addonWorkloads,
  BUNDLED_NETWORK_VERSIONS,
  bundledNetworkManifests,
  httpsFetch,
  resolveNetworkAddon,
} from '../../src/addons/network/index.js';
import { FLANNEL_RELEASES } from '../../src/addons/network/versions.js';
import { parseManifests, serializeManifests } from '../../src/cluster/manifests.js';
import type { KubeObject } from '../../src/cluster/types.js';
import type { ClusterConfig } from '../../src/config/schema.js';
import { ExitCode, NkdError } from '../../src/errors.js';
import { generateServiceCa, issueServingCert } from '../../src/ignition-service/tls.js';
import { validConfig } from '../helpers/configs.js';
import { checkNetwork } from '../../src/config/semantic-network.js';

const SUBNET = '10.32.0.0/12';

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
]);

/** The pod template's spec of a workload; `any` keeps the many structural assertions short. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function podSpec(obj: KubeObject): any {
  const template = (obj.spec as { template?: { spec?: unknown } } | undefined)?.template;
  return ['DaemonSet', 'Deployment'].includes(obj.kind) ? template?.spec : undefined;
}

function allContainers(obj: KubeObject): { name: string; image: string }[] {
  const spec = podSpec(obj);
  return spec ? [...(spec.initContainers ?? []), ...spec.containers] : [];
}

interface Taint {
  key: string;
  value?: string;
  effect: string;
}
interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

/** Kubernetes' matching rule: an empty key with Exists matches every key, an empty effect every effect. */
function tolerates(tolerations: Toleration[] | undefined, taint: Taint): boolean {
  return (tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

const CASES = (['calico', 'flannel'] as const).flatMap((plugin) =>
  BUNDLED_NETWORK_VERSIONS[plugin].map((version) => ({ plugin, version })),
);

function withNetwork(network: Partial<ClusterConfig['spec']['network']>): ClusterConfig {
  const base = validConfig({ kubernetes: { podSubnet: SUBNET } });
  return { ...base, spec: { ...base.spec, network: { ...base.spec.network, ...network } } };
}

const find = (objects: KubeObject[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata?.name === name);

describe('bundled network versions', () => {
  it('bundles at least two versions of each plugin, newest last', () => {
    for (const versions of Object.values(BUNDLED_NETWORK_VERSIONS)) {
      expect(versions.length).toBeGreaterThanOrEqual(2);
      const sorted = [...versions].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
      expect(versions).toEqual(sorted);
    }
  });

  it('refuses a version that is not bundled, listing the bundled ones', () => {
    expect(() => bundledNetworkManifests('calico', 'v3.1.0', { podSubnet: SUBNET })).toThrow(
      /calico v3\.1\.0 is not bundled \(bundled: v3\.28\.2, v3\.29\.1\)/,
    );
  });
});

describe.each(CASES)('bundled $plugin $version', ({ plugin, version }) => {
  const objects = bundledNetworkManifests(plugin, version, { podSubnet: SUBNET });

  it('is deterministic: deep-equal objects and byte-identical YAML on every call', () => {
    const again = bundledNetworkManifests(plugin, version, { podSubnet: SUBNET });
    expect(again).toEqual(objects);
    expect(serializeManifests(again)).toBe(serializeManifests(objects));
    // And the YAML written to the state directory reads back as the same objects.
    expect(parseManifests(serializeManifests(objects), 'state.yaml')).toEqual(objects);
  });

  it('names every object, with a namespace for namespaced kinds and none otherwise', () => {
    for (const obj of objects) {
      expect(obj.apiVersion).toMatch(/^[a-z0-9.]*\/?v\d/);
      expect(obj.kind).toMatch(/^[A-Z]/);
      expect(obj.metadata?.name).toMatch(/^[a-z0-9][-a-z0-9.]*$/);
      if (CLUSTER_SCOPED.has(obj.kind)) expect(obj.metadata?.namespace).toBeUndefined();
      else expect(obj.metadata?.namespace, `${obj.kind} ${obj.metadata?.name}`).toMatch(/^[a-z]/);
    }
    const keys = objects.map((o) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('orders Namespaces and CRDs before the objects that need them', () => {
    const index = (kind: string, name: string) =>
      objects.findIndex((o) => o.kind === kind && o.metadata?.name === name);
    const lastCrd = objects.map((o) => o.kind).lastIndexOf('CustomResourceDefinition');
    objects.forEach((obj, i) => {
      if (obj.kind !== 'CustomResourceDefinition') expect(i).toBeGreaterThan(lastCrd);
      const ns = obj.metadata?.namespace;
      const nsIndex = ns ? index('Namespace', ns) : -1;
      if (ns && !['kube-system', 'default'].includes(ns)) expect(nsIndex).toBeGreaterThanOrEqual(0);
      expect(nsIndex).toBeLessThan(i);
      const spec = podSpec(obj);
      if (spec) {
        // The ServiceAccount and every ConfigMap a workload uses come before it.
        expect(index('ServiceAccount', String(spec.serviceAccountName))).toBeGreaterThanOrEqual(0);
        expect(index('ServiceAccount', String(spec.serviceAccountName))).toBeLessThan(i);
        for (const cm of JSON.stringify(spec).matchAll(
          /"configMap(?:KeyRef|Ref)?":\{[^}]*?"name":"([^"]+)"(?!,"optional":true)/g,
        )) {
          expect(index('ConfigMap', cm[1]!), cm[1]).toBeGreaterThanOrEqual(0);
          expect(index('ConfigMap', cm[1]!)).toBeLessThan(i);
        }
      }
    });
  });

  it('binds every ClusterRole to an existing ServiceAccount', () => {
    for (const binding of objects.filter((o) => o.kind === 'ClusterRoleBinding')) {
      const { roleRef, subjects } = binding as unknown as {
        roleRef: { name: string };
        subjects: { name: string; namespace: string }[];
      };
      expect(find(objects, 'ClusterRole', roleRef.name)).toBeDefined();
      for (const s of subjects) {
        expect(
          objects.some(
            (o) =>
              o.kind === 'ServiceAccount' &&
              o.metadata?.name === s.name &&
              o.metadata.namespace === s.namespace,
          ),
        ).toBe(true);
      }
    }
  });

  it("pins every container image to the bundled version's tag", () => {
    const images = objects.flatMap((o) => allContainers(o).map((c) => String(c.image)));
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) {
      const [repo, tag] = image.split(/:(?=[^:/]+$)/);
      if (plugin === 'calico') {
        expect(repo).toMatch(/^docker\.io\/calico\/(cni|node|kube-controllers)$/);
        expect(tag).toBe(version);
      } else {
        expect(repo).toMatch(/^docker\.io\/flannel\/(flannel|flannel-cni-plugin)$/);
        const release = FLANNEL_RELEASES.find((r) => r.version === version)!;
        expect(tag).toBe(repo!.endsWith('-cni-plugin') ? release.cniPluginTag : version);
      }
    }
  });

  it('lets its DaemonSets run on every node whatever its taints', () => {
    const taints = [
      { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' },
      { key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' },
      { key: 'example.com/dedicated', value: 'gpu', effect: 'PreferNoSchedule' },
    ];
    const daemonSets = objects.filter((o) => o.kind === 'DaemonSet');
    expect(daemonSets).toHaveLength(1);
    for (const ds of daemonSets) {
      const spec = podSpec(ds)!;
      expect(spec.hostNetwork).toBe(true);
      expect(spec.priorityClassName).toBe('system-node-critical');
      for (const taint of taints) expect(tolerates(spec.tolerations, taint), taint.key).toBe(true);
    }
  });

  it('lists its workloads for the rollout wait', () => {
    const expected =
      plugin === 'calico'
        ? ['DaemonSet kube-system/calico-node', 'Deployment kube-system/calico-kube-controllers']
        : ['DaemonSet kube-flannel/kube-flannel-ds'];
    expect(addonWorkloads(objects).map((w) => `${w.kind} ${w.namespace}/${w.name}`)).toEqual(expected);
  });
});

describe.each(BUNDLED_NETWORK_VERSIONS.calico)('calico %s', (version) => {
  const objects = bundledNetworkManifests('calico', version, { podSubnet: SUBNET });
  const node = find(objects, 'DaemonSet', 'calico-node')!;
  const env = (name: string) =>
    (podSpec(node)!.containers as { env: { name: string; value?: string }[] }[])[0]!.env.find(
      (e) => e.name === name,
    );

  it('puts the pod subnet into the default IP pool, with IP-in-IP and BGP', () => {
    expect(env('CALICO_IPV4POOL_CIDR')?.value).toBe(SUBNET);
    expect(env('CALICO_IPV4POOL_IPIP')?.value).toBe('Always');
    expect(env('CLUSTER_TYPE')?.value).toBe('k8s,bgp');
    expect(env('DATASTORE_TYPE')?.value).toBe('kubernetes');
    expect(podSpec(node)!.initContainers.map((c: { name: string }) => c.name)).toEqual([
      'upgrade-ipam',
      'install-cni',
      'mount-bpffs',
    ]);
  });

  it('defines every CRD with a structural schema that keeps unknown fields', () => {
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    const names = crds.map((c) => c.metadata!.name);
    for (const plural of [
      'bgpconfigurations',
      'felixconfigurations',
      'ipamblocks',
      'ippools',
      'networksets',
    ]) {
      expect(names).toContain(`${plural}.crd.projectcalico.org`);
    }
    expect(names.includes('tiers.crd.projectcalico.org')).toBe(version >= 'v3.29');
    for (const crd of crds) {
      const spec = crd.spec as {
        names: { plural: string };
        versions: { schema: { openAPIV3Schema: { properties: Record<string, object> } } }[];
      };
      expect(crd.metadata!.name!.startsWith(`${spec.names.plural}.`)).toBe(true);
      const props = spec.versions[0]!.schema.openAPIV3Schema.properties;
      expect(props.spec).toEqual({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
      if (crd.metadata!.name!.endsWith('.k8s.io')) {
        expect(crd.metadata!.annotations).toHaveProperty(['api-approved.kubernetes.io']);
      }
    }
  });

  it('stores a CNI conflist that becomes valid JSON once install-cni fills it in', () => {
    const cm = find(objects, 'ConfigMap', 'calico-config')!.data as Record<string, string>;
    expect(cm).toMatchObject({ typha_service_name: 'none', calico_backend: 'bird', veth_mtu: '0' });
    const filled = cm.cni_network_config!.replace('__CNI_MTU__', '1440').replace(/__[A-Z_]+__/g, 'x');
    const conflist = JSON.parse(filled) as { plugins: { type: string; ipam?: { type: string } }[] };
    expect(conflist.plugins.map((p) => p.type)).toEqual(['calico', 'portmap', 'bandwidth']);
    expect(conflist.plugins[0]!.ipam).toEqual({ type: 'calico-ipam' });
    expect(cm.cni_network_config).toContain('"kubeconfig": "__KUBECONFIG_FILEPATH__"');
  });
});

describe.each(BUNDLED_NETWORK_VERSIONS.flannel)('flannel %s', (version) => {
  const objects = bundledNetworkManifests('flannel', version, { podSubnet: SUBNET });

  it('puts the pod subnet into net-conf.json and a portmap chain into the conflist', () => {
    const data = find(objects, 'ConfigMap', 'kube-flannel-cfg')!.data as Record<string, string>;
    expect(JSON.parse(data['net-conf.json']!)).toMatchObject({ Network: SUBNET, Backend: { Type: 'vxlan' } });
    const conflist = JSON.parse(data['cni-conf.json']!) as { name: string; plugins: { type: string }[] };
    expect(conflist.name).toBe('cbr0');
    expect(conflist.plugins.map((p) => p.type)).toEqual(['flannel', 'portmap']);
    const ns = find(objects, 'Namespace', 'kube-flannel')!;
    expect(ns.metadata!.labels).toHaveProperty(['pod-security.kubernetes.io/enforce'], 'privileged');
    const main = podSpec(find(objects, 'DaemonSet', 'kube-flannel-ds')!)!.containers[0];
    expect(main.args).toEqual(['--ip-masq', '--kube-subnet-mgr']);
    expect(main.securityContext.capabilities.add).toEqual(['NET_ADMIN', 'NET_RAW']);
  });

  it("talks to the control-plane endpoint directly, not through kube-proxy's Service address", () => {
    const direct = bundledNetworkManifests('flannel', version, {
      podSubnet: SUBNET,
      apiServer: { host: '10.0.0.10', port: 6443 },
    });
    const env = (list: KubeObject[]) =>
      (
        podSpec(find(list, 'DaemonSet', 'kube-flannel-ds')!)!.containers[0].env as {
          name: string;
          value?: string;
        }[]
      ).filter((e) => e.name.startsWith('KUBERNETES_SERVICE_'));
    expect(env(direct)).toEqual([
      { name: 'KUBERNETES_SERVICE_HOST', value: '10.0.0.10' },
      { name: 'KUBERNETES_SERVICE_PORT', value: '6443' },
    ]);
    expect(env(objects)).toEqual([]);
  });
});

describe('resolveNetworkAddon', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let ca: string;
  const fetchWithCa = (url: string) => httpsFetch(url, { ca });
  const MANIFEST = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: my-cni}\n';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nkd-network-'));
    const serviceCa = await generateServiceCa();
    ca = serviceCa.certPem;
    const serving = await issueServingCert(serviceCa, ['127.0.0.1']);
    server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
      const hop = /^\/hop\/(\d+)$/.exec(req.url ?? '');
      if (req.url === '/cni.yaml') res.end(MANIFEST);
      else if (hop)
        res
          .writeHead(302, { Location: Number(hop[1]) > 1 ? `/hop/${Number(hop[1]) - 1}` : '/cni.yaml' })
          .end();
      else if (req.url === '/downgrade')
        res.writeHead(301, { Location: `http://127.0.0.1:${port()}/cni.yaml` }).end();
      else if (req.url === '/silent')
        return; // never answers
      else res.writeHead(404).end('not here');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${port()}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  function port(): number {
    return (server.address() as AddressInfo).port;
  }

  async function rejection(promise: Promise<unknown>): Promise<NkdError> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NkdError);
    expect((err as NkdError).exitCode).toBe(ExitCode.InvalidConfig);
    return err as NkdError;
  }

  it('returns nothing for plugin none', async () => {
    expect(await resolveNetworkAddon(withNetwork({ plugin: 'none' }), { baseDir: dir })).toBeUndefined();
  });

  it('uses the newest bundled version by default, and the one asked for otherwise', async () => {
    const latest = await resolveNetworkAddon(withNetwork({ plugin: 'flannel' }), { baseDir: dir });
    expect(latest).toMatchObject({ plugin: 'flannel', version: 'v0.26.1', source: 'bundled' });
    expect(latest!.location).toBeUndefined();
    const older = await resolveNetworkAddon(withNetwork({ plugin: 'calico', version: 'v3.28.2' }), {
      baseDir: dir,
    });
    expect(older!.objects).toEqual(bundledNetworkManifests('calico', 'v3.28.2', { podSubnet: SUBNET }));
  });

  it('reads a manifest file relative to the config directory', async () => {
    await writeFile(join(dir, 'cni.yaml'), MANIFEST);
    const addon = await resolveNetworkAddon(withNetwork({ manifest: 'cni.yaml' }), { baseDir: dir });
    expect(addon).toMatchObject({
      plugin: 'calico',
      version: '',
      source: 'file',
      location: join(dir, 'cni.yaml'),
    });
    expect(addon!.objects).toEqual([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'my-cni' } }]);
  });

  it('names spec.network.manifest and the path when the file is missing or empty', async () => {
    const missing = await rejection(
      resolveNetworkAddon(withNetwork({ manifest: 'nope.yaml' }), { baseDir: dir }),
    );
    expect(missing.message).toBe(
      `spec.network.manifest: cannot read ${join(dir, 'nope.yaml')}: no such file`,
    );
    await writeFile(join(dir, 'empty.yaml'), '# nothing yet\n');
    const empty = await rejection(
      resolveNetworkAddon(withNetwork({ manifest: 'empty.yaml' }), { baseDir: dir }),
    );
    expect(empty.message).toMatch(/^spec\.network\.manifest: .*empty\.yaml holds no Kubernetes objects$/);
  });

  it('reports a bad document in the manifest at its line', async () => {
    await writeFile(join(dir, 'bad.yaml'), `${MANIFEST}---\napiVersion: v1\nkind: ConfigMap\n`);
    const err = await rejection(resolveNetworkAddon(withNetwork({ manifest: 'bad.yaml' }), { baseDir: dir }));
    expect(err.message).toBe(`${join(dir, 'bad.yaml')}:5: ConfigMap has no metadata.name`);
  });

  it('fetches an https URL, following up to 3 redirects', async () => {
    const addon = await resolveNetworkAddon(withNetwork({ plugin: 'flannel', manifest: `${base}/hop/3` }), {
      baseDir: dir,
      fetch: fetchWithCa,
    });
    expect(addon).toMatchObject({ plugin: 'flannel', source: 'url', location: `${base}/hop/3` });
    expect(addon!.objects.map((o) => o.metadata?.name)).toEqual(['my-cni']);
  });

  it('gives up after 3 redirects, on a redirect to http, on an HTTP error and on silence', async () => {
    await expect(httpsFetch(`${base}/hop/4`, { ca })).rejects.toThrow('more than 3 redirects');
    await expect(httpsFetch(`${base}/downgrade`, { ca })).rejects.toThrow(/refusing http:/);
    await expect(httpsFetch(`${base}/silent`, { ca, timeoutMs: 200 })).rejects.toThrow(
      'no complete answer within 0.2 s',
    );
    const notFound = await rejection(
      resolveNetworkAddon(withNetwork({ manifest: `${base}/missing.yaml` }), {
        baseDir: dir,
        fetch: fetchWithCa,
      }),
    );
    expect(notFound.message).toBe(
      `spec.network.manifest: cannot fetch ${base}/missing.yaml: HTTP 404 Not Found`,
    );
  });

  it('verifies the server certificate with the default fetcher', async () => {
    const err = await rejection(
      resolveNetworkAddon(withNetwork({ manifest: `${base}/cni.yaml` }), { baseDir: dir }),
    );
    expect(err.message).toMatch(
      /^spec\.network\.manifest: cannot fetch https:\/\/127\.0\.0\.1:\d+\/cni\.yaml: .*certificate/i,
    );
  });

  it('applies fetched content only when it matches spec.network.sha256, and refuses changed content', async () => {
    const digest = createHash('sha256').update(MANIFEST).digest('hex');
    const fetch = () => Promise.resolve(MANIFEST);
    const url = 'https://example.invalid/cni.yaml';
    const ok = await resolveNetworkAddon(withNetwork({ manifest: url, sha256: digest }), {
      baseDir: dir,
      fetch,
    });
    expect(ok!.objects).toHaveLength(1);
    const changed = () =>
      Promise.resolve(`${MANIFEST}---\napiVersion: v1\nkind: Namespace\nmetadata: {name: evil}\n`);
    const err = await rejection(
      resolveNetworkAddon(withNetwork({ manifest: url, sha256: digest }), { baseDir: dir, fetch: changed }),
    );
    expect(err.message).toMatch(
      /^spec\.network\.sha256: https:\/\/example\.invalid\/cni\.yaml has sha256 [0-9a-f]{64}, not [0-9a-f]{64}: its content changed/,
    );
    expect(err.exitCode).toBe(ExitCode.InvalidConfig);
  });

  it('refuses plain http and other schemes without sending anything', async () => {
    const fetch = () => Promise.reject(new Error('must not be called'));
    const http = await rejection(
      resolveNetworkAddon(withNetwork({ manifest: 'http://127.0.0.1:1/cni.yaml' }), { baseDir: dir, fetch }),
    );
    expect(http.message).toMatch(
      /^spec\.network\.manifest: http:\/\/127\.0\.0\.1:1\/cni\.yaml is plain http/,
    );
    const ftp = await rejection(
      resolveNetworkAddon(withNetwork({ manifest: 'ftp://h/cni.yaml' }), { baseDir: dir, fetch }),
    );
    expect(ftp.message).toContain('only https:// URLs and file paths are supported');
  });
});

describe('checkNetwork', () => {
  const messages = (network: Partial<ClusterConfig['spec']['network']>) =>
    checkNetwork(withNetwork(network)).map((p) => `${p.severity} ${p.path.join('.')}: ${p.message}`);

  it('accepts the defaults, every bundled version, and a manifest alone', () => {
    expect(messages({})).toEqual([]);
    for (const { plugin, version } of CASES) expect(messages({ plugin, version })).toEqual([]);
    expect(
      messages({ plugin: 'flannel', manifest: 'https://example.invalid/cni.yaml', sha256: 'a'.repeat(64) }),
    ).toEqual([]);
    expect(messages({ manifest: 'cni.yaml' })).toEqual([]);
    expect(messages({ plugin: 'none' })).toEqual([]);
  });

  it('refuses a version that is not bundled for the chosen plugin, listing the bundled ones', () => {
    expect(messages({ plugin: 'flannel', version: 'v3.29.1' })).toEqual([
      'error spec.network.version: flannel v3.29.1 is not bundled; bundled versions: v0.25.7, v0.26.1',
    ]);
  });

  it('refuses version or manifest with plugin none', () => {
    const problems = messages({ plugin: 'none', version: 'v3.29.1', manifest: 'cni.yaml' });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^error spec\.network\.version: has no effect with plugin none/);
    expect(problems[1]).toMatch(/^error spec\.network\.manifest: has no effect with plugin none.*postDeploy/);
  });

  it('warns that a URL manifest without sha256 is applied as cluster-admin unpinned; refuses sha256 without a manifest', () => {
    expect(messages({ manifest: 'https://example.invalid/cni.yaml' })).toEqual([
      expect.stringMatching(
        /^warning spec\.network\.manifest: .*applied as cluster-admin.*set spec\.network\.sha256$/,
      ),
    ]);
    expect(messages({ sha256: 'a'.repeat(64) })).toEqual([
      'error spec.network.sha256: pins the content of spec.network.manifest, which is not set; remove it',
    ]);
  });

  it('refuses a manifest together with a version as ambiguous', () => {
    expect(messages({ version: 'v3.29.1', manifest: 'cni.yaml' })).toEqual([
      'error spec.network.version: cannot be combined with manifest: the manifest is applied instead of the bundled version; remove one of them',
    ]);
  });
});
