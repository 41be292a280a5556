// Pure: cross-key checks of spec.platform.openstack, run by `nkd validate` and before every deploy.
// Paths are relative to spec.platform.openstack.
import { cidrContains, isCidr, parseCidr, parseIpv4, type Cidr } from '../../src/lib/ipv4.js';
import type { OpenStackConfig } from './config.js';
import { allocationPool } from './addresses.js';

export interface ConfigProblem {
  path: string[];
  message: string;
  severity: 'error' | 'warning';
}

function problem(path: string[], message: string): ConfigProblem {
  return { path, message, severity: 'error' };
}

function checkNetworks(config: OpenStackConfig): ConfigProblem[] {
  if (config.externalNetwork !== undefined) return [];
  if (config.network.name === undefined) {
    return [
      problem(
        ['externalNetwork'],
        'is required when nkd creates the network (its router needs an external network); or set network.name',
      ),
    ];
  }
  const out: ConfigProblem[] = [];
  if (config.floatingIPs !== 'none') {
    out.push(
      problem(
        ['floatingIPs'],
        `is ${config.floatingIPs} but no externalNetwork is set to take floating IPs from; set externalNetwork or floatingIPs: none`,
      ),
    );
  }
  if (config.apiEndpoint.floatingIP !== undefined) {
    out.push(problem(['apiEndpoint', 'floatingIP'], 'needs externalNetwork, the network it belongs to'));
  }
  return out;
}

/** Keys that configure a subnet nkd creates mean nothing on an existing network. */
function checkCreatedOnly(config: OpenStackConfig): ConfigProblem[] {
  if (config.network.name === undefined) return [];
  const out: ConfigProblem[] = [];
  if (config.network.allocationPool !== undefined) {
    out.push(
      problem(
        ['network', 'allocationPool'],
        'only applies to a network nkd creates; an existing network keeps its own pools (nkd checks that no planned address is taken)',
      ),
    );
  }
  if (config.network.dnsNameservers.length > 0) {
    out.push(
      problem(
        ['network', 'dnsNameservers'],
        'only applies to a network nkd creates; set DNS servers on the existing subnet instead',
      ),
    );
  }
  return out;
}

function checkPool(config: OpenStackConfig, cidr: Cidr): ConfigProblem[] {
  const set = config.network.allocationPool;
  const pool = allocationPool(config);
  if (set === undefined || pool === undefined) return [];
  const path = ['network', 'allocationPool'];
  if (!cidrContains(cidr, pool.first) || !cidrContains(cidr, pool.last))
    return [problem(path, `${set.start}-${set.end} is not inside network.cidr ${config.network.cidr}`)];
  if (pool.first > pool.last) return [problem(path, `start ${set.start} is after end ${set.end}`)];
  const gateway = config.network.gateway === undefined ? cidr.network + 1 : parseIpv4(config.network.gateway);
  if (gateway !== undefined && pool.first <= gateway && gateway <= pool.last)
    return [problem(path, `${set.start}-${set.end} contains the gateway`)];
  return [];
}

function checkApiAddress(config: OpenStackConfig, cidr: Cidr): ConfigProblem[] {
  const address = config.apiEndpoint.address;
  if (address === undefined) return [];
  const path = ['apiEndpoint', 'address'];
  if (config.apiEndpoint.type === 'first-control-plane')
    return [problem(path, 'is the load balancer or VIP address: it needs apiEndpoint.type octavia or vip')];
  const value = parseIpv4(address);
  if (value === undefined || !cidrContains(cidr, value))
    return [problem(path, `${address} is not inside network.cidr ${config.network.cidr}`)];
  const pool = allocationPool(config);
  if (pool !== undefined && pool.first <= value && value <= pool.last)
    return [problem(path, `${address} is inside Neutron's allocation pool; choose an address below it`)];
  return [];
}

/** With no API sources, only the node network reaches the API: deploy's own API checks included. */
function checkApiSources(config: OpenStackConfig): ConfigProblem[] {
  if (config.apiAllowedCIDRs.length > 0 || config.floatingIPs === 'none') return [];
  return [
    {
      path: ['apiAllowedCIDRs'],
      message:
        "is empty: nothing outside the node network can reach the API through its floating IP, this machine included (deploy waits for the API); list this machine's address",
      severity: 'warning',
    },
  ];
}

/** VRRP settings mean nothing without keepalived; Octavia has no VRRP id to choose. */
function checkVip(config: OpenStackConfig): ConfigProblem[] {
  if (config.apiEndpoint.virtualRouterId === undefined || config.apiEndpoint.type === 'vip') return [];
  return [
    problem(['apiEndpoint', 'virtualRouterId'], 'is a keepalived setting: it needs apiEndpoint.type vip'),
  ];
}

export function checkOpenStackConfig(config: OpenStackConfig): ConfigProblem[] {
  const out = [
    ...checkNetworks(config),
    ...checkCreatedOnly(config),
    ...checkApiSources(config),
    ...checkVip(config),
  ];
  const cidr = parseCidr(config.network.cidr);
  if (!isCidr(cidr)) return out; // reported by the generic network checks
  return [...out, ...checkPool(config, cidr), ...checkApiAddress(config, cidr)];
}
