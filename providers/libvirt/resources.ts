// Pure: the inputs of every libvirt resource of a cluster, from its plan, the libvirt platform config
// and each node's rendered Ignition. The Pulumi program creates one resource per entry, in this order:
// pool → base image → (node volume, Ignition volume) per node → network → domain per node.
import type { ClusterPlan, NodePlan } from '../../src/plan/types.js';
import {
  baseVolumeName,
  bridgeName,
  clusterObjectName,
  domainName,
  ignitionVolumeName,
  macAddresses,
  nodeVolumeName,
} from './names.js';
import type {
  BaseImageVolumeInputs,
  DomainInputs,
  IgnitionVolumeInputs,
  NetworkInputs,
  NodeVolumeInputs,
  PoolInputs,
} from './types.js';
import type { DomainType, VolumeFormat } from './xml.js';

/** Where qemu:///system keeps pools and guest logs on Debian/Fedora hosts. */
export const DEFAULT_IMAGES_DIR = '/var/lib/libvirt/images';
export const DEFAULT_CONSOLE_LOG_DIR = '/var/log/libvirt/qemu';

export interface LibvirtResourceOptions {
  plan: ClusterPlan;
  /** spec.platform.libvirt's connection URI and base image path. */
  platform: { uri: string; image: string };
  /** Each node's rendered Ignition (RenderedNode fits). */
  rendered: ReadonlyArray<{ node: { name: string }; ignitionText: string }>;
  /** Directory of the cluster's pool on the libvirt host. Default: /var/lib/libvirt/images/nkd-<cluster>. */
  poolPath?: string;
  /** Directory of the serial console logs on the libvirt host. Default: /var/log/libvirt/qemu. */
  consoleLogDir?: string;
  /** Default 'kvm'. */
  domainType?: DomainType;
  /** The base image's format once known (BaseImageVolumeOutputs.format). Default 'qcow2' (NestOS ships qcow2). */
  baseFormat?: VolumeFormat;
  baseImageFingerprint?: string;
}

export interface LibvirtNodeResources {
  node: NodePlan;
  volume: NodeVolumeInputs;
  ignition: IgnitionVolumeInputs;
  domain: DomainInputs;
}

export interface LibvirtClusterResources {
  pool: PoolInputs;
  baseImage: BaseImageVolumeInputs;
  network: NetworkInputs;
  nodes: LibvirtNodeResources[];
}

/**
 * Volume paths are computed as a dir pool lays them out (`<pool path>/<volume>`), which is what
 * `vol-path` reports; a Pulumi program should still pass the volume resources' `path` outputs on, so
 * domains depend on their volumes.
 */
export function libvirtResources(options: LibvirtResourceOptions): LibvirtClusterResources {
  const { plan, platform } = options;
  const uri = platform.uri;
  const objectName = clusterObjectName(plan.name);
  const poolPath = options.poolPath ?? `${DEFAULT_IMAGES_DIR}/${objectName}`;
  const logDir = options.consoleLogDir ?? DEFAULT_CONSOLE_LOG_DIR;
  const ignitionByNode = new Map(options.rendered.map((r) => [r.node.name, r.ignitionText]));
  const macs = macAddresses(
    plan.name,
    plan.nodes.map((n) => n.name),
  );

  const pool: PoolInputs = { uri, name: objectName, path: poolPath };
  const baseName = baseVolumeName(options.baseImageFingerprint);
  const baseImage: BaseImageVolumeInputs = {
    uri,
    pool: objectName,
    name: baseName,
    sourcePath: platform.image,
    ...(options.baseImageFingerprint !== undefined && { sourceFingerprint: options.baseImageFingerprint }),
  };
  const basePath = `${poolPath}/${baseName}`;
  const network: NetworkInputs = {
    uri,
    name: objectName,
    bridge: bridgeName(objectName),
    cidr: plan.network.cidr,
    gateway: plan.network.gateway,
    hosts: plan.nodes.map((n) => ({ name: n.name, mac: macs.get(n.name)!, ip: n.address })),
  };

  const nodes = plan.nodes.map((node): LibvirtNodeResources => {
    const domain = domainName(plan.name, node.name);
    const content = ignitionByNode.get(node.name);
    if (content === undefined) throw new Error(`no rendered Ignition for node ${node.name}`);
    const volume: NodeVolumeInputs = {
      uri,
      pool: objectName,
      name: nodeVolumeName(domain),
      baseVolumePath: basePath,
      baseFormat: options.baseFormat ?? 'qcow2',
      diskGiB: node.diskGiB,
    };
    const ignition: IgnitionVolumeInputs = {
      uri,
      pool: objectName,
      name: ignitionVolumeName(domain),
      content,
    };
    return {
      node,
      volume,
      ignition,
      domain: {
        uri,
        name: domain,
        type: options.domainType ?? 'kvm',
        memoryMiB: node.memoryMiB,
        vcpus: node.cpus,
        diskPath: `${poolPath}/${volume.name}`,
        diskFormat: 'qcow2',
        networkName: network.name,
        mac: macs.get(node.name)!,
        ignitionPath: `${poolPath}/${ignition.name}`,
        consoleLogPath: `${logDir}/${domain}-console.log`,
      },
    };
  });
  return { pool, baseImage, network, nodes };
}
