// Pure: the rules of the cluster's two security groups, as data. The program turns each into a
// networking.SecGroupRule; docs/providers/openstack.md and the unit tests read the same list.
//
// As Cluster API Provider OpenStack does, control planes and workers have groups of their own, so the
// policy can say who may reach what: etcd (2379-2380) only from control planes, NodePorts only on
// workers. Both groups are created with `deleteDefaultRules: true`, so these rules are the whole policy.
// Node-to-node traffic is allowed by group membership (`remoteGroupId`), never from an address range.
import { API_SERVER_PORT } from '../../src/plan/plan.js';

export type RoleGroup = 'control-plane' | 'worker';

export type RuleRemote =
  /** Ports in one of the cluster's groups (their fixed IPs and allowed address pairs). */
  | { kind: 'group'; group: RoleGroup }
  | { kind: 'cidr'; cidr: string }
  /** No remote restriction (used for egress only). */
  | { kind: 'any' };

export interface SecurityRule {
  /** The group the rule belongs to. */
  group: RoleGroup;
  /** Stable, unique within the group; part of the Pulumi resource name. */
  key: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** Undefined: any protocol. `4` is IP-in-IP (Calico), which Neutron takes by number. */
  protocol?: 'tcp' | 'udp' | 'icmp' | '4';
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
  /** An Octavia load balancer fronts the API: its member traffic comes from the node network. */
  loadBalancer: boolean;
  /** Opt-in: any traffic between any nodes (one flat policy, as before per-role groups). */
  allowAllInCluster: boolean;
}

export const SSH_PORT = 22;
export const ETCD_PORTS = { min: 2379, max: 2380 };
export const NODE_PORTS = { min: 30000, max: 32767 };

/** Turns a CIDR into a name fragment: `10.0.0.0/8` → `10.0.0.0-8`. */
function cidrKey(cidr: string): string {
  return cidr.replace('/', '-');
}

function common(group: RoleGroup, nodeCidr: string): SecurityRule[] {
  return [
    {
      group,
      key: 'ssh-from-node-network',
      direction: 'ingress',
      ethertype: 'IPv4',
      protocol: 'tcp',
      ports: { min: SSH_PORT, max: SSH_PORT },
      remote: { kind: 'cidr', cidr: nodeCidr },
      purpose: 'SSH from the node network only (a bastion there)',
    },
    {
      group,
      key: 'icmp-from-node-network',
      direction: 'ingress',
      ethertype: 'IPv4',
      protocol: 'icmp',
      remote: { kind: 'cidr', cidr: nodeCidr },
      purpose: 'ping and path-MTU discovery from the node network',
    },
    {
      group,
      key: 'egress-ipv4',
      direction: 'egress',
      ethertype: 'IPv4',
      remote: { kind: 'any' },
      purpose: "outbound: Ignition service, image registries, NTP, DNS (replaces Neutron's default)",
    },
    {
      group,
      key: 'egress-ipv6',
      direction: 'egress',
      ethertype: 'IPv6',
      remote: { kind: 'any' },
      purpose: "outbound over IPv6 (replaces Neutron's default)",
    },
  ];
}

/** Workers reach control planes on everything but etcd: API, kubelet, CNI (VXLAN, IP-in-IP, BGP). */
function workersToControlPlanes(): SecurityRule[] {
  const base = {
    group: 'control-plane' as const,
    direction: 'ingress' as const,
    ethertype: 'IPv4' as const,
    remote: { kind: 'group' as const, group: 'worker' as const },
  };
  const purpose = 'from workers: everything but etcd (API, kubelet, CNI overlays and BGP)';
  return [
    {
      ...base,
      key: 'workers-tcp-below-etcd',
      protocol: 'tcp',
      ports: { min: 1, max: ETCD_PORTS.min - 1 },
      purpose,
    },
    {
      ...base,
      key: 'workers-tcp-above-etcd',
      protocol: 'tcp',
      ports: { min: ETCD_PORTS.max + 1, max: 65535 },
      purpose,
    },
    { ...base, key: 'workers-udp', protocol: 'udp', purpose },
    { ...base, key: 'workers-icmp', protocol: 'icmp', purpose },
    { ...base, key: 'workers-ipip', protocol: '4', purpose },
  ];
}

function controlPlaneRules(input: SecurityRuleInput): SecurityRule[] {
  const api = (cidr: string, purpose: string): SecurityRule => ({
    group: 'control-plane',
    key: `api-from-${cidrKey(cidr)}`,
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: 'tcp',
    ports: { min: API_SERVER_PORT, max: API_SERVER_PORT },
    remote: { kind: 'cidr', cidr },
    purpose,
  });
  const sources = new Set(input.apiAllowedCIDRs);
  const rules: SecurityRule[] = [
    {
      group: 'control-plane',
      key: 'control-planes-any',
      direction: 'ingress',
      ethertype: 'IPv4',
      remote: { kind: 'group', group: 'control-plane' },
      purpose: 'control plane to control plane, any protocol: etcd, API, kubelet, CNI',
    },
    ...(input.allowAllInCluster
      ? [
          {
            group: 'control-plane' as const,
            key: 'workers-any',
            direction: 'ingress' as const,
            ethertype: 'IPv4' as const,
            remote: { kind: 'group' as const, group: 'worker' as const },
            purpose: 'from workers, any protocol (allowAllInCluster)',
          },
        ]
      : workersToControlPlanes()),
    ...[...sources].map((cidr) => api(cidr, 'Kubernetes API from the allowed sources (apiAllowedCIDRs)')),
  ];
  // Amphorae reach the members from their own ports in the node network.
  if (input.loadBalancer && !sources.has(input.nodeCidr))
    rules.push(
      api(input.nodeCidr, 'Kubernetes API from the load balancer (its ports are in the node network)'),
    );
  return [...rules, ...common('control-plane', input.nodeCidr)];
}

function workerRules(input: SecurityRuleInput): SecurityRule[] {
  const from = (group: RoleGroup, purpose: string): SecurityRule => ({
    group: 'worker',
    key: group === 'worker' ? 'workers-any' : 'control-planes-any',
    direction: 'ingress',
    ethertype: 'IPv4',
    remote: { kind: 'group', group },
    purpose,
  });
  const nodePorts = (protocol: 'tcp' | 'udp'): SecurityRule => ({
    group: 'worker',
    key: `nodeports-${protocol}-from-node-network`,
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol,
    ports: NODE_PORTS,
    remote: { kind: 'cidr', cidr: input.nodeCidr },
    purpose: 'NodePorts from the node network (load balancers there)',
  });
  return [
    from('worker', 'worker to worker, any protocol: pods, CNI, NodePorts'),
    from('control-plane', 'from control planes, any protocol: kubelet, webhooks and pods, CNI'),
    nodePorts('tcp'),
    nodePorts('udp'),
    ...common('worker', input.nodeCidr),
  ];
}

export function securityRules(input: SecurityRuleInput): SecurityRule[] {
  return [...controlPlaneRules(input), ...workerRules(input)];
}

/**
 * Whether a rule lets `port`/tcp into `group` from outside the cluster's groups, or from the other
 * role's group: the checks behind "never etcd to the world" and "etcd only from control planes".
 */
export function exposesPort(rule: SecurityRule, port: number, from: 'outside' | RoleGroup): boolean {
  if (rule.direction !== 'ingress') return false;
  if (
    from === 'outside'
      ? rule.remote.kind === 'group'
      : rule.remote.kind !== 'group' || rule.remote.group !== from
  )
    return false;
  if (rule.protocol !== undefined && rule.protocol !== 'tcp') return false;
  return rule.ports === undefined || (rule.ports.min <= port && port <= rule.ports.max);
}
