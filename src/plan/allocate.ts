// Pure node naming and address allocation. Shared by validation (to report conflicts with the exact
// key that causes them) and by the planner (to build the plan), so both always agree.
import type { ClusterConfig, NodeGroupConfig } from '../config/schema.js';
import { error, type Problem } from '../config/problems.js';
import { formatIpv4, isAssignable, parseIpv4, type Cidr } from '../lib/ipv4.js';

export type NodeRole = 'control-plane' | 'worker';

export interface AllocatedNode {
  role: NodeRole;
  /** 1-based position inside its role group. */
  index: number;
  hostname: string;
  address: string;
}

export interface NodeNetwork {
  cidr: Cidr;
  gateway: number;
  /** Key path of the platform network in the config, for error messages. */
  path: readonly string[];
  /** Ranges the platform keeps for itself (e.g. Neutron's allocation pool): never a node address. */
  reserved?: readonly Reserved[];
}

export interface Reserved {
  first: number;
  last: number;
  why: string;
}

/** The platform's reserved ranges as numbers; malformed entries are the platform check's to report. */
export function reservedRanges(
  reserved: readonly { first: string; last: string; why: string }[] | undefined,
): Reserved[] {
  const out: Reserved[] = [];
  for (const r of reserved ?? []) {
    const first = parseIpv4(r.first);
    const last = parseIpv4(r.last);
    if (first !== undefined && last !== undefined) out.push({ first, last, why: r.why });
  }
  return out;
}

function reservation(network: NodeNetwork, address: number): Reserved | undefined {
  return network.reserved?.find((r) => r.first <= address && address <= r.last);
}

interface GroupRef {
  role: NodeRole;
  key: 'controlPlane' | 'workers';
  prefix: string;
  group: NodeGroupConfig;
}

function groups(config: ClusterConfig): GroupRef[] {
  const name = config.metadata.name;
  return [
    { role: 'control-plane', key: 'controlPlane', prefix: `${name}-cp-`, group: config.spec.controlPlane },
    { role: 'worker', key: 'workers', prefix: `${name}-worker-`, group: config.spec.workers },
  ];
}

/** Addresses fixed through `hosts`, so automatic allocation skips them. */
function fixedAddresses(refs: GroupRef[]): Set<number> {
  const fixed = new Set<number>();
  for (const ref of refs) {
    for (const host of ref.group.hosts) {
      const value = host.ip === undefined ? undefined : parseIpv4(host.ip);
      if (value !== undefined) fixed.add(value);
    }
  }
  return fixed;
}

export function allocateNodes(
  config: ClusterConfig,
  network: NodeNetwork,
): { nodes: AllocatedNode[]; problems: Problem[] } {
  const refs = groups(config);
  const fixed = fixedAddresses(refs);
  const nodes: AllocatedNode[] = [];
  const problems: Problem[] = [];
  const hostnameOwner = new Map<string, string>();
  const addressOwner = new Map<number, string>();
  let cursor = network.cidr.network;
  const end = network.cidr.network + network.cidr.size;

  const nextFree = (): number | undefined => {
    while (
      cursor < end &&
      (!isAssignable(network.cidr, network.gateway, cursor) ||
        fixed.has(cursor) ||
        reservation(network, cursor) !== undefined)
    )
      cursor++;
    return cursor < end ? cursor++ : undefined;
  };

  for (const ref of refs) {
    const base = ['spec', ref.key];
    if (ref.group.hosts.length > ref.group.count) {
      problems.push(
        error(
          [...base, 'hosts'],
          `lists ${ref.group.hosts.length} hosts but ${ref.key}.count is ${ref.group.count}`,
        ),
      );
    }
    for (let i = 0; i < ref.group.count; i++) {
      const host = ref.group.hosts[i];
      const hostPath = [...base, 'hosts', i];
      const hostname = host?.hostname ?? `${ref.prefix}${i + 1}`;
      const where =
        host?.hostname !== undefined ? `${ref.key}.hosts[${i}]` : `generated ${ref.key} node ${i + 1}`;
      const takenBy = hostnameOwner.get(hostname);
      if (takenBy !== undefined) {
        problems.push(
          error(
            host?.hostname !== undefined ? [...hostPath, 'hostname'] : [...base, 'count'],
            `hostname "${hostname}" of ${where} is already used by ${takenBy}`,
          ),
        );
      }
      hostnameOwner.set(hostname, where);

      let address: number | undefined;
      if (host?.ip !== undefined) {
        address = parseIpv4(host.ip);
        if (address === undefined) {
          problems.push(error([...hostPath, 'ip'], `"${host.ip}" is not an IPv4 address`));
        } else if (!isAssignable(network.cidr, network.gateway, address)) {
          problems.push(
            error(
              [...hostPath, 'ip'],
              `${host.ip} cannot be a node address: ${whyNotAssignable(network, address)}`,
            ),
          );
        } else if (reservation(network, address) !== undefined) {
          problems.push(
            error(
              [...hostPath, 'ip'],
              `${host.ip} cannot be a node address: ${reservation(network, address)!.why}`,
            ),
          );
        } else if (addressOwner.has(address)) {
          problems.push(
            error([...hostPath, 'ip'], `${host.ip} is already used by ${addressOwner.get(address)}`),
          );
        }
      } else {
        address = nextFree();
        if (address === undefined) {
          problems.push(
            error(
              [...network.path, 'cidr'],
              `has no free address left for ${hostname}: the cluster needs ${totalNodes(config)} node addresses${network.reserved?.length ? ' outside the reserved ranges' : ''}`,
            ),
          );
          return { nodes, problems };
        }
      }
      if (address !== undefined) {
        addressOwner.set(address, hostname);
        nodes.push({ role: ref.role, index: i + 1, hostname, address: formatIpv4(address) });
      }
    }
  }
  return { nodes, problems };
}

function whyNotAssignable(network: NodeNetwork, address: number): string {
  const { cidr, gateway } = network;
  if (address < cidr.network || address >= cidr.network + cidr.size)
    return `outside the node network ${formatIpv4(cidr.network)}/${cidr.prefix}`;
  if (address === gateway) return 'it is the gateway';
  if (address === cidr.network) return 'it is the network address';
  return 'it is the broadcast address';
}

export function totalNodes(config: ClusterConfig): number {
  return config.spec.controlPlane.count + config.spec.workers.count;
}
