// One port and one instance per node, and the node's floating IP when it gets one.
import * as openstack from '@pulumi/openstack';
import * as pulumi from '@pulumi/pulumi';
import { flavorFor } from './config.js';
import type { Context, NodeNetwork } from './context.js';
import type { RoleGroups, ServerGroups } from './groups.js';
import { imageInputs, looksLikeId, type NodeBoot } from './layout.js';

/**
 * The resource option every instance gets; exported so docs and tests name the same list. userData,
 * the image and the boot volume only matter at first boot (a change replaces or rebuilds the server);
 * a flavor change would resize every node of a role at once, so new flavors apply to new nodes only.
 */
export const INSTANCE_IGNORED_CHANGES = ['userData', 'imageId', 'imageName', 'blockDevices', 'flavorName'];

export interface NodeShared {
  net: NodeNetwork;
  securityGroups: RoleGroups;
  serverGroups: ServerGroups;
  podSubnet: string;
  /** The image's Glance id, for boot volumes (looked up once when `image` is a name). */
  imageId: pulumi.Input<string>;
  /** The keepalived API VIP, which control-plane ports must be allowed to answer for. */
  apiVip?: string;
}

/**
 * Port security drops traffic whose source is not the port's own address: pod addresses routed
 * without encapsulation (Calico BGP, host-gw) must be allowed explicitly, and on control planes the
 * API VIP, which keepalived moves between them.
 */
export function allowedAddressPairs(shared: Pick<NodeShared, 'podSubnet' | 'apiVip'>, role: string) {
  const pairs = [{ ipAddress: shared.podSubnet }];
  if (shared.apiVip !== undefined && role === 'control-plane') pairs.push({ ipAddress: shared.apiVip });
  return pairs;
}

export interface NodeResources {
  port: openstack.networking.Port;
  instance: openstack.compute.Instance;
}

/** The Glance id of `image`: as is when it is one, else looked up by name (the newest of that name). */
export function imageIdOf(ctx: Context, image: string): pulumi.Input<string> {
  if (looksLikeId(image)) return image;
  return openstack.images.getImageOutput({ name: image, mostRecent: true }, ctx.invokeOpts).id;
}

function bootInputs(ctx: Context, shared: NodeShared) {
  const volume = ctx.platform.rootVolume;
  if (volume === undefined) return imageInputs(ctx.platform.image);
  return {
    blockDevices: [
      {
        sourceType: 'image',
        uuid: shared.imageId,
        destinationType: 'volume',
        volumeSize: volume.sizeGiB,
        volumeType: volume.type,
        availabilityZone: volume.availabilityZone,
        bootIndex: 0,
        deleteOnTermination: true,
      },
    ],
  };
}

export function nodeResources(ctx: Context, boot: NodeBoot, shared: NodeShared): NodeResources {
  const { node, pointer } = boot;
  const { name, tags, opts, platform } = ctx;
  const port = new openstack.networking.Port(
    name('port', node.name),
    {
      name: name('port', node.name),
      networkId: shared.net.networkId,
      adminStateUp: true,
      fixedIps: [{ subnetId: shared.net.subnetId, ipAddress: node.address }],
      // Explicit, whatever the network's default: security groups and address pairs need it.
      portSecurityEnabled: true,
      securityGroupIds: [shared.securityGroups[node.role].id],
      allowedAddressPairs: allowedAddressPairs(shared, node.role),
      tags,
    },
    // The fixed address is the node's: a replacement port can only take it once the old one is gone.
    { ...opts, deleteBeforeReplace: true },
  );
  const serverGroup = shared.serverGroups[node.role];
  const controlPlane = node.role === 'control-plane';
  const instance = new openstack.compute.Instance(
    name('instance', node.name),
    {
      name: node.name,
      ...bootInputs(ctx, shared),
      flavorName: flavorFor(platform, node.role),
      availabilityZone: platform.availabilityZone,
      networks: [{ port: port.id }],
      userData: pulumi.secret(pointer),
      metadata: { 'nkd-cluster': ctx.cluster, 'nkd-role': node.role },
      schedulerHints: serverGroup === undefined ? undefined : [{ group: serverGroup.id }],
      tags,
    },
    {
      ...opts,
      // A config edit must never silently replace a control-plane VM (and its etcd member).
      protect: controlPlane ? true : undefined,
      ignoreChanges: INSTANCE_IGNORED_CHANGES,
      // Only the network path out; instances never wait for each other (all boot in parallel).
      dependsOn: [...shared.net.ready, ...(boot.after ?? [])],
    },
  );
  return { port, instance };
}

/**
 * A floating IP for `portId`: `existing` (an address the user holds, e.g. the API's, in the
 * certificate) is associated; otherwise a new one is allocated from `pool`. Returns its address.
 */
export function floatingIpFor(
  ctx: Context,
  key: string,
  target: { portId: pulumi.Input<string>; fixedIp: string; ready: pulumi.Resource[] },
  source: { existing?: string; pool: pulumi.Input<string> },
): pulumi.Output<string> {
  // Neutron refuses the association until the subnet is attached to a router.
  const opts = { ...ctx.opts, dependsOn: target.ready };
  if (source.existing !== undefined) {
    const association = new openstack.networking.FloatingIpAssociate(
      ctx.name('fip-associate', key),
      { floatingIp: source.existing, portId: target.portId, fixedIp: target.fixedIp },
      opts,
    );
    return association.floatingIp;
  }
  const fip = new openstack.networking.FloatingIp(
    ctx.name('fip', key),
    {
      pool: source.pool,
      portId: target.portId,
      fixedIp: target.fixedIp,
      description: `nkd cluster ${ctx.cluster}: ${key}`,
      tags: ctx.tags,
    },
    opts,
  );
  return fip.address;
}
