// Pure decisions behind the OpenStack program: resource names, input checks that must pass before
// anything is registered, image and network references, floating IPs and the API endpoint. No Pulumi
// import here, so these are cheap to test and reuse.
import type { ClusterPlan, NodePlan } from '../../src/plan/types.js';
import { assertUserDataFits } from '../../src/render/pointer.js';
import type { Resource } from '@pulumi/pulumi';
import type { ProgramInput } from '../types.js';
import type { OpenStackConfig } from './config.js';

/** Deterministic Pulumi resource names: `<cluster>-<kind>[-<node>]`. */
export function resourceName(cluster: string, kind: string, node?: string): string {
  return node === undefined ? `${cluster}-${kind}` : `${cluster}-${kind}-${node}`;
}

/** The OpenStack name of a role's security group and server group. */
export function roleGroupName(cluster: string, role: 'control-plane' | 'worker'): string {
  return role === 'control-plane' ? `${cluster}-control-plane` : `${cluster}-workers`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Glance and Neutron ids are UUIDs; anything else is a name. */
export function looksLikeId(value: string): boolean {
  return UUID.test(value);
}

/** The Instance image inputs for `image`, which may be a Glance id or a name. */
export function imageInputs(image: string): { imageId: string } | { imageName: string } {
  return looksLikeId(image) ? { imageId: image } : { imageName: image };
}

/** getNetwork arguments for a network given by id or by name. */
export function networkLookup(ref: string): { networkId: string } | { name: string } {
  return looksLikeId(ref) ? { networkId: ref } : { name: ref };
}

export interface NodeBoot {
  node: NodePlan;
  /** The user data; with ignitionDelivery swift, filled in once the object store is known. */
  pointer: string;
  /** Resources the instance waits for besides the network (its config's Swift object). */
  after?: Resource[];
}

const where = 'spec.platform.openstack';

/**
 * Everything that can be known wrong before talking to the cloud, checked before any resource is
 * registered: every planned node has boot data with a pointer config that fits Nova's user-data limit,
 * and the external network the config depends on is named.
 */
export function checkProgramInput(input: ProgramInput<OpenStackConfig>): NodeBoot[] {
  const { plan, platform } = input;
  const byName = new Map(input.nodes.map((b) => [b.node.name, b]));
  const planned = new Set(plan.nodes.map((n) => n.name));
  for (const extra of input.nodes) {
    if (!planned.has(extra.node.name))
      throw new Error(`openstack: boot data for unplanned node ${extra.node.name}`);
  }
  const swift = platform.ignitionDelivery === 'swift';
  if (swift && input.ignitionObjects === undefined)
    throw new Error('openstack: ignitionDelivery swift needs a Temp-URL-Key and an expiry (ignitionObjects)');
  const boots = plan.nodes.map((node): NodeBoot => {
    if (swift) {
      // The pointer names the object store, which the program looks up first.
      if (!byName.get(node.name)?.ignition)
        throw new Error(`openstack: node ${node.name} has no Ignition config`);
      return { node, pointer: '' };
    }
    const pointer = byName.get(node.name)?.pointer;
    if (pointer === undefined || pointer === '') {
      throw new Error(
        `openstack: node ${node.name} has no pointer Ignition config; OpenStack instances boot from a pointer ` +
          `(user data) that fetches the full config from the Ignition service`,
      );
    }
    assertUserDataFits(pointer, node.name);
    return { node, pointer };
  });
  if (platform.externalNetwork === undefined) {
    if (platform.network.name === undefined) {
      throw new Error(
        `openstack: ${where}.externalNetwork is required when nkd creates the network: the router needs it, ` +
          `and without it the nodes cannot reach this machine's Ignition service (or set ${where}.network.name ` +
          `to an existing, routed network)`,
      );
    }
    if (platform.floatingIPs !== 'none') {
      throw new Error(
        `openstack: ${where}.floatingIPs is ${platform.floatingIPs} but ${where}.externalNetwork is not set; ` +
          `set it, or set floatingIPs: none`,
      );
    }
  }
  return boots;
}

/** Whether `node` gets a floating IP of its own under the config's `floatingIPs`. */
export function wantsFloatingIp(
  config: OpenStackConfig,
  node: NodePlan,
  apiNode: NodePlan | undefined,
): boolean {
  switch (config.floatingIPs) {
    case 'all':
      return true;
    case 'control-plane':
      return node.role === 'control-plane';
    case 'api':
      // Only the endpoint's address: the load balancer's (not a node's), or the one node the API is.
      return node.name === apiNode?.name;
    case 'none':
      return false;
  }
}

/** How the API endpoint output is formed. */
export type ApiEndpointSource =
  /** The configured endpoint is a name or an address that is not nkd's: reported as is. */
  | { kind: 'configured'; endpoint: string }
  /**
   * The endpoint is the API's own address (the Octavia load balancer's or the keepalived VIP's port):
   * its floating IP replaces it when it has one.
   */
  | { kind: 'api-port'; address: string; port: number; planned: string }
  /** The endpoint is a node address: that node's floating IP replaces it when it has one. */
  | { kind: 'node'; node: NodePlan; port: number; planned: string };

export function apiEndpointSource(plan: ClusterPlan, ownAddress: string | undefined): ApiEndpointSource {
  const { host, port } = plan.kubernetes.controlPlaneEndpoint;
  const planned = `${host}:${port}`;
  if (ownAddress !== undefined && host === ownAddress)
    return { kind: 'api-port', address: host, port, planned };
  const node = plan.nodes.find((n) => n.address === host);
  if (node === undefined) return { kind: 'configured', endpoint: planned };
  return { kind: 'node', node, port, planned };
}
