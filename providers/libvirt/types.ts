// Inputs and outputs of the libvirt resource kinds, and the operations shape Pulumi dynamic resources
// wrap (`pulumi.dynamic.ResourceProvider`: create/diff/delete, plus update where a change can be
// applied in place). Every input is explicit, including the libvirt connection URI, because the
// operations run in the Pulumi engine's provider process with nothing but their arguments.
import type { DomainType, NetworkHost, VolumeFormat } from './xml.js';

export interface DiffResult {
  changes: boolean;
  /** Input names whose change needs the object deleted and created again. */
  replaces: string[];
  /** Names are fixed, so the old object must go before its replacement can be created. */
  deleteBeforeReplace: boolean;
}

export interface LibvirtOperations<I, O> {
  /** Makes the object; `id` is its libvirt name (pool, network, domain) or `<pool>/<volume>`. */
  create(inputs: I): Promise<{ id: string; outs: O }>;
  /** `olds` are the outputs `create` returned; every output repeats the inputs it was made from. */
  diff(id: string, olds: O, news: I): Promise<DiffResult>;
  /** Removes what create made; an object that is already gone is not an error. */
  delete(id: string, props: O): Promise<void>;
  /** Present only on kinds whose diff can report a change without a replacement. */
  update?(id: string, olds: O, news: I): Promise<{ outs: O }>;
  /** What libvirt holds now (refresh): the outputs as found, or an empty id when the object is gone. */
  read(id: string, props: O): Promise<{ id: string; props: O }>;
}

export interface Connection {
  /** libvirt connection URI, e.g. qemu:///system. */
  uri: string;
}

export interface PoolInputs extends Connection {
  name: string;
  /** Directory on the libvirt host; created by pool-build, removed by delete once empty. */
  path: string;
}
export interface PoolOutputs extends PoolInputs {
  uuid: string;
}

export interface BaseImageVolumeInputs extends Connection {
  pool: string;
  name: string;
  /** Image file on the machine running nkd (qcow2 or raw); uploaded into the pool. */
  sourcePath: string;
  /**
   * Identifies the image's content (e.g. `fileFingerprint(sourcePath)`: size and mtime); a change
   * replaces the volume. Optional: without it only a changed path is noticed.
   */
  sourceFingerprint?: string;
}
export interface BaseImageVolumeOutputs extends BaseImageVolumeInputs {
  /** Path of the uploaded image on the libvirt host. */
  path: string;
  format: VolumeFormat;
  virtualSizeBytes: number;
}

export interface NodeVolumeInputs extends Connection {
  pool: string;
  name: string;
  /** The base image volume's path (BaseImageVolumeOutputs.path). */
  baseVolumePath: string;
  baseFormat: VolumeFormat;
  diskGiB: number;
}
export interface NodeVolumeOutputs extends NodeVolumeInputs {
  path: string;
  capacityBytes: number;
}

export interface IgnitionVolumeInputs extends Connection {
  pool: string;
  name: string;
  /** The node's complete Ignition config. Secret: it is never copied into the outputs. */
  content: string;
}
export interface IgnitionVolumeOutputs extends Connection {
  pool: string;
  name: string;
  /** The file QEMU reads for fw_cfg: DomainInputs.ignitionPath. */
  path: string;
  /** sha256 (hex) of the uploaded content: diff compares it with the new content's. */
  sha256: string;
  sizeBytes: number;
}

export interface NetworkInputs extends Connection {
  name: string;
  bridge: string;
  cidr: string;
  gateway: string;
  /** Static DHCP leases and DNS names, one per node. */
  hosts: NetworkHost[];
  extraDnsHosts?: Array<{ ip: string; hostnames: string[] }>;
}
export interface NetworkOutputs extends NetworkInputs {
  uuid: string;
}

export interface DomainInputs extends Connection {
  name: string;
  type: DomainType;
  memoryMiB: number;
  vcpus: number;
  diskPath: string;
  diskFormat: VolumeFormat;
  networkName: string;
  mac: string;
  /** IgnitionVolumeOutputs.path. */
  ignitionPath: string;
  /** Where the serial console is logged on the libvirt host; kept after delete, appended to on re-create. */
  consoleLogPath: string;
}
export interface DomainOutputs extends DomainInputs {
  uuid: string;
}
