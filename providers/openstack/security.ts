// Pure: the rules of the cluster's security group, as data. The program turns each into a
// networking.SecGroupRule; docs/providers/openstack.md and the unit tests read the same list.
//
// The group is created with `deleteDefaultRules: true`, so these rules are the whole policy: Neutron's
// two default egress rules are replaced by the explicit `egress-ipv4`/`egress-ipv6` below, and nothing
// else is allowed in. Everything node-to-node (etcd 2379-2380, kubelet 10250, CNI overlays, NodePorts,
// the API between nodes) is allowed only from members of the group itself, never from an address range.
import { API_SERVER_PORT } from '../../src/plan/plan.js';

export type RuleRemote =
  /** Ports in this same security group (their fixed IPs and allowed address pairs). */
  | { kind: 'group' }
  | { kind: 'cidr'; cidr: string }
  /** No remote restriction (used for egress only). */
  | { kind: 'any' };

export interface SecurityRule {
  /** Stable, unique within the group; part of the Pulumi resource name. */
  key: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** Undefined: any protocol. */
  protocol?: 'tcp' | 'udp' | 'icmp';
  /** Undefined: all ports (or not applicable). */
  ports?: { min: number; max: number };
  remote: RuleRemote;
  purpose: string;
}

export interface SecurityRuleInput {
  /** The node network; SSH and ICMP are allowed from here (e.g. a bastion on an existing network). */
  nodeCidr: string;
  /** Sources allowed to reach the Kubernetes API from outside the cluster. */
  apiAllowedCIDRs: readonly string[];
}

export const SSH_PORT = 22;

/** Turns a CIDR into a name fragment: `10.0.0.0/8` → `10.0.0.0-8`. */
function cidrKey(cidr: string): string {
  return cidr.replace('/', '-');
}

export function securityRules(input: SecurityRuleInput): SecurityRule[] {
  const api = [...new Set(input.apiAllowedCIDRs)].map((cidr): SecurityRule => ({
    key: `api-from-${cidrKey(cidr)}`,
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: 'tcp',
    ports: { min: API_SERVER_PORT, max: API_SERVER_PORT },
    remote: { kind: 'cidr', cidr },
    purpose: 'Kubernetes API from the allowed sources (apiAllowedCIDRs)',
  }));
  return [
    {
      key: 'nodes-any',
      direction: 'ingress',
      ethertype: 'IPv4',
      remote: { kind: 'group' },
      purpose: 'node to node, any protocol: etcd, kubelet, API, CNI (VXLAN/IP-in-IP/BGP), NodePorts',
    },
    ...api,
    {
      key: 'ssh-from-node-network',
      direction: 'ingress',
      ethertype: 'IPv4',
      protocol: 'tcp',
      ports: { min: SSH_PORT, max: SSH_PORT },
      remote: { kind: 'cidr', cidr: input.nodeCidr },
      purpose: 'SSH from the node network only (a bastion there)',
    },
    {
      key: 'icmp-from-node-network',
      direction: 'ingress',
      ethertype: 'IPv4',
      protocol: 'icmp',
      remote: { kind: 'cidr', cidr: input.nodeCidr },
      purpose: 'ping and path-MTU discovery from the node network',
    },
    {
      key: 'egress-ipv4',
      direction: 'egress',
      ethertype: 'IPv4',
      remote: { kind: 'any' },
      purpose: "outbound: Ignition service, image registries, NTP, DNS (replaces Neutron's default)",
    },
    {
      key: 'egress-ipv6',
      direction: 'egress',
      ethertype: 'IPv6',
      remote: { kind: 'any' },
      purpose: "outbound over IPv6 (replaces Neutron's default)",
    },
  ];
}

/** Whether a rule lets `port`/tcp in from outside the group (the check behind "never etcd to the world"). */
export function exposesPortOutsideGroup(rule: SecurityRule, port: number): boolean {
  if (rule.direction !== 'ingress' || rule.remote.kind === 'group') return false;
  if (rule.protocol !== undefined && rule.protocol !== 'tcp') return false;
  return rule.ports === undefined || (rule.ports.min <= port && port <= rule.ports.max);
}
