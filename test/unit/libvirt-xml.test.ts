// The libvirt provider's pure parts: XML builders, names, resource planning and diff. Golden files pin
// each XML kind; refresh deliberately with:
//   UPDATE_GOLDEN=1 npx vitest run test/unit/libvirt-xml.test.ts
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import {
  baseImageVolumeDefinition,
  domainDefinition,
  ignitionVolumeDefinition,
  networkDefinition,
  nodeVolumeDefinition,
  poolDefinition,
} from '../../providers/libvirt/definitions.js';
import {
  bridgeName,
  domainName,
  macAddress,
  macAddresses,
  objectUuid,
} from '../../providers/libvirt/names.js';
import {
  domainOperations,
  ignitionVolumeOperations,
  networkOperations,
  nodeVolumeOperations,
  poolOperations,
} from '../../providers/libvirt/operations.js';
import { libvirtResources } from '../../providers/libvirt/resources.js';
import { domainXml, escapeXml, IGNITION_FW_CFG_KEY, networkXml } from '../../providers/libvirt/xml.js';
import { planCluster } from '../../src/plan/plan.js';
import { validConfig } from '../helpers/configs.js';
import { xmlValidatorAvailable } from '../helpers/libvirtd.js';

const GOLDEN_DIR = join(import.meta.dirname, '..', 'golden', 'libvirt');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const GiB = 1024 ** 3;

function fixture() {
  const plan = planCluster(validConfig({ controlPlane: { count: 1 }, workers: { count: 1 } }));
  const rendered = plan.nodes.map((node) => ({
    node,
    ignitionText: `{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/etc/hostname","x":"${node.name}"}]}}`,
  }));
  return libvirtResources({
    plan,
    platform: { uri: 'qemu:///system', image: '/srv/nestos.qcow2' },
    rendered,
  });
}

const res = fixture();
const [cp, worker] = res.nodes;
if (!cp || !worker) throw new Error('fixture needs two nodes');

/** Every XML kind, exactly as the operations hand it to libvirt, with the validator's schema name. */
const XMLS: Array<[file: string, schema: 'storagepool' | 'storagevol' | 'network' | 'domain', xml: string]> =
  [
    ['pool.xml', 'storagepool', poolDefinition(res.pool)],
    ['base-volume.xml', 'storagevol', baseImageVolumeDefinition(res.baseImage, 1_234_567)],
    ['node-volume.xml', 'storagevol', nodeVolumeDefinition(cp.volume)],
    ['ignition-volume.xml', 'storagevol', ignitionVolumeDefinition(cp.ignition, { uid: 64055, gid: 994 })],
    ['network.xml', 'network', networkDefinition(res.network)],
    ['domain.xml', 'domain', domainDefinition(cp.domain)],
    ['domain-tcg.xml', 'domain', domainDefinition({ ...worker.domain, type: 'qemu' })],
  ];

describe('libvirt XML builders', () => {
  it('are deterministic', () => {
    const again = fixture();
    expect(networkDefinition(again.network)).toBe(networkDefinition(res.network));
    expect(domainDefinition(again.nodes[0]!.domain)).toBe(domainDefinition(cp.domain));
    expect(again).toEqual(res);
  });

  it('derive names, MACs, bridge and UUIDs from the cluster and node names', () => {
    expect(res.pool).toMatchObject({ name: 'nkd-demo', path: '/var/lib/libvirt/images/nkd-demo' });
    expect(res.network.name).toBe('nkd-demo');
    expect(res.network.bridge).toMatch(/^nkd[0-9a-f]{8}$/);
    expect(bridgeName('nkd-a-very-long-cluster-name-indeed').length).toBeLessThanOrEqual(15);
    expect(cp.domain.name).toBe('demo-cp-1');
    expect(domainName('demo', 'fixed-host')).toBe('demo-fixed-host');
    expect(cp.domain.mac).toBe(macAddress('demo', 'demo-cp-1'));
    expect(cp.domain.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(macAddress('demo', 'demo-cp-1')).not.toBe(macAddress('other', 'demo-cp-1'));
    const many = macAddresses(
      'big',
      Array.from({ length: 2000 }, (_, i) => `n${i}`),
    );
    expect(new Set(many.values()).size).toBe(2000);
    expect(objectUuid('domain', 'x')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(objectUuid('domain', 'x')).not.toBe(objectUuid('network', 'x'));
  });

  it('put every node in the network: static lease, DNS name, no dynamic range', () => {
    const xml = networkDefinition(res.network);
    expect(xml).toContain("<forward mode='nat'/>");
    expect(xml).toContain("<ip address='192.168.132.1' netmask='255.255.255.0'>");
    for (const n of res.nodes) {
      expect(xml).toContain(`<host mac='${n.domain.mac}' name='${n.node.name}' ip='${n.node.address}'/>`);
      expect(xml).toMatch(new RegExp(`<host ip='${n.node.address}'>\\s*<hostname>${n.node.name}</hostname>`));
    }
    expect(xml).not.toContain('<range');
    expect(networkXml({ ...res.network, cidr: '10.1.0.0/16', gateway: '10.1.0.1' })).toContain(
      "netmask='255.255.0.0'",
    );
  });

  it('give the domain its planned CPUs, memory, disk, MAC, console log and fw_cfg Ignition', () => {
    const xml = domainDefinition(cp.domain);
    expect(xml).toMatch(/^<domain type='kvm'>/);
    expect(xml).toContain(`<memory unit='MiB'>${cp.node.memoryMiB}</memory>`);
    expect(xml).toContain(`<vcpu placement='static'>${cp.node.cpus}</vcpu>`);
    expect(xml).toContain(
      `<entry name='${IGNITION_FW_CFG_KEY}' file='/var/lib/libvirt/images/nkd-demo/demo-cp-1.ign'/>`,
    );
    expect(xml).toContain("<source file='/var/lib/libvirt/images/nkd-demo/demo-cp-1.qcow2'/>");
    expect(xml).toContain("<target dev='vda' bus='virtio'/>");
    expect(xml).toContain(`<mac address='${cp.domain.mac}'/>`);
    expect(xml).toContain("<source network='nkd-demo'/>");
    expect(xml).toContain("<log file='/var/log/libvirt/qemu/demo-cp-1-console.log' append='on'/>");
    expect(xml).toContain("<cpu mode='host-passthrough' check='none'/>");
    // libvirt 9.0 refuses to start a domain with smbios mode=sysinfo but no smbios sysinfo.
    expect(xml).not.toContain('smbios');
    const tcg = domainDefinition({ ...cp.domain, type: 'qemu' });
    expect(tcg).toMatch(/^<domain type='qemu'>/);
    expect(tcg).not.toContain('<cpu');
  });

  it('size the node disk as planned, as an overlay of the base image', () => {
    const xml = nodeVolumeDefinition(cp.volume);
    expect(xml).toContain(`<capacity unit='bytes'>${cp.node.diskGiB * GiB}</capacity>`);
    expect(xml).toMatch(
      /<backingStore>\s*<path>\/var\/lib\/libvirt\/images\/nkd-demo\/base-image<\/path>\s*<format type='qcow2'\/>/,
    );
    const ign = ignitionVolumeDefinition(cp.ignition, { uid: 7, gid: 8 });
    expect(ign).toContain(`<capacity unit='bytes'>${Buffer.byteLength(cp.ignition.content)}</capacity>`);
    expect(ign).toMatch(/<mode>0600<\/mode>\s*<owner>7<\/owner>\s*<group>8<\/group>/);
  });

  it('escape names and paths, and refuse what XML cannot carry', () => {
    expect(escapeXml(`a&b<c>'d"`)).toBe('a&amp;b&lt;c&gt;&apos;d&quot;');
    const xml = domainXml({
      ...cp.domain,
      name: "odd<&'>",
      disk: { path: "/x/it's & <it>.qcow2", format: 'qcow2' },
      network: { name: 'n', mac: cp.domain.mac },
    });
    expect(xml).toContain('<name>odd&lt;&amp;&apos;&gt;</name>');
    expect(xml).toContain("<source file='/x/it&apos;s &amp; &lt;it&gt;.qcow2'/>");
    expect(() => escapeXml('bell\u0007')).toThrow(/control character/);
    expect(() => networkXml({ ...res.network, bridge: 'a-bridge-name-too-long' })).toThrow(/15 characters/);
    expect(() => domainXml({ ...domainXmlBase(), memoryMiB: 0 })).toThrow(/memoryMiB/);
  });
});

function domainXmlBase() {
  return {
    ...cp!.domain,
    disk: { path: cp!.domain.diskPath, format: 'qcow2' as const },
    network: { name: cp!.domain.networkName, mac: cp!.domain.mac },
  };
}

describe('libvirt diff', () => {
  const replaced = (replaces: string[]) => ({ changes: true, replaces, deleteBeforeReplace: true });
  const unchanged = { changes: false, replaces: [], deleteBeforeReplace: false };

  it('reports nothing for unchanged inputs', async () => {
    const poolOuts = { ...res.pool, uuid: 'u' };
    expect(await poolOperations.diff('x', poolOuts, res.pool)).toEqual(unchanged);
    const netOuts = { ...res.network, uuid: 'u' };
    expect(await networkOperations.diff('x', netOuts, res.network)).toEqual(unchanged);
    const domOuts = { ...cp.domain, uuid: 'u' };
    expect(await domainOperations.diff('x', domOuts, cp.domain)).toEqual(unchanged);
  });

  it('replaces on immutable inputs, updates in place what can grow or be redefined', async () => {
    const netOuts = { ...res.network, uuid: 'u' };
    expect(await networkOperations.diff('x', netOuts, { ...res.network, cidr: '10.9.0.0/24' })).toEqual(
      replaced(['cidr']),
    );
    const fewer = { ...res.network, hosts: res.network.hosts.slice(0, 1) };
    expect(await networkOperations.diff('x', netOuts, fewer)).toEqual({ ...unchanged, changes: true });
    const domOuts = { ...cp.domain, uuid: 'u' };
    // A domain is redefined in place (taking effect at its next power cycle), never replaced for this.
    expect(await domainOperations.diff('x', domOuts, { ...cp.domain, memoryMiB: 8192 })).toEqual({
      ...unchanged,
      changes: true,
    });
    expect(await domainOperations.diff('x', domOuts, { ...cp.domain, type: 'qemu' })).toEqual({
      ...unchanged,
      changes: true,
    });
    expect(await domainOperations.diff('x', domOuts, { ...cp.domain, name: 'other' })).toEqual(
      replaced(['name']),
    );
    const volOuts = { ...cp.volume, path: 'p', capacityBytes: cp.volume.diskGiB * GiB };
    const grow = { ...cp.volume, diskGiB: cp.volume.diskGiB + 10 };
    expect(await nodeVolumeOperations.diff('x', volOuts, grow)).toEqual({ ...unchanged, changes: true });
    const shrink = { ...cp.volume, diskGiB: cp.volume.diskGiB - 1 };
    expect(await nodeVolumeOperations.diff('x', volOuts, shrink)).toEqual(replaced(['diskGiB']));
    // A disk keeps the base image it was made from: a new base image is for new nodes only.
    expect(await nodeVolumeOperations.diff('x', volOuts, { ...cp.volume, baseVolumePath: '/b' })).toEqual(
      unchanged,
    );
    expect(await poolOperations.diff('x', { ...res.pool, uuid: 'u' }, { ...res.pool, path: '/p' })).toEqual(
      replaced(['path']),
    );
  });

  it('rewrites the Ignition volume in place when the content changes, without keeping the content in outputs', async () => {
    const { createHash } = await import('node:crypto');
    const sha256 = createHash('sha256').update(cp.ignition.content).digest('hex');
    const outs = {
      uri: cp.ignition.uri,
      pool: cp.ignition.pool,
      name: cp.ignition.name,
      path: 'p',
      sha256,
      sizeBytes: 1,
    };
    expect(await ignitionVolumeOperations.diff('x', outs, cp.ignition)).toEqual(unchanged);
    expect(await ignitionVolumeOperations.diff('x', outs, { ...cp.ignition, content: '{}' })).toEqual({
      ...unchanged,
      changes: true,
    });
    expect(await ignitionVolumeOperations.diff('x', outs, { ...cp.ignition, name: 'n' })).toEqual(
      replaced(['name']),
    );
  });
});

describe('libvirt XML golden files and schemas', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'nkd-libvirt-xml-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  if (UPDATE) mkdirSync(GOLDEN_DIR, { recursive: true });

  it.each(XMLS)('%s matches its golden file', (file, _schema, xml) => {
    const path = join(GOLDEN_DIR, file);
    if (UPDATE) writeFileSync(path, xml);
    expect(existsSync(path), `missing golden file ${path}; run with UPDATE_GOLDEN=1`).toBe(true);
    expect(xml).toBe(readFileSync(path, 'utf8'));
  });

  it.skipIf(!xmlValidatorAvailable()).each(XMLS)('%s passes virt-xml-validate', async (file, schema, xml) => {
    const path = join(scratch, file);
    writeFileSync(path, xml);
    const r = await execa('virt-xml-validate', [path, schema], { reject: false, all: true });
    expect(r.exitCode, r.all).toBe(0);
  });
});
