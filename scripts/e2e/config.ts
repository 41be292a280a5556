// The cluster config the end-to-end run deploys: its own (1 control plane + 1 worker, flannel), or a
// user's (`npm run e2e -- -f CONFIG`) with what this machine dictates filled in: the stand-in image and
// its Kubernetes version, the libvirt platform with domainType qemu (TCG), the mirror as
// imageRepository with its plain-HTTP registry entry, and the run's SSH key. Everything else is kept.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

export interface Fill {
  image: string;
  kubeVersion: string;
  /** host:port the guests reach the mirror at (the libvirt network's host address). */
  registryHost: string;
  cidr: string;
  poolPath: string;
  sshPublicKey: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

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

/** The config with this machine's settings filled in; throws when it asks for what cannot run here. */
export function fillConfig(config: Obj, fill: Fill): { config: Obj; notes: string[] } {
  const notes: string[] = [];
  const spec = obj(config.spec);
  const runtime = spec.runtime ?? 'containerd';
  if (runtime !== 'containerd')
    throw new Error(
      `spec.runtime is ${String(runtime)}: the NestOS stand-in runs containerd only (docs/testnode.md)`,
    );
  const network = obj(spec.network);
  if ((network.plugin ?? 'calico') === 'calico' && network.manifest === undefined)
    throw new Error('spec.network.plugin is calico: the mirror npm run images fills holds flannel only');
  const kubernetes = obj(spec.kubernetes);
  if (kubernetes.version !== undefined && kubernetes.version !== fill.kubeVersion)
    notes.push(
      `kubernetes.version ${String(kubernetes.version)} -> ${fill.kubeVersion} (the stand-in image's)`,
    );
  const registries = (Array.isArray(spec.registries) ? (spec.registries as Obj[]) : []).filter(
    (r) => r.host !== fill.registryHost,
  );
  const libvirt = obj(obj(spec.platform).libvirt);
  if (obj(spec.platform).libvirt === undefined) notes.push('platform -> libvirt (this machine has no other)');
  const access = obj(spec.access);
  const keys = Array.isArray(access.sshAuthorizedKeys) ? (access.sshAuthorizedKeys as string[]) : [];
  return {
    notes,
    config: {
      ...config,
      spec: {
        ...spec,
        kubernetes: {
          ...kubernetes,
          version: fill.kubeVersion,
          imageRepository: `${fill.registryHost}/k8s`,
        },
        registries: [...registries, { host: fill.registryHost, plainHTTP: true }],
        access: { ...access, sshAuthorizedKeys: [...keys, fill.sshPublicKey] },
        platform: {
          libvirt: {
            ...libvirt,
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
