// The OpenStack Pulumi program: network (or an existing one), security group, anti-affinity server
// group, one port and one instance per node, optional floating IPs. Loaded lazily by the descriptor, so
// importing @pulumi/openstack (slow) costs nothing unless nkd provisions on OpenStack.
import * as openstack from '@pulumi/openstack';
import * as pulumi from '@pulumi/pulumi';
import { clusterTag, type ProgramInput, type ProviderProgram } from '../types.js';
import { flavorFor, type OpenStackConfig } from './config.js';
import {
  apiEndpointSource,
  checkProgramInput,
  imageInputs,
  networkLookup,
  resourceName,
  securityGroupName,
  wantsFloatingIp,
  type NodeBoot,
} from './layout.js';
import { securityRules, type SecurityRule } from './security.js';

/** The resource option every instance gets; exported so docs and tests name the same list. */
export const INSTANCE_IGNORED_CHANGES = ['userData', 'imageId', 'imageName'];

interface NodeNetwork {
  networkId: pulumi.Input<string>;
  subnetId: pulumi.Input<string>;
  /** What nodes and floating IPs must wait for (the router interface; nothing for an existing network). */
  ready: pulumi.Resource[];
}

interface Context {
  cluster: string;
  platform: OpenStackConfig;
  tags: string[];
  opts: pulumi.CustomResourceOptions;
  name: (kind: string, node?: string) => string;
}

/** Looks up `externalNetwork` (by name or id); undefined when the config names none. */
function externalNetwork(ctx: Context) {
  const ref = ctx.platform.externalNetwork;
  return ref === undefined ? undefined : openstack.networking.getNetworkOutput(networkLookup(ref), ctx.opts);
}

function createdNetwork(
  ctx: Context,
  gateway: string,
  external: pulumi.Output<openstack.networking.GetNetworkResult>,
): NodeNetwork {
  const { name, tags, opts } = ctx;
  const network = new openstack.networking.Network(
    name('net'),
    { name: name('net'), adminStateUp: true, tags },
    opts,
  );
  const subnet = new openstack.networking.Subnet(
    name('subnet'),
    // DNS servers are left to the cloud's defaults (the subnet's DHCP hands out Neutron's resolver).
    {
      name: name('subnet'),
      networkId: network.id,
      cidr: ctx.platform.network.cidr,
      gatewayIp: gateway,
      ipVersion: 4,
      enableDhcp: true,
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

function existingNetwork(ctx: Context, networkName: string): NodeNetwork {
  const network = openstack.networking.getNetworkOutput(networkLookup(networkName), ctx.opts);
  const subnet = openstack.networking.getSubnetOutput(
    { networkId: network.id, cidr: ctx.platform.network.cidr },
    ctx.opts,
  );
  return { networkId: network.id, subnetId: subnet.id, ready: [] };
}

function securityGroup(ctx: Context, rules: SecurityRule[]): openstack.networking.SecGroup {
  const group = new openstack.networking.SecGroup(
    ctx.name('secgroup'),
    {
      name: securityGroupName(ctx.cluster),
      description: `nkd cluster ${ctx.cluster}: nodes`,
      // Neutron's default egress rules are replaced by explicit ones, so `rules` is the whole policy.
      deleteDefaultRules: true,
      tags: ctx.tags,
    },
    ctx.opts,
  );
  for (const rule of rules) {
    new openstack.networking.SecGroupRule(
      ctx.name('rule', rule.key),
      {
        securityGroupId: group.id,
        description: rule.purpose,
        direction: rule.direction,
        ethertype: rule.ethertype,
        protocol: rule.protocol,
        portRangeMin: rule.ports?.min,
        portRangeMax: rule.ports?.max,
        remoteGroupId: rule.remote.kind === 'group' ? group.id : undefined,
        remoteIpPrefix: rule.remote.kind === 'cidr' ? rule.remote.cidr : undefined,
      },
      ctx.opts,
    );
  }
  return group;
}

interface NodeResources {
  instance: openstack.compute.Instance;
  floatingIp: openstack.networking.FloatingIp | undefined;
}

function nodeResources(
  ctx: Context,
  boot: NodeBoot,
  shared: {
    net: NodeNetwork;
    group: openstack.networking.SecGroup;
    serverGroup: openstack.compute.ServerGroup;
    podSubnet: string;
    fipPool: pulumi.Output<string> | undefined;
  },
): NodeResources {
  const { node, pointer } = boot;
  const { name, tags, opts, platform } = ctx;
  const port = new openstack.networking.Port(
    name('port', node.name),
    {
      name: name('port', node.name),
      networkId: shared.net.networkId,
      adminStateUp: true,
      fixedIps: [{ subnetId: shared.net.subnetId, ipAddress: node.address }],
      securityGroupIds: [shared.group.id],
      // Port security drops traffic whose source is not the port's own address: pod addresses routed
      // without encapsulation (Calico BGP, host-gw) must be allowed explicitly.
      allowedAddressPairs: [{ ipAddress: shared.podSubnet }],
      tags,
    },
    opts,
  );
  const controlPlane = node.role === 'control-plane';
  const instance = new openstack.compute.Instance(
    name('instance', node.name),
    {
      name: node.name,
      ...imageInputs(platform.image),
      flavorName: flavorFor(platform, node.role),
      availabilityZone: platform.availabilityZone,
      networks: [{ port: port.id }],
      userData: pulumi.secret(pointer),
      metadata: { 'nkd-cluster': ctx.cluster, 'nkd-role': node.role },
      schedulerHints: controlPlane ? [{ group: shared.serverGroup.id }] : undefined,
      tags,
    },
    {
      ...opts,
      // A config edit must never silently replace a control-plane VM (and its etcd member).
      protect: controlPlane ? true : undefined,
      // First-boot inputs: Ignition runs once and NestOS updates itself in place. userData replaces the
      // server; an image change *rebuilds* it in place (root disk wiped), which protect would not stop.
      ignoreChanges: INSTANCE_IGNORED_CHANGES,
      // Only the network path out; instances never wait for each other (all boot in parallel).
      dependsOn: shared.net.ready,
    },
  );
  const floatingIp =
    shared.fipPool !== undefined && wantsFloatingIp(platform, node)
      ? new openstack.networking.FloatingIp(
          name('fip', node.name),
          {
            pool: shared.fipPool,
            portId: port.id,
            fixedIp: node.address,
            description: `nkd cluster ${ctx.cluster}: ${node.name}`,
            tags,
          },
          // Neutron refuses the association until the subnet is attached to a router.
          { ...opts, dependsOn: shared.net.ready },
        )
      : undefined;
  return { instance, floatingIp };
}

async function run(input: ProgramInput<OpenStackConfig>): Promise<Record<string, unknown>> {
  // Before anything is registered: every failure here leaves nothing half-made.
  const boots = checkProgramInput(input);
  const { plan, platform } = input;
  const cluster = plan.name;
  const provider = new openstack.Provider(
    resourceName(cluster, 'provider'),
    platform.cloud === undefined ? {} : { cloud: platform.cloud },
  );
  const ctx: Context = {
    cluster,
    platform,
    tags: [clusterTag(cluster)],
    opts: { provider },
    name: (kind, node) => resourceName(cluster, kind, node),
  };

  const external = externalNetwork(ctx);
  const net =
    platform.network.name !== undefined
      ? existingNetwork(ctx, platform.network.name)
      : createdNetwork(ctx, plan.network.gateway, external!);
  const group = securityGroup(
    ctx,
    securityRules({ nodeCidr: platform.network.cidr, apiAllowedCIDRs: platform.apiAllowedCIDRs }),
  );
  const serverGroup = new openstack.compute.ServerGroup(
    ctx.name('server-group'),
    { name: ctx.name('control-plane'), policies: ['anti-affinity'] },
    ctx.opts,
  );
  const fipPool = external?.apply((n) => n.name ?? platform.externalNetwork!);
  const shared = { net, group, serverGroup, podSubnet: plan.kubernetes.podSubnet, fipPool };
  const created = new Map(boots.map((boot) => [boot.node.name, nodeResources(ctx, boot, shared)]));

  const source = apiEndpointSource(plan);
  let apiEndpoint: pulumi.Input<string> = source.kind === 'configured' ? source.endpoint : source.planned;
  if (source.kind === 'node') {
    const fip = created.get(source.node.name)?.floatingIp;
    if (fip) apiEndpoint = pulumi.interpolate`${fip.address}:${source.port}`;
  }
  return {
    apiEndpoint,
    nodes: boots.map(({ node }) => ({
      name: node.name,
      role: node.role,
      address: node.address,
      providerId: created.get(node.name)!.instance.id,
    })),
  };
}

export const openstackProgram: ProviderProgram<OpenStackConfig> = { run };
