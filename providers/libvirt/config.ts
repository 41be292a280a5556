// spec.platform.libvirt: a cluster on a libvirt/KVM host.
import { z } from 'zod';
import { cidr, ipv4 } from '../schema-parts.js';
import { virtualRouterIdSchema } from '../vip.js';

export const libvirtConfigSchema = z.strictObject({
  uri: z.string().min(1).default('qemu:///system').describe('libvirt connection URI'),
  image: z
    .string()
    .min(1, 'must name the NestOS base image (qcow2 path)')
    .describe('Path of the NestOS base image (qcow2)'),
  network: z
    .strictObject({
      cidr: cidr.default('192.168.132.0/24').describe('Node network; node addresses are allocated from here'),
      gateway: ipv4.optional().describe('Default: the first host address of the cidr'),
    })
    .prefault({}),
  apiEndpoint: z
    .strictObject({
      type: z
        .enum(['first-control-plane', 'vip'])
        .default('first-control-plane')
        .describe(
          'vip: an address held by keepalived on the control planes (survives losing one); first-control-plane: control plane 1 (a single point of failure)',
        ),
      address: ipv4
        .optional()
        .describe('The VIP, in the node network; default: the last host address of the cidr'),
      virtualRouterId: virtualRouterIdSchema,
    })
    .prefault({}),
  domainType: z
    .enum(['kvm', 'qemu'])
    .default('kvm')
    .describe(
      'kvm: hardware virtualization (/dev/kvm on the libvirt host). qemu: TCG emulation, for hosts without usable KVM (nested virtualization, CI); about 10x slower',
    ),
  poolPath: z
    .string()
    .min(1)
    .optional()
    .describe('Directory of the cluster storage pool; default: /var/lib/libvirt/images/nkd-<cluster>'),
});

export type LibvirtConfig = z.output<typeof libvirtConfigSchema>;

export const libvirtTemplateSection = `  platform:
    libvirt:
      uri: qemu:///system                          # libvirt connection URI
      image: /var/lib/libvirt/images/nestos.qcow2  # the NestOS base image (absolute path)
      network:
        cidr: 192.168.132.0/24                     # node addresses are allocated from here
        # gateway: 192.168.132.1                   # default: the first host address of the cidr
      # apiEndpoint: { type: vip }                 # a keepalived VIP in front of the control planes
      # domainType: kvm                            # qemu (software emulation) where the host has no KVM
`;
