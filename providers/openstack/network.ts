// The node network: one nkd creates (network, subnet with allocation pools, router), or an existing one
// looked up and judged (providers/openstack/preflight.ts) before any resource is registered.
import * as openstack from '@pulumi/openstack';
import * as pulumi from '@pulumi/pulumi';
import { formatIpv4 } from '../../src/lib/ipv4.js';
import type { ClusterPlan } from '../../src/plan/types.js';
import { clusterTag } from '../types.js';
import { allocationPool, apiEndpointAddress } from './addresses.js';
import type { Context, NodeNetwork } from './context.js';
import { networkLookup, resourceName } from './layout.js';
import {
  judgeExistingNetwork,
  refusalMessage,
  type ExistingNetworkAnswers,
  type PlannedAddress,
  type PortAnswer,
} from './preflight.js';

export function createdNetwork(
  ctx: Context,
  gateway: string,
  external: pulumi.Output<openstack.networking.GetNetworkResult>,
): NodeNetwork {
  const { name, tags, opts, platform } = ctx;
  const network = new openstack.networking.Network(
    name('net'),
    { name: name('net'), adminStateUp: true, portSecurityEnabled: true, tags },
    opts,
  );
  const pool = allocationPool(platform)!;
  const subnet = new openstack.networking.Subnet(
    name('subnet'),
    {
      name: name('subnet'),
      networkId: network.id,
      cidr: platform.network.cidr,
      gatewayIp: gateway,
      ipVersion: 4,
      enableDhcp: true,
      // Neutron's own ports (DHCP, OVN metadata) take the first free pool address: the pool is kept
      // above the planned node addresses so they never collide (409 IpAddressAlreadyAllocated).
      allocationPools: [{ start: formatIpv4(pool.first), end: formatIpv4(pool.last) }],
      dnsNameservers:
        platform.network.dnsNameservers.length > 0 ? platform.network.dnsNameservers : undefined,
      tags,
    },
    opts,
  );
  const router = new openstack.networking.Router(
    name('router'),
    { name: name('router'), adminStateUp: true, externalNetworkId: external.id, tags },
    opts,
  );
  const routerInterface = new openstack.networking.RouterInterface(
    name('router-interface'),
    { routerId: router.id, subnetId: subnet.id },
    opts,
  );
  return { networkId: network.id, subnetId: subnet.id, ready: [routerInterface] };
}

/** Every address nkd will ask Neutron for, with the port name that holds it. */
export function plannedAddresses(plan: ClusterPlan, ctx: Context): PlannedAddress[] {
  const out: PlannedAddress[] = plan.nodes.map((n) => ({
    address: n.address,
    owner: `node ${n.name}`,
    portName: resourceName(plan.name, 'port', n.name),
  }));
  const api = apiEndpointAddress(ctx.platform);
  if (api !== undefined)
    out.push({
      address: api,
      owner: ctx.platform.apiEndpoint.type === 'vip' ? 'the API VIP' : 'the API load balancer',
      portName: resourceName(plan.name, 'port', 'api'),
    });
  return out;
}

const ROUTER_OWNERS = [
  'network:router_interface',
  'network:router_interface_distributed',
  'network:ha_router_replicated_interface',
];

async function lookUpAnswers(
  ctx: Context,
  networkRef: string,
  planned: PlannedAddress[],
): Promise<ExistingNetworkAnswers & { networkId: string }> {
  const o = ctx.invokeOpts;
  const n = openstack.networking;
  const network = await n.getNetwork(networkLookup(networkRef), o);
  const subnet = await n.getSubnet({ networkId: network.id, cidr: ctx.platform.network.cidr }, o);
  const portsAt = async (args: openstack.networking.GetPortIdsArgs): Promise<PortAnswer[]> => {
    const { ids } = await n.getPortIds({ networkId: network.id, ...args }, o);
    return Promise.all(
      ids.map(async (portId) => {
        const port = await n.getPort({ portId }, o);
        return {
          id: port.id,
          name: port.name,
          deviceOwner: port.deviceOwner,
          allTags: port.allTags ?? [],
          fixedIp: args.fixedIp ?? '',
        };
      }),
    );
  };
  const ports = (await Promise.all(planned.map((p) => portsAt({ fixedIp: p.address })))).flat();
  const external =
    ctx.platform.externalNetwork === undefined || ctx.platform.floatingIPs === 'none'
      ? undefined
      : await n.getNetwork(networkLookup(ctx.platform.externalNetwork), o);
  let route: ExistingNetworkAnswers['route'];
  if (external !== undefined && subnet.gatewayIp !== '') {
    for (const deviceOwner of ROUTER_OWNERS) {
      const { ids } = await n.getPortIds(
        { networkId: network.id, deviceOwner, fixedIp: subnet.gatewayIp },
        o,
      );
      if (ids.length === 0) continue;
      const port = await n.getPort({ portId: ids[0]! }, o);
      const router = await n.getRouter({ routerId: port.deviceId }, o);
      route = { routerId: router.id, externalNetworkId: router.externalNetworkId };
      break;
    }
  }
  return {
    networkId: network.id,
    networkName: networkRef,
    subnet: {
      id: subnet.id,
      cidr: subnet.cidr,
      gatewayIp: subnet.gatewayIp,
      enableDhcp: subnet.enableDhcp,
      allocationPools: subnet.allocationPools,
    },
    ports,
    route,
    externalNetworkId: external?.id,
  };
}

/**
 * Looks up an existing network and refuses it, before anything is registered, when a planned address
 * is taken, the gateway is not the planned one, DHCP is off, or it is routed to another external network.
 */
export async function existingNetwork(
  ctx: Context,
  plan: ClusterPlan,
  networkRef: string,
): Promise<NodeNetwork> {
  const planned = plannedAddresses(plan, ctx);
  const answers = await lookUpAnswers(ctx, networkRef, planned);
  const judgement = judgeExistingNetwork(answers, {
    gateway: plan.network.gateway,
    clusterTag: clusterTag(plan.name),
    planned,
  });
  for (const warning of judgement.warnings) void pulumi.log.warn(`openstack: ${warning}`);
  if (judgement.refusals.length > 0) throw new Error(refusalMessage(judgement));
  return { networkId: answers.networkId, subnetId: answers.subnet.id, ready: [] };
}
