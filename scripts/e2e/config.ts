// The cluster config the end-to-end run deploys: its own (1 control plane + 1 worker, flannel), or a
// user's (`npm run e2e -- -f CONFIG`) with what this machine dictates filled in: the stand-in image and
// its Kubernetes version, the libvirt platform with domainType qemu (TCG), the mirror as
// imageRepository with its plain-HTTP registry entry, the run's SSH key, and (unless the config sets
// it) a probe tolerance for TCG. What this machine cannot run (another runtime, calico's images) is
// replaced with a note; relative paths are made absolute. Everything else is kept.
import { readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { NODE_SIZE_DEFAULTS } from '../../src/config/schema.js';

export interface Fill {
  image: string;
  kubeVersion: string;
  /** host:port the guests reach the mirror at (the libvirt network's host address). */
  registryHost: string;
  cidr: string;
  poolPath: string;
  sshPublicKey: string;
  /** The run's own libvirtd. */
  libvirtUri: string;
  /** Where the user's config file is: its relative paths are resolved from there (the run writes its own copy elsewhere). */
  configDir?: string;
}

type Obj = Record<string, unknown>;

/**
 * Emulated guests on a shared host answer probes slowly: kubeadm's thresholds and timeouts times 4
 * (the first run saw the API server restarted during kubeadm init's admin bootstrap, docs/e2e.md).
 */
export const TCG_PROBE_TOLERANCE = 4;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const given = (v: unknown): boolean => v !== undefined && v !== '';

export function defaultConfig(name: string): Obj {
  return {
    apiVersion: 'nkd.nestos.io/v1alpha1',
    kind: 'Cluster',
    metadata: { name },
    spec: {
      network: { plugin: 'flannel' },
      controlPlane: { count: 1, cpus: 2, memoryMiB: 3072, diskGiB: 12 },
      workers: { count: 1, cpus: 2, memoryMiB: 2048, diskGiB: 12 },
    },
  };
}

/**
 * The runtime: the stand-in image runs containerd only (docs/testnode.md). Another is replaced, with a
 * note, rather than refused: the run then shows everything else of the config on a real cluster.
 */
function fillRuntime(spec: Obj, notes: string[]): string {
  const runtime = spec.runtime ?? 'containerd';
  if (runtime !== 'containerd')
    notes.push(`runtime ${String(runtime)} -> containerd (the NestOS stand-in runs containerd only)`);
  return 'containerd';
}

/**
 * The network plugin: calico's images cannot be built here (the Go module proxy does not serve
 * projectcalico/calico), so the bundled calico becomes the bundled flannel, with a note. A manifest of
 * the user's own is kept, with its path made absolute.
 */
function fillNetwork(spec: Obj, configDir: string | undefined, notes: string[]): Obj {
  const network = obj(spec.network);
  const manifest = network.manifest;
  if (given(manifest)) {
    const m = String(manifest);
    return { ...network, manifest: /^https:\/\//.test(m) ? m : absolute(m, configDir) };
  }
  if ((network.plugin ?? 'calico') !== 'calico') return network;
  notes.push(
    'network.plugin calico -> flannel (calico cannot be mirrored here: the Go module proxy does not serve it)',
  );
  const { version: _version, ...rest } = network;
  return { ...rest, plugin: 'flannel' };
}

function absolute(path: string, configDir: string | undefined): string {
  return configDir === undefined || isAbsolute(path) ? path : resolve(configDir, path);
}

/** hooks.preDeploy and hooks.postDeploy name files relative to the config: absolute in the run's copy. */
function fillHooks(spec: Obj, configDir: string | undefined): Obj | undefined {
  if (spec.hooks === undefined) return undefined;
  const hooks = obj(spec.hooks);
  const paths = (v: unknown) => (Array.isArray(v) ? v.map((p) => absolute(String(p), configDir)) : v);
  return {
    ...hooks,
    ...(hooks.preDeploy !== undefined ? { preDeploy: paths(hooks.preDeploy) } : {}),
    ...(hooks.postDeploy !== undefined ? { postDeploy: paths(hooks.postDeploy) } : {}),
  };
}

/**
 * Node sizes this machine runs: at most 2 vCPUs (more emulated CPUs than the host's 2 cores only add
 * contention under TCG) and 4 GiB, so that a cluster and the node `nkd scale` adds fit in 24 GiB. nkd's
 * defaults (4 vCPUs, 8 GiB) are sized for real machines and are lowered too.
 */
const MAX_CPUS = 2;
const MAX_MEMORY_MIB = 4096;

function fillSize(spec: Obj, group: 'controlPlane' | 'workers', notes: string[]): Obj {
  const nodes = obj(spec[group]);
  const sized: Obj = { ...nodes };
  for (const [key, max] of [
    ['cpus', MAX_CPUS],
    ['memoryMiB', MAX_MEMORY_MIB],
  ] as const) {
    // Not a number: nkd's validation names it; left as it is.
    if (nodes[key] !== undefined && typeof nodes[key] !== 'number') continue;
    const value = typeof nodes[key] === 'number' ? nodes[key] : NODE_SIZE_DEFAULTS[key];
    if (value <= max) continue;
    sized[key] = max;
    const what = nodes[key] === undefined ? `(nkd's default ${value})` : String(value);
    notes.push(`${group}.${key} ${what} -> ${max} (what 2 cores and 24 GiB run under TCG)`);
  }
  return sized;
}

/**
 * What the stand-in cannot do, replaced with a note: it has no keepalived (an API VIP becomes the first
 * control plane), and its node OS image is its own (a release image to rebase to at first boot is
 * dropped; the upgrade step rebases). Housekeeper stays on with nkd's own image from the mirror, since the
 * upgrade step needs it.
 */
function fillStandIn(spec: Obj, libvirt: Obj, notes: string[]) {
  const os = obj(spec.os);
  if (given(os.releaseImage))
    notes.push(`os.releaseImage ${String(os.releaseImage)} -> none (the stand-in boots its own image)`);
  const { releaseImage: _image, ...osRest } = os;
  const housekeeper = obj(spec.housekeeper);
  if (housekeeper.enabled === false)
    notes.push('housekeeper.enabled false -> true (the upgrade step needs Housekeeper)');
  if (given(housekeeper.image))
    notes.push(`housekeeper.image ${String(housekeeper.image)} -> nkd's own, from the mirror`);
  const { image: _hkImage, enabled: _enabled, ...housekeeperRest } = housekeeper;
  const vip = obj(libvirt.apiEndpoint).type === 'vip';
  if (vip)
    notes.push('platform.libvirt.apiEndpoint vip -> first-control-plane (the stand-in has no keepalived)');
  const { apiEndpoint: _endpoint, ...withoutEndpoint } = libvirt;
  return {
    os: Object.keys(osRest).length ? osRest : undefined,
    housekeeper: Object.keys(housekeeperRest).length ? housekeeperRest : undefined,
    libvirt: vip ? withoutEndpoint : libvirt,
  };
}

/** The config with this machine's settings filled in, and a note for each of the user's settings changed. */
export function fillConfig(config: Obj, fill: Fill): { config: Obj; notes: string[] } {
  const notes: string[] = [];
  const spec = obj(config.spec);
  const runtime = fillRuntime(spec, notes);
  const network = fillNetwork(spec, fill.configDir, notes);
  const hooks = fillHooks(spec, fill.configDir);
  const kubernetes = obj(spec.kubernetes);
  if (kubernetes.version !== undefined && kubernetes.version !== fill.kubeVersion)
    notes.push(
      `kubernetes.version ${String(kubernetes.version)} -> ${fill.kubeVersion} (the stand-in image's)`,
    );
  const mirror = `${fill.registryHost}/k8s`;
  if (given(kubernetes.imageRepository) && kubernetes.imageRepository !== mirror)
    notes.push(
      `kubernetes.imageRepository ${String(kubernetes.imageRepository)} -> ${mirror} (the run's mirror)`,
    );
  // Nothing here serves a load balancer's or a VIP's address or name: the first control plane is the endpoint.
  if (given(kubernetes.controlPlaneEndpoint))
    notes.push(
      `kubernetes.controlPlaneEndpoint ${String(kubernetes.controlPlaneEndpoint)} -> the first control plane ` +
        '(no load balancer or VIP runs here)',
    );
  const { controlPlaneEndpoint: _endpoint, ...kubernetesRest } = kubernetes;
  const registries = (Array.isArray(spec.registries) ? (spec.registries as Obj[]) : []).filter(
    (r) => r.host !== fill.registryHost,
  );
  const libvirt = obj(obj(spec.platform).libvirt);
  if (obj(spec.platform).libvirt === undefined) notes.push('platform -> libvirt (this machine has no other)');
  if (libvirt.uri !== undefined && libvirt.uri !== fill.libvirtUri)
    notes.push(`platform.libvirt.uri ${String(libvirt.uri)} -> ${fill.libvirtUri} (the run's own libvirtd)`);
  const access = obj(spec.access);
  const keys = Array.isArray(access.sshAuthorizedKeys) ? (access.sshAuthorizedKeys as string[]) : [];
  const controlPlane = fillSize(spec, 'controlPlane', notes);
  // Sized even without workers: `nkd scale` adds one with these sizes.
  const workers = fillSize(spec, 'workers', notes);
  const standIn = fillStandIn(spec, libvirt, notes);
  const { os: _os, housekeeper: _housekeeper, ...specRest } = spec;
  return {
    notes,
    config: {
      ...config,
      spec: {
        ...specRest,
        runtime,
        network,
        controlPlane,
        workers,
        ...(standIn.os ? { os: standIn.os } : {}),
        ...(standIn.housekeeper ? { housekeeper: standIn.housekeeper } : {}),
        ...(hooks ? { hooks } : {}),
        kubernetes: {
          ...kubernetesRest,
          version: fill.kubeVersion,
          imageRepository: mirror,
          probeTolerance: kubernetes.probeTolerance ?? TCG_PROBE_TOLERANCE,
        },
        registries: [...registries, { host: fill.registryHost, plainHTTP: true }],
        access: { ...access, sshAuthorizedKeys: [...keys, fill.sshPublicKey] },
        platform: {
          libvirt: {
            ...standIn.libvirt,
            uri: fill.libvirtUri,
            image: fill.image,
            domainType: 'qemu',
            poolPath: fill.poolPath,
            network: { cidr: fill.cidr, ...obj(libvirt.network) },
          },
        },
      },
    },
  };
}

export function readConfig(path: string): Obj {
  const parsed = parse(readFileSync(path, 'utf8')) as unknown;
  if (!parsed || typeof parsed !== 'object')
    throw new Error(`${path} is not a cluster config (YAML mapping)`);
  return parsed as Obj;
}

export function writeConfig(dir: string, config: Obj): string {
  const file = join(dir, 'e2e.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

/** The libvirt network a config asks for, if it names one. */
export function requestedNetwork(config: Obj): { cidr?: string; gateway?: string } {
  const network = obj(obj(obj(obj(config.spec).platform).libvirt).network);
  return {
    ...(typeof network.cidr === 'string' ? { cidr: network.cidr } : {}),
    ...(typeof network.gateway === 'string' ? { gateway: network.gateway } : {}),
  };
}

/** The first host address of an IPv4 CIDR: where nkd puts the libvirt network's host side by default. */
export function firstHost(cidr: string): string {
  const [address, prefix] = cidr.split('/');
  const n = address!.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
  const size = 2 ** (32 - Number(prefix));
  const host = n - (n % size) + 1;
  return [24, 16, 8, 0].map((shift) => Math.floor(host / 2 ** shift) % 256).join('.');
}

export function clusterName(config: Obj): string {
  const name = obj(config.metadata).name;
  if (typeof name !== 'string' || name === '') throw new Error('the config has no metadata.name');
  return name;
}
