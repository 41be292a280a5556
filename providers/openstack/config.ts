// spec.platform.openstack: a cluster on an OpenStack cloud. Credentials never appear here: they come
// from clouds.yaml (`cloud`) or OS_* environment variables.
import { z } from 'zod';
import { cidr, ipv4 } from '../schema-parts.js';

const flavor = z.union([
  z.string().min(1),
  z.strictObject({ controlPlane: z.string().min(1), workers: z.string().min(1) }),
]);

export const DEFAULT_IGNITION_PORT = 22623;

export const openstackConfigSchema = z
  .strictObject({
    cloud: z
      .string()
      .min(1)
      .optional()
      .describe("An entry of the user's clouds.yaml; OS_* environment variables also work"),
    image: z.string().min(1).describe('Glance image name or id'),
    flavor: flavor.describe('Flavor name, or per role: { controlPlane, workers }'),
    network: z
      .strictObject({
        cidr: cidr.default('10.0.0.0/24').describe('Node network; node addresses are allocated from here'),
        gateway: ipv4.optional().describe('Default: the first host address of the cidr'),
        name: z.string().min(1).optional().describe('Use this existing network instead of creating one'),
      })
      .prefault({}),
    externalNetwork: z
      .string()
      .min(1)
      .optional()
      .describe('External network for the router and floating IPs'),
    floatingIPs: z
      .enum(['none', 'control-plane', 'all'])
      .optional()
      .describe(
        'Which nodes get a floating IP from externalNetwork (the API endpoint uses the first control plane); default: control-plane when externalNetwork is set, else none',
      ),
    availabilityZone: z.string().min(1).optional().describe('Availability zone of the instances'),
    apiAllowedCIDRs: z
      .array(cidr)
      .default(['0.0.0.0/0'])
      .describe('Sources allowed to reach the Kubernetes API port (6443) from outside the cluster'),
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
          .default(`0.0.0.0:${DEFAULT_IGNITION_PORT}`)
          .describe('Local address:port the Ignition service listens on during deploy'),
      })
      .prefault({})
      .describe('The HTTPS service serving each node its full Ignition config while deploy runs'),
  })
  .transform((config) => ({
    ...config,
    floatingIPs:
      config.floatingIPs ??
      (config.externalNetwork === undefined ? ('none' as const) : ('control-plane' as const)),
  }));

export type OpenStackConfig = z.output<typeof openstackConfigSchema>;

export function flavorFor(config: OpenStackConfig, role: 'control-plane' | 'worker'): string {
  if (typeof config.flavor === 'string') return config.flavor;
  return role === 'control-plane' ? config.flavor.controlPlane : config.flavor.workers;
}

export const openstackTemplateSection = `  platform:
    openstack:
      cloud: mycloud             # an entry of your clouds.yaml; OS_* environment variables also work
      image: nestos-22.03        # Glance image name or id
      flavor: m1.large           # or per role: { controlPlane: m1.large, workers: m1.medium }
      network:
        cidr: 10.0.0.0/24        # nkd creates network, subnet and router...
        # name: existing-net     # ...unless this names an existing network
      externalNetwork: public    # for the router and floating IPs
      floatingIPs: control-plane # none | control-plane | all
      ignitionService:
        # advertise: 203.0.113.10:22623   # how the nodes reach this machine during deploy
        listen: 0.0.0.0:22623
`;
