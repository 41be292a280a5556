// Pure: how the node network is split between nkd and Neutron. nkd gives every node a fixed address
// and, with an Octavia endpoint, the load balancer one too; Neutron gives its own ports (DHCP, OVN
// metadata, router interfaces made later, Octavia amphorae) the first free address of the subnet's
// allocation pools. Without pools that is the first host after the gateway: exactly the address nkd
// plans for control plane 1. So a network nkd creates gets a pool that covers only the upper part of
// the cidr, and nodes are planned below it.
import { broadcastAddress, formatIpv4, isCidr, parseCidr, parseIpv4 } from '../../src/lib/ipv4.js';
import type { NodeNetworkConfig } from '../types.js';
import { defaultVirtualRouterId } from '../vip.js';
import type { OpenStackConfig } from './config.js';

export interface Range {
  first: number;
  last: number;
}

/** The default pool: the upper half of the cidr, up to the last host (e.g. .128-.254 of a /24). */
export function defaultAllocationPool(cidrText: string): Range | undefined {
  const cidr = parseCidr(cidrText);
  if (!isCidr(cidr) || cidr.prefix > 30) return undefined;
  return { first: cidr.network + cidr.size / 2, last: broadcastAddress(cidr) - 1 };
}

/** The pool Neutron hands out from on a network nkd creates; undefined for an existing network. */
export function allocationPool(config: OpenStackConfig): Range | undefined {
  if (config.network.name !== undefined) return undefined;
  const set = config.network.allocationPool;
  if (set === undefined) return defaultAllocationPool(config.network.cidr);
  const first = parseIpv4(set.start);
  const last = parseIpv4(set.end);
  return first === undefined || last === undefined ? undefined : { first, last };
}

/**
 * The API's own fixed address (the load balancer's, or the keepalived VIP's): `apiEndpoint.address`,
 * else the last address below the default pool (the top of nkd's node range, which the planner fills
 * from the bottom).
 */
export function apiEndpointAddress(config: OpenStackConfig): string | undefined {
  if (config.apiEndpoint.type === 'first-control-plane') return undefined;
  if (config.apiEndpoint.address !== undefined) return config.apiEndpoint.address;
  const pool = allocationPool(config) ?? defaultAllocationPool(config.network.cidr);
  return pool === undefined ? undefined : formatIpv4(pool.first - 1);
}

/** The Octavia load balancer's address, when the endpoint is one. */
export function apiLoadBalancerAddress(config: OpenStackConfig): string | undefined {
  return config.apiEndpoint.type === 'octavia' ? apiEndpointAddress(config) : undefined;
}

/** The keepalived VIP's address, when the endpoint is one. */
export function apiVipAddress(config: OpenStackConfig): string | undefined {
  return config.apiEndpoint.type === 'vip' ? apiEndpointAddress(config) : undefined;
}

const where = ['spec', 'platform', 'openstack'];

/** The node network as the planner sees it: what nodes may not take, and the API's own address. */
export function openstackNodeNetwork(config: OpenStackConfig): NodeNetworkConfig {
  const reserved: NonNullable<NodeNetworkConfig['reserved']> = [];
  const pool = allocationPool(config);
  if (pool !== undefined) {
    reserved.push({
      first: formatIpv4(pool.first),
      last: formatIpv4(pool.last),
      why: `it is in Neutron's allocation pool ${formatIpv4(pool.first)}-${formatIpv4(pool.last)}, where Neutron places its own DHCP and metadata ports`,
      path: [...where, 'network', 'allocationPool'],
    });
  }
  const api = apiEndpointAddress(config);
  if (api !== undefined) {
    reserved.push({
      first: api,
      last: api,
      why: config.apiEndpoint.type === 'vip' ? 'it is the API VIP' : 'it is the API load balancer address',
      path: [...where, 'apiEndpoint', 'address'],
    });
  }
  const fip = config.apiEndpoint.floatingIP;
  const vip =
    config.apiEndpoint.type === 'vip' && api !== undefined
      ? { virtualRouterId: config.apiEndpoint.virtualRouterId ?? defaultVirtualRouterId(api) }
      : undefined;
  return {
    cidr: config.network.cidr,
    gateway: config.network.gateway,
    reserved,
    apiAddress: api,
    ...(vip ? { apiVip: vip } : {}),
    apiSANs: fip === undefined ? [] : [fip],
  };
}
