// The cluster's NAT network and the node domains.
import { domainDefinition, networkDefinition } from './definitions.js';
import { assertOwned, diffKeys, gone, orUndo, tolerate } from './diff.js';
import { objectUuid } from './names.js';
import type {
  DomainInputs,
  DomainOutputs,
  LibvirtOperations,
  NetworkInputs,
  NetworkOutputs,
} from './types.js';
import { defineXml, dumpXml, isActive, isNotActive, isNotFound, virsh, xmlText } from './virsh.js';
import { dhcpHostXml, dnsHostXml } from './xml.js';

/**
 * Defines `xml` (or adopts our own object of that name: a redefinition, since the UUID is ours), then
 * starts it if it is not running. A create that fails to start what it just defined undefines it again.
 */
async function defineAndStart(
  uri: string,
  kind: 'network' | 'domain',
  name: string,
  uuid: string,
  xml: string,
): Promise<void> {
  const existing = await dumpXml(uri, kind, name);
  if (existing !== undefined) assertOwned(kind, name, existing, uuid);
  await defineXml(uri, kind, xml);
  if (await isActive(uri, kind, name)) return;
  const undefine = kind === 'network' ? 'net-undefine' : 'undefine';
  await orUndo(
    () => virsh(uri, [kind === 'network' ? 'net-start' : 'start', name]),
    () => (existing === undefined ? virsh(uri, [undefine, name]) : Promise.resolve()),
  );
}

/** Static leases and DNS entries grouped by address, as the network XML lists them. */
function dnsEntries(inputs: Pick<NetworkInputs, 'hosts' | 'extraDnsHosts'>): Map<string, string[]> {
  const dns = new Map<string, string[]>();
  for (const h of inputs.hosts) dns.set(h.ip, [...(dns.get(h.ip) ?? []), h.name]);
  for (const e of inputs.extraDnsHosts ?? []) dns.set(e.ip, [...(dns.get(e.ip) ?? []), ...e.hostnames]);
  return dns;
}

/**
 * NAT network: define, start, autostart. An existing network of the same name is adopted only when it
 * carries our UUID (an interrupted create), and is then redefined with the planned content. Adding or
 * removing nodes updates the leases and DNS entries in place (`net-update`, live and persistent): a
 * replacement would cut every running node off its bridge.
 */
export const networkOperations: LibvirtOperations<NetworkInputs, NetworkOutputs> = {
  async create(inputs) {
    const uuid = objectUuid('network', inputs.name);
    await defineAndStart(inputs.uri, 'network', inputs.name, uuid, networkDefinition(inputs));
    await virsh(inputs.uri, ['net-autostart', inputs.name]);
    return { id: inputs.name, outs: { ...inputs, uuid } };
  },

  async diff(_id, olds, news) {
    const fixed = ['uri', 'name', 'bridge', 'cidr', 'gateway'] as const;
    return diffKeys(olds, news, [...fixed, 'hosts', 'extraDnsHosts'], fixed);
  },

  async update(_id, olds, news) {
    const { uri, name } = news;
    const scope = (await isActive(uri, 'network', name)) ? ['--live', '--config'] : ['--config'];
    const update = (command: 'add' | 'delete', section: string, xml: string) =>
      virsh(uri, ['net-update', name, command, section, xml, ...scope]);

    const key = (h: unknown) => JSON.stringify(h);
    const newHosts = new Set(news.hosts.map(key));
    const oldHosts = new Set(olds.hosts.map(key));
    const oldDns = dnsEntries(olds);
    const newDns = dnsEntries(news);
    // Deletions first, so an address or MAC moving between nodes is free again before it is added.
    for (const [ip, names] of oldDns) {
      if (key(newDns.get(ip) ?? null) !== key(names))
        await update('delete', 'dns-host', dnsHostXml(ip, names));
    }
    for (const h of olds.hosts) {
      if (!newHosts.has(key(h))) await update('delete', 'ip-dhcp-host', dhcpHostXml(h));
    }
    for (const h of news.hosts) {
      if (!oldHosts.has(key(h))) await update('add', 'ip-dhcp-host', dhcpHostXml(h));
    }
    for (const [ip, names] of newDns) {
      if (key(oldDns.get(ip) ?? null) !== key(names)) await update('add', 'dns-host', dnsHostXml(ip, names));
    }
    return { outs: { ...news, uuid: olds.uuid } };
  },

  async delete(_id, props) {
    const { uri, name } = props;
    await tolerate(virsh(uri, ['net-destroy', name]), (e) => isNotActive(e) || isNotFound(e));
    await tolerate(virsh(uri, ['net-undefine', name]), isNotFound);
  },

  async read(id, props) {
    const xml = await dumpXml(props.uri, 'network', props.name);
    return xml === undefined ? gone() : { id, props: { ...props, uuid: xmlText(xml, 'uuid') ?? props.uuid } };
  },
};

/**
 * Domain: define and start. Only a new name or connection replaces it. Any other change (memory,
 * vCPUs, domain type) redefines it in place: the running guest keeps what it booted with and takes the
 * new definition at its next power cycle, so no edit ever power-cycles a node behind the user's back,
 * and a control-plane domain (protected) never needs replacing.
 */
export const domainOperations: LibvirtOperations<DomainInputs, DomainOutputs> = {
  async create(inputs) {
    const uuid = objectUuid('domain', inputs.name);
    await defineAndStart(inputs.uri, 'domain', inputs.name, uuid, domainDefinition(inputs));
    return { id: inputs.name, outs: { ...inputs, uuid } };
  },

  async diff(_id, olds, news) {
    const keys = [
      'uri',
      'name',
      'type',
      'memoryMiB',
      'vcpus',
      'diskPath',
      'diskFormat',
      'networkName',
      'mac',
      'ignitionPath',
      'consoleLogPath',
    ] as const;
    return diffKeys(olds, news, keys, ['uri', 'name']);
  },

  async update(_id, olds, news) {
    await defineXml(news.uri, 'domain', domainDefinition(news));
    return { outs: { ...news, uuid: olds.uuid } };
  },

  async read(id, props) {
    const xml = await dumpXml(props.uri, 'domain', props.name);
    return xml === undefined ? gone() : { id, props: { ...props, uuid: xmlText(xml, 'uuid') ?? props.uuid } };
  },

  /** Powers the domain off (no graceful shutdown: it is being deleted) and undefines it; disks stay. */
  async delete(_id, props) {
    const { uri, name } = props;
    await tolerate(virsh(uri, ['destroy', name]), (e) => isNotActive(e) || isNotFound(e));
    await tolerate(virsh(uri, ['undefine', name]), isNotFound);
  },
};
