// Drives the libvirt provider's operations against a real libvirtd for a 1 control-plane + 1 worker
// cluster with blank qcow2 base images: create everything, read it back with virsh, check the QEMU
// processes, diff, update, delete, and check nothing is left. Guests find no OS on their blank disks;
// that is enough to prove the domain, disks, network attachment and Ignition fw_cfg entry. No traffic is
// ever sent to guest addresses (shared/notes/libvirt.md).
//
// The daemon, its bridge and the guests live in a network namespace of the test's own
// (helpers/libvirtd.ts). Domains run under TCG (`<domain type='qemu'>`): these machines have no /dev/kvm,
// or one on which stock guests hang.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  baseImageVolumeOperations,
  domainOperations,
  fileFingerprint,
  ignitionVolumeOperations,
  networkOperations,
  nodeVolumeOperations,
  poolOperations,
  type BaseImageVolumeOutputs,
  type DomainOutputs,
  type IgnitionVolumeOutputs,
  type NetworkOutputs,
  type NodeVolumeOutputs,
  type PoolOutputs,
} from '../../providers/libvirt/operations.js';
import { libvirtResources, type LibvirtClusterResources } from '../../providers/libvirt/resources.js';
import { planCluster } from '../../src/plan/plan.js';
import { renderCluster } from '../../src/render/node.js';
import { loadTemplates } from '../../src/render/templates.js';
import { validConfig } from '../helpers/configs.js';
import { FAKE_PKI } from '../helpers/fake-pki.js';
import {
  cleanupLibvirtObjects,
  freeTestCidr,
  libvirtRequirement,
  startLibvirtd,
  virshText,
  type LibvirtDaemon,
} from '../helpers/libvirtd.js';
import { describeReal } from '../helpers/real.js';

const GiB = 1024 ** 3;
const RUN_ID = randomBytes(3).toString('hex');
const CLUSTER = `nkdit-${RUN_ID}`;
const DOMAIN_TYPE = 'qemu';

describeReal(`libvirt provider on a real libvirtd (${DOMAIN_TYPE})`, libvirtRequirement, () => {
  let daemon: LibvirtDaemon | undefined;
  let work = '';
  let res: LibvirtClusterResources;
  let uri = '';
  const ignitionText = new Map<string, string>();
  const started = Date.now();
  const outs: {
    pool?: PoolOutputs;
    base?: BaseImageVolumeOutputs;
    volumes: NodeVolumeOutputs[];
    ignition: IgnitionVolumeOutputs[];
    network?: NetworkOutputs;
    domains: DomainOutputs[];
  } = { volumes: [], ignition: [], domains: [] };
  const virsh = (...args: string[]) => virshText(uri, args);
  /** The cluster's resources for `workers` workers (same cluster, network and pool). */
  let resourcesFor: (workers: number) => Promise<LibvirtClusterResources>;

  beforeAll(async () => {
    daemon = await startLibvirtd();
    uri = daemon.uri;
    work = mkdtempSync(join(tmpdir(), `nkd-libvirt-${RUN_ID}-`));
    mkdirSync(join(work, 'logs'));
    const image = join(work, 'base.qcow2');
    await execa('qemu-img', ['create', '-f', 'qcow2', image, '1G']);
    const cidr = await freeTestCidr(uri);
    const fingerprint = await fileFingerprint(image);
    resourcesFor = async (workers) => {
      const plan = planCluster(
        validConfig({
          name: CLUSTER,
          controlPlane: { count: 1, diskGiB: 10 },
          workers: { count: workers, diskGiB: 12 },
          platform: { libvirt: { uri, image, network: { cidr } } },
        }),
      );
      // Below the config schema's floors (kubeadm's needs): blank-disk guests need far less.
      plan.nodes = plan.nodes.map((n) => ({ ...n, cpus: 1, memoryMiB: 256 }));
      const rendered = renderCluster({ plan, pki: FAKE_PKI, templates: loadTemplates() });
      for (const r of rendered) ignitionText.set(r.node.name, r.ignitionText);
      return libvirtResources({
        plan,
        platform: { uri, image },
        rendered,
        poolPath: join(work, 'pool'),
        consoleLogDir: join(work, 'logs'),
        domainType: DOMAIN_TYPE,
        baseImageFingerprint: fingerprint,
      });
    };
    res = await resourcesFor(1);
  });

  afterAll(async () => {
    try {
      if (uri) await cleanupLibvirtObjects(uri, RUN_ID);
    } finally {
      if (work) rmSync(work, { recursive: true, force: true });
      await daemon?.stop();
      console.log(`libvirt integration (${DOMAIN_TYPE}): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  });

  it('creates the pool and uploads the base image', async () => {
    outs.pool = (await poolOperations.create(res.pool)).outs;
    expect(await virsh('pool-dumpxml', res.pool.name)).toContain(`<path>${res.pool.path}</path>`);
    expect(await virsh('pool-info', res.pool.name)).toMatch(/State:\s+running[\s\S]*Autostart:\s+yes/);
    const base = await baseImageVolumeOperations.create(res.baseImage);
    outs.base = base.outs;
    // Named after the image's content: a new image is a new volume (existing disks keep theirs).
    expect(base.id).toBe(`${res.pool.name}/${res.baseImage.name}`);
    expect(res.baseImage.name).toMatch(/^base-image-[0-9a-f]{12}$/);
    expect(base.outs).toMatchObject({
      format: 'qcow2',
      virtualSizeBytes: GiB,
      path: `${res.pool.path}/${res.baseImage.name}`,
    });
    expect(await virsh('vol-info', '--bytes', base.outs.path)).toMatch(
      new RegExp(`Capacity:\\s+${GiB} bytes`),
    );
  });

  it('creates a copy-on-write disk and an Ignition file per node', async () => {
    for (const n of res.nodes) {
      const volume = await nodeVolumeOperations.create({ ...n.volume, baseVolumePath: outs.base!.path });
      outs.volumes.push(volume.outs);
      expect(volume.outs.capacityBytes).toBe(n.node.diskGiB * GiB);
      const volXml = await virsh('vol-dumpxml', volume.outs.path);
      expect(volXml).toMatch(
        new RegExp(`<backingStore>\\s*<path>${outs.base!.path}</path>\\s*<format type='qcow2'/>`),
      );
      const ignition = await ignitionVolumeOperations.create(n.ignition);
      outs.ignition.push(ignition.outs);
      expect(ignition.outs.path).toBe(n.domain.ignitionPath);
      expect(readFileSync(ignition.outs.path, 'utf8')).toBe(ignitionText.get(n.node.name));
      expect(JSON.stringify(ignition.outs)).not.toContain('"content"');
    }
    const tooSmall = {
      ...res.nodes[0]!.volume,
      name: 'too-small.qcow2',
      baseVolumePath: outs.base!.path,
      diskGiB: 0,
    };
    await expect(nodeVolumeOperations.create(tooSmall)).rejects.toThrow(/smaller than the base image/);
  });

  it('creates the NAT network with a static lease and DNS name per node', async () => {
    outs.network = (await networkOperations.create(res.network)).outs;
    const xml = await virsh('net-dumpxml', res.network.name);
    expect(xml).toContain("<forward mode='nat'>");
    expect(xml).toContain(`<bridge name='${res.network.bridge}'`);
    for (const n of res.nodes) {
      expect(xml).toContain(`<host mac='${n.domain.mac}' name='${n.node.name}' ip='${n.node.address}'/>`);
      expect(xml).toMatch(new RegExp(`<host ip='${n.node.address}'>\\s*<hostname>${n.node.name}</hostname>`));
    }
    expect(await virsh('net-info', res.network.name)).toMatch(/Active:\s+yes[\s\S]*Autostart:\s+yes/);
  });

  it('creates and starts the domains with the planned CPUs, memory, disk, MAC and fw_cfg Ignition', async () => {
    for (const n of res.nodes) {
      const domain = await domainOperations.create(n.domain);
      outs.domains.push(domain.outs);
      expect(domain.outs.consoleLogPath).toBe(join(work, 'logs', `${n.domain.name}-console.log`));
      const xml = await virsh('dumpxml', n.domain.name);
      expect(xml).toMatch(new RegExp(`^<domain type='${DOMAIN_TYPE}' id='\\d+'>`));
      expect(xml).toContain(`<memory unit='KiB'>${256 * 1024}</memory>`);
      expect(xml).toContain("<vcpu placement='static'>1</vcpu>");
      expect(xml).toContain(`<entry name='opt/com.coreos/config' file='${n.domain.ignitionPath}'/>`);
      expect(xml).toContain(`<source file='${n.domain.diskPath}'`);
      expect(xml).toContain(`<mac address='${n.domain.mac}'/>`);
      expect(xml).toContain(`<source network='${res.network.name}'`);
      expect((await virsh('domstate', n.domain.name)).trim()).toBe('running');

      const pid = Number(readFileSync(`/var/run/libvirt/qemu/${n.domain.name}.pid`, 'utf8').trim());
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv[argv.indexOf('-fw_cfg') + 1]).toBe(
        `name=opt/com.coreos/config,file=${n.domain.ignitionPath}`,
      );
      expect(argv[argv.indexOf('-accel') + 1]).toBe('tcg');
      expect(existsSync(domain.outs.consoleLogPath)).toBe(true);
    }
  });

  it('diffs: unchanged inputs are no change, memory redefines the domain in place, cidr replaces the network', async () => {
    const none = { changes: false, replaces: [], deleteBeforeReplace: false };
    const n = res.nodes[0]!;
    expect(await poolOperations.diff(res.pool.name, outs.pool!, res.pool)).toEqual(none);
    expect(await baseImageVolumeOperations.diff('', outs.base!, res.baseImage)).toEqual(none);
    const volInputs = { ...n.volume, baseVolumePath: outs.base!.path };
    expect(await nodeVolumeOperations.diff('', outs.volumes[0]!, volInputs)).toEqual(none);
    expect(await ignitionVolumeOperations.diff('', outs.ignition[0]!, n.ignition)).toEqual(none);
    expect(await networkOperations.diff('', outs.network!, res.network)).toEqual(none);
    expect(await domainOperations.diff('', outs.domains[0]!, n.domain)).toEqual(none);

    const memory = await domainOperations.diff('', outs.domains[0]!, { ...n.domain, memoryMiB: 512 });
    expect(memory).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    const cidr = await networkOperations.diff('', outs.network!, { ...res.network, cidr: '10.214.0.0/24' });
    expect(cidr).toEqual({ changes: true, replaces: ['cidr'], deleteBeforeReplace: true });
  });

  it('re-running create adopts what it made (an interrupted deploy resumes)', async () => {
    expect((await poolOperations.create(res.pool)).outs.uuid).toBe(outs.pool!.uuid);
    expect((await networkOperations.create(res.network)).outs.uuid).toBe(outs.network!.uuid);
    expect((await domainOperations.create(res.nodes[0]!.domain)).outs.uuid).toBe(outs.domains[0]!.uuid);
    expect((await virsh('domstate', res.nodes[0]!.domain.name)).trim()).toBe('running');
  });

  it('updates leases and DNS entries in place when a node is added', async () => {
    const extra = {
      name: `${CLUSTER}-worker-9`,
      mac: '52:54:00:00:00:09',
      ip: res.network.hosts[0]!.ip.replace(/\d+$/, '99'),
    };
    const grown = { ...res.network, hosts: [...res.network.hosts, extra] };
    expect((await networkOperations.diff('', outs.network!, grown)).replaces).toEqual([]);
    const updated = await networkOperations.update!('', outs.network!, grown);
    let xml = await virsh('net-dumpxml', res.network.name);
    expect(xml).toContain(`<host mac='${extra.mac}' name='${extra.name}' ip='${extra.ip}'/>`);
    expect(xml).toMatch(new RegExp(`<host ip='${extra.ip}'>\\s*<hostname>${extra.name}</hostname>`));
    outs.network = (await networkOperations.update!('', updated.outs, res.network)).outs;
    xml = await virsh('net-dumpxml', res.network.name);
    expect(xml).not.toContain(extra.mac);
    expect(xml).not.toContain(extra.ip);
  });

  it('adds a worker to the running cluster: same network and pool, existing domains untouched', async () => {
    const grown = await resourcesFor(2);
    expect(grown.pool).toEqual(res.pool);
    expect(grown.nodes.slice(0, 2).map((n) => n.domain)).toEqual(res.nodes.map((n) => n.domain));
    const before = await Promise.all(res.nodes.map((n) => virsh('domid', n.domain.name)));

    expect((await networkOperations.diff('', outs.network!, grown.network)).replaces).toEqual([]);
    outs.network = (await networkOperations.update!('', outs.network!, grown.network)).outs;
    const added = grown.nodes[2]!;
    outs.volumes.push(
      (await nodeVolumeOperations.create({ ...added.volume, baseVolumePath: outs.base!.path })).outs,
    );
    outs.ignition.push((await ignitionVolumeOperations.create(added.ignition)).outs);
    outs.domains.push((await domainOperations.create(added.domain)).outs);

    expect((await virsh('domstate', added.domain.name)).trim()).toBe('running');
    const xml = await virsh('dumpxml', added.domain.name);
    expect(xml).toContain(`<source network='${res.network.name}'`);
    expect(xml).toContain(`<source file='${join(res.pool.path, added.volume.name)}'`);
    expect(await virsh('net-dumpxml', res.network.name)).toContain(
      `<host mac='${added.domain.mac}' name='${added.node.name}' ip='${added.node.address}'/>`,
    );
    // Existing domains kept running, never restarted (same domain id), same definition.
    expect(await Promise.all(res.nodes.map((n) => virsh('domid', n.domain.name)))).toEqual(before);
    for (const [i, n] of res.nodes.entries()) {
      expect(await domainOperations.diff('', outs.domains[i]!, n.domain)).toEqual({
        changes: false,
        replaces: [],
        deleteBeforeReplace: false,
      });
    }
  });

  it('deletes everything in reverse order, leaving nothing behind, and tolerates a second delete', async () => {
    for (const d of outs.domains) await domainOperations.delete(d.name, d);
    // With the domain gone the disk is unlocked and can grow in place.
    const v = outs.volumes[0]!;
    const grown = await nodeVolumeOperations.update!('', v, { ...v, diskGiB: v.diskGiB + 1 });
    expect(await virsh('vol-info', '--bytes', v.path)).toMatch(
      new RegExp(`Capacity:\\s+${(v.diskGiB + 1) * GiB} bytes`),
    );
    expect(grown.outs.capacityBytes).toBe((v.diskGiB + 1) * GiB);
    await networkOperations.delete(outs.network!.name, outs.network!);
    for (const i of outs.ignition) await ignitionVolumeOperations.delete('', i);
    for (const vol of outs.volumes) await nodeVolumeOperations.delete('', vol);
    await baseImageVolumeOperations.delete('', outs.base!);
    await poolOperations.delete(outs.pool!.name, outs.pool!);

    expect(await virsh('list', '--all', '--name')).not.toContain(RUN_ID);
    expect(await virsh('net-list', '--all', '--name')).not.toContain(RUN_ID);
    expect(await virsh('pool-list', '--all', '--name')).not.toContain(RUN_ID);
    expect(existsSync(res.pool.path)).toBe(false);

    for (const d of outs.domains) await domainOperations.delete(d.name, d);
    await networkOperations.delete('', outs.network!);
    await ignitionVolumeOperations.delete('', outs.ignition[0]!);
    await nodeVolumeOperations.delete('', outs.volumes[0]!);
    await poolOperations.delete('', outs.pool!);
  });
});
