// Storage: the cluster's dir pool, the uploaded base image, a copy-on-write disk per node and a file
// per node holding its Ignition config. Volume ids are `<pool>/<volume>`.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import {
  baseImageVolumeDefinition,
  ignitionVolumeDefinition,
  nodeVolumeDefinition,
  poolDefinition,
} from './definitions.js';
import { assertOwned, diffKeys, gone, orUndo, result, tolerate } from './diff.js';
import { objectUuid } from './names.js';
import type {
  BaseImageVolumeInputs,
  BaseImageVolumeOutputs,
  IgnitionVolumeInputs,
  IgnitionVolumeOutputs,
  LibvirtOperations,
  NodeVolumeInputs,
  NodeVolumeOutputs,
  PoolInputs,
  PoolOutputs,
} from './types.js';
import {
  defineXml,
  deleteVolume,
  dumpXml,
  imageInfo,
  isActive,
  isNotActive,
  isNotFound,
  qemuDacOwner,
  virsh,
  volumeInfo,
  volumePath,
  volumeXmlOf,
  withTempFile,
  xmlText,
} from './virsh.js';

const GiB = 1024 ** 3;

/** A cheap content identity for a local image: size and modification time. */
export async function fileFingerprint(path: string): Promise<string> {
  const s = await stat(path);
  return `${s.size}:${Math.trunc(s.mtimeMs)}`;
}

/** Pool: define (or adopt our own), build the directory, start, autostart. */
export const poolOperations: LibvirtOperations<PoolInputs, PoolOutputs> = {
  async create(inputs) {
    const { uri, name, path } = inputs;
    const uuid = objectUuid('pool', name);
    const existing = await dumpXml(uri, 'pool', name);
    if (existing === undefined) {
      await defineXml(uri, 'pool', poolDefinition(inputs));
    } else {
      assertOwned('storage pool', name, existing, uuid);
      const existingPath = xmlText(existing, 'path');
      if (existingPath !== path) {
        throw new Error(
          `storage pool "${name}" exists at ${existingPath ?? '?'}, not at ${path}; delete it first`,
        );
      }
    }
    if (!(await isActive(uri, 'pool', name))) {
      await orUndo(
        async () => {
          await virsh(uri, ['pool-build', name]);
          await virsh(uri, ['pool-start', name]);
        },
        () => (existing === undefined ? virsh(uri, ['pool-undefine', name]) : Promise.resolve()),
      );
    }
    await virsh(uri, ['pool-autostart', name]);
    return { id: name, outs: { uri, name, path, uuid } };
  },

  async diff(_id, olds, news) {
    return diffKeys(olds, news, ['uri', 'name', 'path'], ['uri', 'name', 'path']);
  },

  async read(id, props) {
    const xml = await dumpXml(props.uri, 'pool', props.name);
    if (xml === undefined) return gone();
    return {
      id,
      props: { ...props, path: xmlText(xml, 'path') ?? props.path, uuid: xmlText(xml, 'uuid') ?? '' },
    };
  },

  /**
   * Deletes what is left in the pool (base images are retained while any disk may be their overlay,
   * so they go with the pool), stops it, removes its directory and undefines it.
   */
  async delete(_id, props) {
    const { uri, name } = props;
    if ((await dumpXml(uri, 'pool', name)) === undefined) return;
    if (await isActive(uri, 'pool', name)) {
      for (const volume of await volumeNames(uri, name)) await deleteVolume(uri, name, volume);
    }
    await tolerate(virsh(uri, ['pool-destroy', name]), (e) => isNotActive(e) || isNotFound(e));
    await tolerate(
      virsh(uri, ['pool-delete', name]),
      (e) => isNotFound(e) || /No such file/i.test(String(e)),
    );
    await tolerate(virsh(uri, ['pool-undefine', name]), isNotFound);
  },
};

/** The user's base image uploaded into the pool (works with remote URIs; libvirt owns the copy). */
export const baseImageVolumeOperations: LibvirtOperations<BaseImageVolumeInputs, BaseImageVolumeOutputs> = {
  async create(inputs) {
    const { uri, pool, name, sourcePath } = inputs;
    const info = await imageInfo(sourcePath);
    // The name in our own pool is ours: a leftover of an interrupted create is replaced.
    await deleteVolume(uri, pool, name);
    const xml = baseImageVolumeDefinition(inputs, info.fileSizeBytes);
    await withTempFile('vol.xml', xml, (file) => virsh(uri, ['vol-create', pool, file]));
    await orUndo(
      () => virsh(uri, ['vol-upload', '--sparse', '--pool', pool, name, sourcePath]),
      () => deleteVolume(uri, pool, name),
    );
    const path = await volumePath(uri, pool, name);
    return {
      id: `${pool}/${name}`,
      outs: { ...inputs, path, format: info.format, virtualSizeBytes: info.virtualSizeBytes },
    };
  },

  async diff(_id, olds, news) {
    const keys = ['uri', 'pool', 'name', 'sourcePath', 'sourceFingerprint'] as const;
    return diffKeys(olds, news, keys, keys);
  },

  read: readVolume,

  async delete(_id, props) {
    await deleteVolume(props.uri, props.pool, props.name);
  },
};

/** A qcow2 overlay of the base image with the planned capacity; grows in place, never shrinks. */
export const nodeVolumeOperations: LibvirtOperations<NodeVolumeInputs, NodeVolumeOutputs> = {
  async create(inputs) {
    const { uri, pool, name, baseVolumePath, diskGiB } = inputs;
    const capacity = diskGiB * GiB;
    const base = await volumeInfo(uri, undefined, baseVolumePath);
    if (base.capacity > capacity) {
      throw new Error(
        `disk of ${diskGiB} GiB for ${name} is smaller than the base image (${(base.capacity / GiB).toFixed(1)} GiB)`,
      );
    }
    const existing = await volumeXmlOf(uri, pool, name);
    if (existing !== undefined) {
      // Adopt the disk of an interrupted create if it is an overlay of the same base; it may hold data.
      const backing = /<backingStore>[\s\S]*?<path>([^<]*)<\/path>/.exec(existing)?.[1];
      if (backing !== baseVolumePath) {
        throw new Error(
          `volume ${pool}/${name} exists and is not an overlay of ${baseVolumePath}; delete it first`,
        );
      }
      if ((await volumeInfo(uri, pool, name)).capacity < capacity) await resize(uri, pool, name, capacity);
    } else {
      const xml = nodeVolumeDefinition(inputs);
      await withTempFile('vol.xml', xml, (file) => virsh(uri, ['vol-create', pool, file]));
    }
    const path = await volumePath(uri, pool, name);
    const { capacity: capacityBytes } = await volumeInfo(uri, pool, name);
    return { id: `${pool}/${name}`, outs: { ...inputs, path, capacityBytes } };
  },

  /**
   * A disk keeps the base image it was made from: a new base image is for new nodes (NestOS updates
   * running nodes through Housekeeper, never by re-imaging), so base changes are no change here.
   */
  async diff(_id, olds, news) {
    const fixed = ['uri', 'pool', 'name'] as const;
    const d = diffKeys(olds, news, [...fixed, 'diskGiB'], fixed);
    if (news.diskGiB < olds.diskGiB) return result(['diskGiB', ...d.replaces], ['diskGiB', ...d.replaces]);
    return d;
  },

  async read(id, props) {
    const found = await readVolume(id, props);
    if (found.id === '') return found;
    const { capacity } = await volumeInfo(props.uri, props.pool, props.name);
    return { id, props: { ...found.props, capacityBytes: capacity } };
  },

  /**
   * Grows the disk (diff makes every other change a replacement). QEMU locks a disk in use, so this
   * fails with libvirt's message while the node runs; the guest's root filesystem grows on next boot.
   */
  async update(_id, olds, news) {
    const capacity = news.diskGiB * GiB;
    await resize(news.uri, news.pool, news.name, capacity);
    return { outs: { ...olds, ...news, capacityBytes: capacity } };
  },

  async delete(_id, props) {
    await deleteVolume(props.uri, props.pool, props.name);
  },
};

async function resize(uri: string, pool: string, name: string, bytes: number): Promise<void> {
  await virsh(uri, ['vol-resize', '--pool', pool, name, String(bytes)]);
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The node's Ignition config as a file in the pool, readable only by the user QEMU runs as (it holds
 * private keys). libvirt does not relabel fw_cfg files, so ownership is set here, from the DAC base
 * label `virsh capabilities` reports.
 */
export const ignitionVolumeOperations: LibvirtOperations<IgnitionVolumeInputs, IgnitionVolumeOutputs> = {
  create: uploadIgnition,

  /**
   * A changed config is written over the old one. QEMU read the file when the domain started, and
   * Ignition runs only on a node's first boot, so a running node is unaffected: the new config is what
   * a re-created node would boot with.
   */
  async update(_id, _olds, news) {
    return { outs: (await uploadIgnition(news)).outs };
  },

  async diff(_id, olds, news) {
    const d = diffKeys(olds, news, ['uri', 'pool', 'name'], ['uri', 'pool', 'name']);
    if (olds.sha256 === sha256Hex(news.content)) return d;
    return result(['content', ...d.replaces], d.replaces);
  },

  async read(id, props) {
    const found = await readVolume(id, props);
    return found.id === '' ? found : { id, props };
  },

  async delete(_id, props) {
    await deleteVolume(props.uri, props.pool, props.name);
  },
};

async function uploadIgnition(
  inputs: IgnitionVolumeInputs,
): Promise<{ id: string; outs: IgnitionVolumeOutputs }> {
  const { uri, pool, name, content } = inputs;
  const bytes = Buffer.byteLength(content, 'utf8');
  if (bytes === 0) throw new Error(`Ignition config for ${name} is empty`);
  const owner = await qemuDacOwner(uri);
  await deleteVolume(uri, pool, name);
  const xml = ignitionVolumeDefinition(inputs, owner);
  await withTempFile('vol.xml', xml, (file) => virsh(uri, ['vol-create', pool, file]));
  await orUndo(
    () =>
      withTempFile('config.ign', content, (file) => virsh(uri, ['vol-upload', '--pool', pool, name, file])),
    () => deleteVolume(uri, pool, name),
  );
  const path = await volumePath(uri, pool, name);
  return {
    id: `${pool}/${name}`,
    outs: { uri, pool, name, path, sha256: sha256Hex(content), sizeBytes: bytes },
  };
}

async function readVolume<O extends { uri: string; pool: string; name: string; path?: string }>(
  id: string,
  props: O,
): Promise<{ id: string; props: O }> {
  if ((await volumeXmlOf(props.uri, props.pool, props.name)) === undefined) return gone();
  return { id, props };
}

async function volumeNames(uri: string, pool: string): Promise<string[]> {
  const out = await virsh(uri, ['vol-list', '--pool', pool]);
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name !== '');
}
