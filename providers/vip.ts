// Pure, shared by providers: an API VIP held by keepalived on the control planes (VRRP between them).
// The VIP is an address of the node network that no node and no DHCP server hands out; the control
// plane whose API answers and that has the highest priority holds it.
import { z } from 'zod';
import { parseIpv4 } from '../src/lib/ipv4.js';

/** VRRP virtual router ids are 1-255 and must differ between VRRP groups sharing a network. */
export const virtualRouterIdSchema = z
  .int()
  .min(1)
  .max(255)
  .optional()
  .describe(
    'VRRP virtual router id of the API VIP (1-255), unique among VRRP groups on the node network; default: the VIP’s last octet',
  );

/**
 * The default virtual router id: the VIP's last octet, which differs between the VIPs of clusters
 * sharing a /24 (0 and 255, possible in larger networks, become 1 and 254).
 */
export function defaultVirtualRouterId(address: string): number {
  const value = parseIpv4(address) ?? 1;
  const octet = value & 0xff;
  return Math.min(254, Math.max(1, octet));
}
