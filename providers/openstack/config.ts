// spec.platform.openstack: a cluster on an OpenStack cloud. Credentials never appear here: they come
// from clouds.yaml (`cloud`) or OS_* environment variables.
import { z } from 'zod';
import { cidr, ipv4 } from '../schema-parts.js';
import { virtualRouterIdSchema } from '../vip.js';

const flavor = z.union([
  z.string().min(1),
  z.strictObject({ controlPlane: z.string().min(1), workers: z.string().min(1) }),
]);

export const DEFAULT_IGNITION_PORT = 22623;

const serverGroupPolicy = z.enum(['anti-affinity', 'soft-anti-affinity']);

export const openstackConfigSchema = z
  .strictObject({
    cloud: z
      .string()
      .min(1)
      .optional()
      .describe("An entry of the user's clouds.yaml; OS_* environment variables also work"),
    region: z
      .string()
      .min(1)
      .optional()
      .describe('Region of the cloud; default: the one clouds.yaml or OS_REGION_NAME names'),
    image: z.string().min(1).describe('Glance image name or id'),
    flavor: flavor.describe(
      'Flavor name, or per role: { controlPlane, workers }. Sizes the nodes: cpus, memoryMiB and diskGiB are refused on OpenStack',
    ),
    rootVolume: z
      .strictObject({
        sizeGiB: z.int().min(10, 'must be 10 or more').describe('Size of each node’s boot volume, GiB'),
        type: z.string().min(1).optional().describe('Cinder volume type; default: the cloud’s'),
        availabilityZone: z
          .string()
          .min(1)
          .optional()
          .describe('Cinder availability zone; default: the cloud’s'),
      })
      .optional()
      .describe('Boot every node from a new Cinder volume made from the image (for flavors with no disk)'),
    network: z
      .strictObject({
        cidr: cidr.default('10.0.0.0/24').describe('Node network; node addresses are allocated from here'),
        gateway: ipv4.optional().describe('Default: the first host address of the cidr'),
        name: z.string().min(1).optional().describe('Use this existing network instead of creating one'),
        allocationPool: z
          .strictObject({ start: ipv4, end: ipv4 })
          .optional()
          .describe(
            'Addresses Neutron hands out itself (DHCP and metadata ports) on a network nkd creates; nodes never get one. Default: the upper half of the cidr',
          ),
        dnsNameservers: z
          .array(ipv4)
          .default([])
          .describe('DNS servers the created subnet hands out; default: none (the cloud’s DHCP resolver)'),
      })
      .prefault({}),
    externalNetwork: z
      .string()
      .min(1)
      .optional()
      .describe('External network for the router and floating IPs'),
    floatingIPs: z
      .enum(['none', 'api', 'control-plane', 'all'])
      .optional()
      .describe(
        'Which get a floating IP from externalNetwork: the API endpoint only (api), or also control planes or all nodes; default: api when externalNetwork is set, else none',
      ),
    apiEndpoint: z
      .strictObject({
        type: z
          .enum(['octavia', 'vip', 'first-control-plane'])
          .default('octavia')
          .describe(
            'octavia: a load balancer in front of every control plane; vip: a VIP port held by keepalived on the control planes (for clouds without Octavia); both survive losing a control plane. first-control-plane: neither (a single point of failure)',
          ),
        address: ipv4
          .optional()
          .describe(
            "The load balancer's or VIP's fixed address in the node network; default: the last address before the allocation pool",
          ),
        virtualRouterId: virtualRouterIdSchema,
        floatingIP: ipv4
          .optional()
          .describe(
            'An existing floating IP (address) to attach to the API endpoint; it goes into the API certificate. Default: a new one when floatingIPs is not none',
          ),
        octaviaProvider: z
          .string()
          .min(1)
          .optional()
          .describe("Octavia provider driver, e.g. amphora or ovn; default: the cloud's"),
      })
      .prefault({}),
    availabilityZone: z.string().min(1).optional().describe('Availability zone of the instances'),
    serverGroups: z
      .strictObject({
        controlPlane: serverGroupPolicy.default('anti-affinity'),
        workers: serverGroupPolicy.or(z.literal('none')).default('soft-anti-affinity'),
      })
      .prefault({})
      .describe(
        'Server group policy per role: anti-affinity (strict: fails without enough hypervisors), soft-anti-affinity, or none (workers)',
      ),
    apiAllowedCIDRs: z
      .array(cidr)
      .default([])
      .describe(
        'Sources allowed to reach the Kubernetes API port (6443) from outside the cluster; default: none',
      ),
    allowAllInCluster: z
      .boolean()
      .default(false)
      .describe(
        'Allow any traffic between all nodes (one policy for every role) instead of the per-role rules',
      ),
    ignitionDelivery: z
      .enum(['callback', 'swift'])
      .default('callback')
      .describe(
        "How nodes get their full Ignition config: callback (from this machine's HTTPS Ignition service while deploy runs) or swift (from an object in a Swift container of the cluster, by a TempURL; nothing calls back)",
      ),
    swiftTempURLMinutes: z
      .int()
      .min(10, 'must be 10 or more')
      .max(1440, 'must be 1440 (a day) or less')
      .default(60)
      .describe(
        'ignitionDelivery swift: how long after deploy starts each node’s TempURL works; a node must boot within it',
      ),
    ignitionService: z
      .strictObject({
        advertise: z
          .string()
          .min(1)
          .optional()
          .describe("host:port at which the nodes reach this machine's Ignition service during deploy"),
        listen: z
          .string()
          .min(1)
          .optional()
          .describe(
            `Local address:port the Ignition service listens on during deploy; default: the advertise address (port ${DEFAULT_IGNITION_PORT})`,
          ),
      })
      .prefault({})
      .describe(
        'ignitionDelivery callback: the HTTPS service serving each node its full Ignition config while deploy runs',
      ),
  })
  .transform((config) => ({
    ...config,
    floatingIPs:
      config.floatingIPs ?? (config.externalNetwork === undefined ? ('none' as const) : ('api' as const)),
  }));

export type OpenStackConfig = z.output<typeof openstackConfigSchema>;

export function flavorFor(config: OpenStackConfig, role: 'control-plane' | 'worker'): string {
  if (typeof config.flavor === 'string') return config.flavor;
  return role === 'control-plane' ? config.flavor.controlPlane : config.flavor.workers;
}

export const openstackTemplateSection = `  platform:
    openstack:
      cloud: mycloud             # an entry of your clouds.yaml; OS_* environment variables also work
      # region: RegionOne
      image: nestos-22.03        # Glance image name or id
      flavor: m1.large           # or per role: { controlPlane: m1.large, workers: m1.medium }
      # rootVolume: { sizeGiB: 50 }   # boot from a Cinder volume (flavors with a 0 GB disk)
      network:
        cidr: 10.0.0.0/24        # nkd creates network, subnet and router...
        # name: existing-net     # ...unless this names an existing network
        # dnsNameservers: [192.0.2.53]
      externalNetwork: public    # for the router and floating IPs
      floatingIPs: api           # none | api | control-plane | all
      apiEndpoint:
        type: octavia            # a load balancer in front of the control planes; vip (keepalived, no
                                 # Octavia needed); or first-control-plane
      apiAllowedCIDRs: [203.0.113.0/24]   # who may reach the API (6443) from outside: include this machine
      ignitionDelivery: callback # or swift: nodes fetch their config from Swift by a TempURL
      ignitionService:
        advertise: 203.0.113.10:22623   # callback: how the nodes reach this machine during deploy
`;
