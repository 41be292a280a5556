// Pure, deterministic builders for the libvirt XML nkd defines: a dir storage pool, volumes (the base
// image, a qcow2 copy-on-write overlay per node, a raw file holding each node's Ignition), a NAT network
// with static DHCP leases and DNS host entries, and the domain. Same input, same bytes: no clock, no
// randomness, attributes in a fixed order, every value escaped. Each output passes
// `virt-xml-validate FILE pool|vol|network|domain` (checked by test/unit/libvirt-xml.test.ts).
import { formatIpv4, isCidr, parseCidr, parseIpv4 } from '../../src/lib/ipv4.js';
import { el, renderXml, textEl } from './xml-writer.js';

export { escapeXml, renderXml, type XmlElement } from './xml-writer.js';
export * from './domain-xml.js';

// ---------------------------------------------------------------------------------------------------
// Storage

export interface PoolXmlInput {
  name: string;
  /** Directory on the libvirt host holding the cluster's volumes. */
  path: string;
  uuid?: string;
}

/** A dir pool: traversable but not listable by others (0711), like libvirt's default pool. */
export function poolXml(input: PoolXmlInput): string {
  return renderXml(
    el(
      'pool',
      [['type', 'dir']],
      [
        textEl('name', input.name),
        input.uuid !== undefined && textEl('uuid', input.uuid),
        el('target', [], [textEl('path', input.path), el('permissions', [], [textEl('mode', '0711')])]),
      ],
    ),
  );
}

export type VolumeFormat = 'raw' | 'qcow2';

export interface VolumePermissions {
  /** Octal text, e.g. '0600'. */
  mode: string;
  owner?: number;
  group?: number;
}

export interface VolumeXmlInput {
  name: string;
  capacityBytes: number;
  /** Bytes to allocate up front; 0 keeps the file sparse. Default 0. */
  allocationBytes?: number;
  format: VolumeFormat;
  permissions?: VolumePermissions;
  /** Makes the volume a copy-on-write overlay of this image. */
  backingStore?: { path: string; format: VolumeFormat };
}

export function volumeXml(input: VolumeXmlInput): string {
  assertByteCount('capacity', input.capacityBytes);
  const allocation = input.allocationBytes ?? 0;
  assertByteCount('allocation', allocation);
  const perms = input.permissions;
  return renderXml(
    el(
      'volume',
      [['type', 'file']],
      [
        textEl('name', input.name),
        textEl('allocation', allocation, [['unit', 'bytes']]),
        textEl('capacity', input.capacityBytes, [['unit', 'bytes']]),
        el(
          'target',
          [],
          [
            el('format', [['type', input.format]]),
            perms &&
              el(
                'permissions',
                [],
                [
                  textEl('mode', perms.mode),
                  perms.owner !== undefined && textEl('owner', perms.owner),
                  perms.group !== undefined && textEl('group', perms.group),
                ],
              ),
          ],
        ),
        input.backingStore &&
          el(
            'backingStore',
            [],
            [textEl('path', input.backingStore.path), el('format', [['type', input.backingStore.format]])],
          ),
      ],
    ),
  );
}

function assertByteCount(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`volume ${what} must be a whole number of bytes`);
}

// ---------------------------------------------------------------------------------------------------
// Network

export interface NetworkHost {
  /** Hostname handed out by DHCP and resolvable through the network's DNS. */
  name: string;
  mac: string;
  ip: string;
}

export interface NetworkXmlInput {
  name: string;
  uuid?: string;
  /** Linux bridge device, at most 15 characters. */
  bridge: string;
  cidr: string;
  gateway: string;
  hosts: readonly NetworkHost[];
  /** Further DNS names (e.g. the API endpoint name) resolving to an address. */
  extraDnsHosts?: ReadonlyArray<{ ip: string; hostnames: readonly string[] }>;
}

export function netmaskOf(prefix: number): string {
  return formatIpv4(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

/**
 * A NAT network whose DHCP server hands out only the planned static leases (no dynamic range, so
 * nothing else can take a node's address), and whose DNS resolves every node name.
 */
export function networkXml(input: NetworkXmlInput): string {
  const cidr = parseCidr(input.cidr);
  if (!isCidr(cidr)) throw new Error(cidr.error);
  if (parseIpv4(input.gateway) === undefined) throw new Error(`gateway "${input.gateway}" is not IPv4`);
  if (input.bridge.length > 15) throw new Error(`bridge name "${input.bridge}" is longer than 15 characters`);
  const dns = new Map<string, string[]>();
  for (const h of input.hosts) dns.set(h.ip, [...(dns.get(h.ip) ?? []), h.name]);
  for (const extra of input.extraDnsHosts ?? [])
    dns.set(extra.ip, [...(dns.get(extra.ip) ?? []), ...extra.hostnames]);
  return renderXml(
    el(
      'network',
      [],
      [
        textEl('name', input.name),
        input.uuid !== undefined && textEl('uuid', input.uuid),
        el('forward', [['mode', 'nat']]),
        el('bridge', [
          ['name', input.bridge],
          ['stp', 'on'],
          ['delay', '0'],
        ]),
        dns.size > 0 &&
          el(
            'dns',
            [],
            [...dns].map(([ip, names]) =>
              el(
                'host',
                [['ip', ip]],
                names.map((n) => textEl('hostname', n)),
              ),
            ),
          ),
        el(
          'ip',
          [
            ['address', input.gateway],
            ['netmask', netmaskOf(cidr.prefix)],
          ],
          [
            input.hosts.length > 0 &&
              el(
                'dhcp',
                [],
                input.hosts.map((h) =>
                  el('host', [
                    ['mac', h.mac],
                    ['name', h.name],
                    ['ip', h.ip],
                  ]),
                ),
              ),
          ],
        ),
      ],
    ),
  );
}

/** One `<host>` of the DHCP section, as `virsh net-update ... ip-dhcp-host` takes it. */
export function dhcpHostXml(host: NetworkHost): string {
  return renderXml(
    el('host', [
      ['mac', host.mac],
      ['name', host.name],
      ['ip', host.ip],
    ]),
  ).trim();
}

/** One `<host>` of the DNS section, as `virsh net-update ... dns-host` takes it. */
export function dnsHostXml(ip: string, hostnames: readonly string[]): string {
  return renderXml(
    el(
      'host',
      [['ip', ip]],
      hostnames.map((n) => textEl('hostname', n)),
    ),
  )
    .replace(/\n\s*/g, '')
    .trim();
}
