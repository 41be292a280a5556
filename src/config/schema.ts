// The cluster config contract (shared/spec/cluster-config.md) as one typed schema. Every object is
// strict because unknown keys are nearly always typos; `prefault` makes defaults apply at every depth.
// docs/cluster-config.schema.json is generated from this file (npm run schema).
import { z } from 'zod';
import { platformConfigShape } from '../../providers/registry.js';
import { cidr, ipv4 } from '../../providers/schema-parts.js';
import { CLUSTER_NAME_MAX, DNS_LABEL, DNS_LABEL_MESSAGE } from './cluster-name.js';

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
    .describe('Registry (host[:port][/path], no tag) of the control-plane images'),
  podSubnet: cidr.default('10.244.0.0/16').describe('Pod network CIDR'),
  serviceSubnet: cidr.default('10.96.0.0/16').describe('Service network CIDR'),
  dnsDomain: z
    .string()
    .regex(/^[a-z0-9.-]+$/)
    .default('cluster.local')
    .describe('Cluster DNS domain'),
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
export type NodeGroupConfig = ClusterConfig['spec']['controlPlane'];
