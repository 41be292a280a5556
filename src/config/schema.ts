// The cluster config contract (shared/spec/cluster-config.md) as one typed schema. Every object is
// strict because unknown keys are nearly always typos; `prefault` makes defaults apply at every depth.
// docs/cluster-config.schema.json is generated from this file (npm run schema).
import { z } from 'zod';

export const API_VERSION = 'nkd.nestos.io/v1alpha1';
export const KIND = 'Cluster';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const IPV4_CIDR = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;

const clusterName = z
  .string()
  .max(40, 'must be at most 40 characters')
  .regex(
    DNS_LABEL,
    'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending alphanumeric',
  );

const hostname = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(
    DNS_LABEL,
    'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending alphanumeric',
  );

const ipv4 = z.string().regex(IPV4, 'must be an IPv4 address (a.b.c.d)');
const cidr = z.string().regex(IPV4_CIDR, 'must be an IPv4 CIDR (a.b.c.d/n)');

const hostEntry = z
  .strictObject({
    hostname: hostname.optional().describe('Fixed hostname of this node'),
    ip: ipv4.optional().describe('Fixed address of this node, inside the platform network cidr'),
  })
  .describe('Fixes the hostname and/or address of one node, in order');

function nodeGroup(min: number, defaults: { count: number }) {
  return z.strictObject({
    count: z.int().min(min, `must be ${min} or more`).default(defaults.count).describe('Number of nodes'),
    cpus: z.int().min(1, 'must be 1 or more').default(4).describe('Virtual CPUs per node'),
    memoryMiB: z.int().min(512, 'must be 512 or more').default(8192).describe('Memory per node, MiB'),
    diskGiB: z.int().min(10, 'must be 10 or more').default(50).describe('Root disk per node, GiB'),
    hosts: z
      .array(hostEntry)
      .default([])
      .describe('Optional: fix hostname and/or ip of the first N nodes of this group'),
  });
}

const kubernetes = z.strictObject({
  version: z
    .string()
    .regex(/^v\d+\.\d+\.\d+$/, 'must look like v1.30.4')
    .default('v1.30.4')
    .describe('Kubernetes version; kubeadm config API v1beta3 below 1.31, v1beta4 from 1.31'),
  controlPlaneEndpoint: z
    .string()
    .default('')
    .describe("host:port of the API server; default: the first control-plane node's address, port 6443"),
  imageRepository: z
    .string()
    .min(1)
    .default('registry.k8s.io')
    .describe('Registry of the control-plane images'),
  podSubnet: cidr.default('10.244.0.0/16').describe('Pod network CIDR'),
  serviceSubnet: cidr.default('10.96.0.0/16').describe('Service network CIDR'),
  dnsDomain: z
    .string()
    .regex(/^[a-z0-9.-]+$/)
    .default('cluster.local')
    .describe('Cluster DNS domain'),
});

const libvirtPlatform = z.strictObject({
  uri: z.string().min(1).default('qemu:///system').describe('libvirt connection URI'),
  image: z
    .string()
    .min(1, 'must name the NestOS base image (qcow2 path)')
    .describe('Path of the NestOS base image'),
  network: z
    .strictObject({
      cidr: cidr.default('192.168.132.0/24').describe('Node network; node addresses are allocated from here'),
      gateway: ipv4.optional().describe('Default: the first host address of the cidr'),
    })
    .prefault({}),
});

const flavor = z.union([
  z.string().min(1),
  z.strictObject({ controlPlane: z.string().min(1), workers: z.string().min(1) }),
]);

const openstackPlatform = z.strictObject({
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
  externalNetwork: z.string().min(1).optional().describe('External network for the router and floating IPs'),
});

export const clusterConfigSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be ${API_VERSION}` }),
  kind: z.literal(KIND, { error: `must be ${KIND}` }),
  metadata: z.strictObject({ name: clusterName.describe('Names the cluster everywhere') }),
  spec: z.strictObject({
    kubernetes: kubernetes.prefault({}),
    runtime: z
      .enum(['containerd', 'crio', 'isulad', 'docker'])
      .default('containerd')
      .describe('Container runtime on every node'),
    network: z
      .strictObject({
        plugin: z
          .enum(['calico', 'flannel', 'none'])
          .default('calico')
          .describe('CNI plugin installed after deploy'),
      })
      .prefault({}),
    controlPlane: nodeGroup(1, { count: 1 }).prefault({}),
    workers: nodeGroup(0, { count: 1 }).prefault({}),
    access: z
      .strictObject({
        user: hostname.default('nest').describe("The nodes' admin user"),
        sshAuthorizedKeys: z
          .array(z.string())
          .default([])
          .describe('Public keys installed for the admin user'),
      })
      .prefault({}),
    os: z
      .strictObject({
        releaseImage: z
          .string()
          .default('')
          .describe('Optional NestOS ostree container image carrying kubeadm/kubelet/kubectl'),
      })
      .prefault({}),
    housekeeper: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Install the Housekeeper upgrade operator'),
      })
      .prefault({}),
    platform: z
      .strictObject({
        libvirt: libvirtPlatform.optional(),
        openstack: openstackPlatform.optional(),
      })
      .describe('Exactly one platform'),
  }),
});

export type ClusterConfig = z.output<typeof clusterConfigSchema>;
export type ClusterConfigInput = z.input<typeof clusterConfigSchema>;
export type Runtime = ClusterConfig['spec']['runtime'];
export type NodeGroupConfig = ClusterConfig['spec']['controlPlane'];
export type LibvirtPlatformConfig = z.output<typeof libvirtPlatform>;
export type OpenStackPlatformConfig = z.output<typeof openstackPlatform>;
