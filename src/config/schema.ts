// The cluster config contract (shared/spec/cluster-config.md) as one typed schema. Every object is
// strict because unknown keys are nearly always typos; `prefault` makes defaults apply at every depth.
// docs/cluster-config.schema.json is generated from this file (npm run schema).
import { z } from 'zod';
import { platformConfigShape } from '../../providers/registry.js';
import { cidr, ipv4 } from '../../providers/schema-parts.js';
import { CLUSTER_NAME_MAX, DNS_LABEL, DNS_LABEL_MESSAGE } from './cluster-name.js';
import {
  DEFAULT_IMAGE_REPOSITORY,
  IMAGE_REPOSITORY,
  IMAGE_REPOSITORY_EXAMPLE,
  REGISTRY_HOST,
  REGISTRY_HOST_EXAMPLE,
} from './images.js';
import { DEFAULT_KUBE_VERSION, supportedRangeText } from './versions.js';

export const API_VERSION = 'nkd.nestos.io/v1alpha1';
export const KIND = 'Cluster';

const clusterName = z
  .string()
  .max(CLUSTER_NAME_MAX, `must be at most ${CLUSTER_NAME_MAX} characters`)
  .regex(DNS_LABEL, DNS_LABEL_MESSAGE);

const hostname = z.string().max(63, 'must be at most 63 characters').regex(DNS_LABEL, DNS_LABEL_MESSAGE);

const hostEntry = z
  .strictObject({
    hostname: hostname.optional().describe('Fixed hostname of this node'),
    ip: ipv4.optional().describe('Fixed address of this node, inside the platform network cidr'),
  })
  .describe('Fixes the hostname and/or address of one node, in order');

/** Node sizes when the config names none (platforms that size nodes themselves ignore them). */
export const NODE_SIZE_DEFAULTS = { cpus: 4, memoryMiB: 8192, diskGiB: 50 } as const;

function nodeGroup(min: number, defaults: { count: number }) {
  return z.strictObject({
    count: z.int().min(min, `must be ${min} or more`).default(defaults.count).describe('Number of nodes'),
    cpus: z
      .int()
      .min(1, 'must be 1 or more')
      .default(NODE_SIZE_DEFAULTS.cpus)
      .describe('Virtual CPUs per node (libvirt; refused on OpenStack, where the flavor sizes nodes)'),
    memoryMiB: z
      .int()
      .min(512, 'must be 512 or more')
      .default(NODE_SIZE_DEFAULTS.memoryMiB)
      .describe('Memory per node, MiB (libvirt; refused on OpenStack)'),
    diskGiB: z
      .int()
      .min(10, 'must be 10 or more')
      .default(NODE_SIZE_DEFAULTS.diskGiB)
      .describe('Root disk per node, GiB (libvirt; refused on OpenStack)'),
    hosts: z
      .array(hostEntry)
      .default([])
      .describe('Optional: fix hostname and/or ip of the first N nodes of this group'),
  });
}

const kubernetes = z.strictObject({
  version: z
    .string()
    .regex(/^v\d+\.\d+\.\d+$/, `must look like ${DEFAULT_KUBE_VERSION}`)
    .default(DEFAULT_KUBE_VERSION)
    .describe(`Kubernetes version, ${supportedRangeText()} (the minors upstream maintains)`),
  controlPlaneEndpoint: z
    .string()
    .default('')
    .describe("host:port of the API server; default: the first control-plane node's address, port 6443"),
  imageRepository: z
    .string()
    .regex(IMAGE_REPOSITORY, `must be host[:port][/path], lowercase, e.g. ${IMAGE_REPOSITORY_EXAMPLE}`)
    .default(DEFAULT_IMAGE_REPOSITORY)
    .describe(
      'Registry (host[:port][/path]) every image is pulled from: the control plane, pause, and, when not registry.k8s.io, the network plugin and Housekeeper too (see docs/air-gap.md)',
    ),
  podSubnet: cidr.default('10.244.0.0/16').describe('Pod network CIDR'),
  serviceSubnet: cidr.default('10.96.0.0/16').describe('Service network CIDR'),
  dnsDomain: z
    .string()
    .regex(/^[a-z0-9.-]+$/)
    .default('cluster.local')
    .describe('Cluster DNS domain'),
});

const registry = z
  .strictObject({
    host: z
      .string()
      .regex(REGISTRY_HOST, `must be host or host:port, lowercase, e.g. ${REGISTRY_HOST_EXAMPLE}`)
      .describe('The registry as images name it: host or host:port, no scheme, no path'),
    plainHTTP: z.boolean().default(false).describe('Reach it over plain HTTP (no TLS)'),
    insecureSkipVerify: z
      .boolean()
      .default(false)
      .describe("Reach it over TLS without verifying its certificate (prefer 'ca')"),
    ca: z.string().default('').describe('PEM certificate(s) of the private CA that signed its certificate'),
  })
  .describe('How the container runtimes reach one registry');

export const clusterConfigSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be ${API_VERSION}` }),
  kind: z.literal(KIND, { error: `must be ${KIND}` }),
  metadata: z.strictObject({ name: clusterName.describe('Names the cluster everywhere') }),
  spec: z.strictObject({
    kubernetes: kubernetes.prefault({}),
    registries: z
      .array(registry)
      .default([])
      .describe('Registries the runtimes reach over plain HTTP, without verification, or with a private CA'),
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
        version: z
          .string()
          .default('')
          .describe('Version of the bundled plugin manifests; default: the newest bundled one'),
        manifest: z
          .string()
          .default('')
          .describe(
            'A file (relative to this config) or https:// URL of a manifest applied instead of the bundled one',
          ),
        sha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')
          .optional()
          .describe(
            'sha256 of the manifest: nkd refuses content that does not match (it is applied as cluster-admin)',
          ),
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
        image: z
          .string()
          .default('')
          .describe("Image of the operator and node agent; default: nkd's own image of this version"),
      })
      .prefault({}),
    hooks: z
      .strictObject({
        preDeploy: z
          .array(z.string().min(1))
          .default([])
          .describe('Local executables run in order before provisioning (paths relative to this config)'),
        postDeploy: z
          .array(z.string().min(1))
          .default([])
          .describe('Manifest files or directories applied in order after everything else (relative paths)'),
      })
      .prefault({}),
    platform: z.strictObject(platformConfigShape).describe('Exactly one platform'),
  }),
});

export type ClusterConfig = z.output<typeof clusterConfigSchema>;
export type ClusterConfigInput = z.input<typeof clusterConfigSchema>;
export type Runtime = ClusterConfig['spec']['runtime'];
export type RegistryConfig = ClusterConfig['spec']['registries'][number];
export type NodeGroupConfig = ClusterConfig['spec']['controlPlane'];
