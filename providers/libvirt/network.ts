// Pure: the libvirt node network as the planner sees it. libvirt's DHCP server hands out only the
// planned static leases (no dynamic range), so any other address of the cidr is free for an API VIP:
// by default the last host address, far from the nodes, which are planned from the bottom.
import {
  broadcastAddress,
  cidrContains,
  formatIpv4,
  isCidr,
  parseCidr,
  parseIpv4,
} from '../../src/lib/ipv4.js';
import type { NodeNetworkConfig } from '../types.js';
import { defaultVirtualRouterId } from '../vip.js';
import type { LibvirtConfig } from './config.js';

/** The VIP's address when the endpoint is one: `apiEndpoint.address`, else the cidr's last host. */
export function libvirtVipAddress(config: LibvirtConfig): string | undefined {
  if (config.apiEndpoint.type !== 'vip') return undefined;
  if (config.apiEndpoint.address !== undefined) return config.apiEndpoint.address;
  const cidr = parseCidr(config.network.cidr);
  if (!isCidr(cidr) || cidr.prefix > 30) return undefined;
  return formatIpv4(broadcastAddress(cidr) - 1);
}

export function libvirtNodeNetwork(config: LibvirtConfig): NodeNetworkConfig {
  const base = { cidr: config.network.cidr, gateway: config.network.gateway };
  const vip = libvirtVipAddress(config);
  if (vip === undefined) return base;
  return {
    ...base,
    reserved: [
      {
        first: vip,
        last: vip,
        why: 'it is the API VIP',
        path: ['spec', 'platform', 'libvirt', 'apiEndpoint', 'address'],
      },
    ],
    apiAddress: vip,
    apiVip: { virtualRouterId: config.apiEndpoint.virtualRouterId ?? defaultVirtualRouterId(vip) },
  };
}

type Problem = { path: string[]; message: string; severity: 'error' | 'warning' };

/** The VIP must be a host address of the node network other than the gateway. */
export function vipChecks(config: LibvirtConfig): Problem[] {
  const { type, address, virtualRouterId } = config.apiEndpoint;
  const error = (path: string[], message: string): Problem => ({ path, message, severity: 'error' });
  if (type !== 'vip') {
    const stray =
      address !== undefined ? 'address' : virtualRouterId !== undefined ? 'virtualRouterId' : undefined;
    return stray === undefined
      ? []
      : [error(['apiEndpoint', stray], 'is a VIP setting: it needs apiEndpoint.type vip')];
  }
  const cidr = parseCidr(config.network.cidr);
  if (address === undefined || !isCidr(cidr)) return [];
  const value = parseIpv4(address);
  const path = ['apiEndpoint', 'address'];
  if (
    value === undefined ||
    !cidrContains(cidr, value) ||
    value === cidr.network ||
    value === broadcastAddress(cidr)
  )
    return [error(path, `${address} is not a host address of network.cidr ${config.network.cidr}`)];
  const gateway = config.network.gateway === undefined ? cidr.network + 1 : parseIpv4(config.network.gateway);
  if (value === gateway) return [error(path, `${address} is the gateway`)];
  return [];
}
