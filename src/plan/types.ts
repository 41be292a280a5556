import type { PlatformName } from '../config/platform.js';
import type { ClusterConfig, Runtime } from '../config/schema.js';
import type { KubeadmApiVersion } from '../config/versions.js';
import type { PlatformSetting } from '../../providers/types.js';
import type { NodeRole } from './allocate.js';

export const PLAN_API_VERSION = 'nkd.nestos.io/v1alpha1';

/** How a node becomes part of the cluster. */
export type Bootstrap = 'init' | 'join-control-plane' | 'join';

export interface NodePlan {
  name: string;
  role: NodeRole;
  bootstrap: Bootstrap;
  /** 1-based position within its role. */
  index: number;
  address: string;
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
}

export interface Endpoint {
  host: string;
  port: number;
}

export interface ApiVip {
  address: string;
  /** VRRP virtual router id, 1-255. */
  virtualRouterId: number;
}

export interface ClusterPlan {
  apiVersion: typeof PLAN_API_VERSION;
  kind: 'ClusterPlan';
  name: string;
  kubernetes: {
    version: string;
    kubeadmApiVersion: KubeadmApiVersion;
    imageRepository: string;
    pauseImage: string;
    podSubnet: string;
    serviceSubnet: string;
    dnsDomain: string;
    controlPlaneEndpoint: Endpoint;
    /** Names and addresses the API server certificate must cover on every control-plane node. */
    apiServerCertSANs: string[];
    /**
     * When the API address is a VIP that keepalived holds on the control planes (VRRP between them);
     * absent otherwise, and in plans of older nkd versions.
     */
    apiVip?: ApiVip;
  };
  runtime: { name: Runtime; criSocket: string };
  /** How the runtimes reach registries over plain HTTP, without verification, or with a private CA. */
  registries: ClusterConfig['spec']['registries'];
  network: { plugin: ClusterConfig['spec']['network']['plugin']; cidr: string; gateway: string };
  access: ClusterConfig['spec']['access'];
  os: ClusterConfig['spec']['os'];
  housekeeper: ClusterConfig['spec']['housekeeper'];
  platform: {
    name: PlatformName;
    /** `platform`: nodes are sized by the platform (a flavor); cpus/memoryMiB/diskGiB are not used. */
    nodeSizing?: 'platform';
    /** Platform settings whose edits the diff sees; absent in plans of older nkd versions. */
    settings?: PlatformSetting[];
  };
  nodes: NodePlan[];
}
