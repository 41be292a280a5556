// The exact XML each operation hands libvirt, from the operation's inputs. Kept apart from the
// operations so tests can validate and pin (golden files) precisely what gets defined.
import { objectUuid } from './names.js';
import type {
  BaseImageVolumeInputs,
  DomainInputs,
  IgnitionVolumeInputs,
  NetworkInputs,
  NodeVolumeInputs,
  PoolInputs,
} from './types.js';
import { domainXml, networkXml, poolXml, volumeXml } from './xml.js';

const GiB = 1024 ** 3;

export function poolDefinition(inputs: PoolInputs): string {
  return poolXml({ name: inputs.name, path: inputs.path, uuid: objectUuid('pool', inputs.name) });
}

/**
 * Created raw and sparse at the image file's size, then overwritten byte for byte by vol-upload;
 * libvirt probes the uploaded header afterwards and reports the real format and virtual size.
 */
export function baseImageVolumeDefinition(inputs: BaseImageVolumeInputs, fileSizeBytes: number): string {
  return volumeXml({
    name: inputs.name,
    format: 'raw',
    capacityBytes: fileSizeBytes,
    allocationBytes: 0,
    permissions: { mode: '0644' },
  });
}

export function nodeVolumeDefinition(inputs: NodeVolumeInputs): string {
  return volumeXml({
    name: inputs.name,
    format: 'qcow2',
    capacityBytes: inputs.diskGiB * GiB,
    allocationBytes: 0,
    permissions: { mode: '0600' },
    backingStore: { path: inputs.baseVolumePath, format: inputs.baseFormat },
  });
}

/** Private to the user QEMU runs as (`owner`, from the DAC base label): the config holds private keys. */
export function ignitionVolumeDefinition(
  inputs: Pick<IgnitionVolumeInputs, 'name' | 'content'>,
  owner?: { uid: number; gid: number },
): string {
  const bytes = Buffer.byteLength(inputs.content, 'utf8');
  return volumeXml({
    name: inputs.name,
    format: 'raw',
    capacityBytes: bytes,
    allocationBytes: bytes,
    permissions: { mode: '0600', owner: owner?.uid, group: owner?.gid },
  });
}

export function networkDefinition(inputs: NetworkInputs): string {
  const { name, bridge, cidr, gateway, hosts, extraDnsHosts } = inputs;
  return networkXml({ name, uuid: objectUuid('network', name), bridge, cidr, gateway, hosts, extraDnsHosts });
}

export function domainDefinition(inputs: DomainInputs): string {
  return domainXml({
    name: inputs.name,
    uuid: objectUuid('domain', inputs.name),
    type: inputs.type,
    memoryMiB: inputs.memoryMiB,
    vcpus: inputs.vcpus,
    disk: { path: inputs.diskPath, format: inputs.diskFormat },
    network: { name: inputs.networkName, mac: inputs.mac },
    ignitionPath: inputs.ignitionPath,
    consoleLogPath: inputs.consoleLogPath,
  });
}
