// Typed kubeadm configuration documents for the two API versions nkd emits. Only the fields nkd sets
// are declared; the version-specific shapes (extraArgs maps vs lists, timeouts) are kept apart so a
// v1beta3 field can never leak into a v1beta4 document.
import type { KubeadmApiVersion } from '../config/versions.js';

export type ArgsV1beta3 = Record<string, string>;
export type ArgsV1beta4 = { name: string; value: string }[];

export interface Taint {
  key: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface NodeRegistration<Args> {
  name: string;
  criSocket: string;
  kubeletExtraArgs: Args;
  taints?: Taint[];
  imagePullPolicy: 'IfNotPresent';
}

export interface BootstrapToken {
  token: string;
  description: string;
  ttl: string;
  usages: string[];
  groups: string[];
}

export interface APIEndpoint {
  advertiseAddress: string;
  bindPort: number;
}

export interface InitConfiguration<Args> {
  apiVersion: KubeadmApiVersion;
  kind: 'InitConfiguration';
  bootstrapTokens: BootstrapToken[];
  nodeRegistration: NodeRegistration<Args>;
  localAPIEndpoint: APIEndpoint;
  timeouts?: { controlPlaneComponentHealthCheck: string };
}

export interface ClusterConfiguration {
  apiVersion: KubeadmApiVersion;
  kind: 'ClusterConfiguration';
  clusterName: string;
  kubernetesVersion: string;
  controlPlaneEndpoint: string;
  imageRepository: string;
  networking: { podSubnet: string; serviceSubnet: string; dnsDomain: string };
  apiServer: { certSANs: string[]; timeoutForControlPlane?: string };
  certificatesDir: string;
  encryptionAlgorithm?: 'RSA-2048';
}

export interface JoinConfiguration<Args> {
  apiVersion: KubeadmApiVersion;
  kind: 'JoinConfiguration';
  discovery: {
    bootstrapToken: { apiServerEndpoint: string; token: string; caCertHashes: string[] };
    timeout?: string;
  };
  nodeRegistration: NodeRegistration<Args>;
  controlPlane?: { localAPIEndpoint: APIEndpoint };
  timeouts?: { discovery: string };
}

export interface KubeletConfiguration {
  apiVersion: 'kubelet.config.k8s.io/v1beta1';
  kind: 'KubeletConfiguration';
  cgroupDriver: 'systemd';
  failSwapOn: boolean;
  rotateCertificates: boolean;
}

export type KubeadmDocument =
  | InitConfiguration<ArgsV1beta3 | ArgsV1beta4>
  | ClusterConfiguration
  | JoinConfiguration<ArgsV1beta3 | ArgsV1beta4>
  | KubeletConfiguration;
