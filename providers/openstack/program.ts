// The OpenStack program: network (or an existing one, judged first), one security group and one
// server group per role, the API endpoint (an Octavia load balancer, a keepalived VIP port, or the
// first control plane), one port and one instance per node, floating IPs. Loaded lazily by the
// descriptor, so importing @pulumi/openstack (slow) costs nothing unless nkd provisions on OpenStack.
import * as openstack from '@pulumi/openstack';
import * as pulumi from '@pulumi/pulumi';
import { initNode } from '../../src/plan/plan.js';
import type { NodePlan } from '../../src/plan/types.js';
import { clusterTag, type ProgramInput, type ProviderProgram } from '../types.js';
import { apiEndpointAddress, apiLoadBalancerAddress, apiVipAddress } from './addresses.js';
import type { OpenStackConfig } from './config.js';
import type { Context, NodeNetwork } from './context.js';
import { apiLoadBalancer, apiVipPort } from './endpoint.js';
import { securityGroups, serverGroups } from './groups.js';
import {
  apiEndpointSource,
  checkProgramInput,
  networkLookup,
  resourceName,
  wantsFloatingIp,
  type NodeBoot,
} from './layout.js';
import { planIgnitionStore, registerIgnitionStore, withStorePointers } from './ignition-store.js';
import { createdNetwork, existingNetwork } from './network.js';
import { floatingIpFor, imageIdOf, nodeResources, type NodeResources } from './nodes.js';

export { INSTANCE_IGNORED_CHANGES } from './nodes.js';

function context(input: ProgramInput<OpenStackConfig>): Context {
  const { plan, platform } = input;
  const cluster = plan.name;
  const provider = new openstack.Provider(resourceName(cluster, 'provider'), {
    ...(platform.cloud === undefined ? {} : { cloud: platform.cloud }),
    ...(platform.region === undefined ? {} : { region: platform.region }),
  });
  return {
    cluster,
    platform,
    tags: [clusterTag(cluster)],
    opts: { provider },
    invokeOpts: { provider },
    name: (kind, node) => resourceName(cluster, kind, node),
  };
}

/**
 * Floating IPs per `floatingIPs`, and `apiEndpoint.floatingIP` associated with the API endpoint (the
 * load balancer's or VIP's port, or the API node). Returns the API endpoint's floating address, if it
 * has one.
 */
function floatingIps(
  ctx: Context,
  a: {
    external: pulumi.Output<openstack.networking.GetNetworkResult> | undefined;
    net: NodeNetwork;
    boots: NodeBoot[];
    created: Map<string, NodeResources>;
    apiNode: NodePlan | undefined;
    /** The port holding the API's own address: the load balancer's, or the keepalived VIP's. */
    apiPort: { port: openstack.networking.Port; address: string } | undefined;
  },
): pulumi.Output<string> | undefined {
  const { platform } = ctx;
  const pool = a.external?.apply((n) => n.name ?? platform.externalNetwork!) ?? '';
  const canFloat = a.external !== undefined && platform.floatingIPs !== 'none';
  const given = platform.apiEndpoint.floatingIP;
  let apiAddress: pulumi.Output<string> | undefined;
  if (a.apiPort !== undefined && (canFloat || given !== undefined)) {
    apiAddress = floatingIpFor(
      ctx,
      'api',
      { portId: a.apiPort.port.id, fixedIp: a.apiPort.address, ready: a.net.ready },
      { existing: given, pool },
    );
  }
  for (const { node } of a.boots) {
    const isApi = node.name === a.apiNode?.name;
    const own = canFloat && wantsFloatingIp(platform, node, a.apiNode);
    if (!own && !(isApi && given !== undefined)) continue;
    const address = floatingIpFor(
      ctx,
      node.name,
      { portId: a.created.get(node.name)!.port.id, fixedIp: node.address, ready: a.net.ready },
      { existing: isApi ? given : undefined, pool },
    );
    if (isApi) apiAddress = address;
  }
  return apiAddress;
}

async function run(input: ProgramInput<OpenStackConfig>): Promise<Record<string, unknown>> {
  // Before anything is registered: every failure here leaves nothing half-made.
  let boots = checkProgramInput(input);
  const { plan, platform } = input;
  const ctx = context(input);
  // ignitionDelivery swift: the object store is looked up (and its pointers signed) before anything else.
  const objects = platform.ignitionDelivery === 'swift' ? input.ignitionObjects! : undefined;
  const store = objects && (await planIgnitionStore(ctx, input.nodes, objects));
  if (store) boots = withStorePointers(boots, store);

  const external =
    platform.externalNetwork === undefined
      ? undefined
      : openstack.networking.getNetworkOutput(networkLookup(platform.externalNetwork), ctx.invokeOpts);
  // An existing network is looked up and judged first: a refusal leaves nothing registered but the
  // provider.
  const net =
    platform.network.name !== undefined
      ? await existingNetwork(ctx, plan, platform.network.name)
      : createdNetwork(ctx, plan.network.gateway, external!);
  const lbAddress = apiLoadBalancerAddress(platform);
  const vipAddress = apiVipAddress(platform);
  const shared = {
    net,
    securityGroups: securityGroups(ctx, lbAddress !== undefined),
    serverGroups: serverGroups(ctx),
    podSubnet: plan.kubernetes.podSubnet,
    imageId: platform.rootVolume === undefined ? '' : imageIdOf(ctx, platform.image),
    apiVip: vipAddress,
  };
  if (store) {
    const stored = registerIgnitionStore(ctx, store, input.nodes, objects!);
    boots = boots.map((b) => (stored.has(b.node.name) ? { ...b, after: [stored.get(b.node.name)!] } : b));
  }
  const created = new Map<string, NodeResources>(
    boots.map((boot) => [boot.node.name, nodeResources(ctx, boot, shared)]),
  );

  // The API's own address: the load balancer's or keepalived's VIP port holds it.
  const ownAddress = apiEndpointAddress(platform);
  const source = apiEndpointSource(plan, ownAddress);
  // Without one the API is one node: the endpoint's, or the first control plane.
  const apiNode =
    ownAddress !== undefined ? undefined : source.kind === 'node' ? source.node : initNode(plan);
  const apiPort =
    lbAddress !== undefined
      ? apiLoadBalancer(ctx, plan, net, lbAddress).vipPort
      : vipAddress !== undefined
        ? apiVipPort(ctx, net, vipAddress, shared.securityGroups['control-plane'].id)
        : undefined;
  const apiAddress = floatingIps(ctx, {
    external,
    net,
    boots,
    created,
    apiNode,
    apiPort: apiPort && { port: apiPort, address: ownAddress! },
  });

  let apiEndpoint: pulumi.Input<string> = source.kind === 'configured' ? source.endpoint : source.planned;
  if (
    source.kind !== 'configured' &&
    apiAddress !== undefined &&
    (source.kind === 'api-port' || source.node.name === apiNode?.name)
  )
    apiEndpoint = pulumi.interpolate`${apiAddress}:${source.port}`;
  return {
    apiEndpoint,
    ...(store ? { ignitionStore: { storageUrl: store.storageUrl, container: store.container } } : {}),
    nodes: boots.map(({ node }) => ({
      name: node.name,
      role: node.role,
      address: node.address,
      providerId: created.get(node.name)!.instance.id,
    })),
  };
}

export const openstackProgram: ProviderProgram<OpenStackConfig> = { run };
