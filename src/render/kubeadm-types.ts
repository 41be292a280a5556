// Typed kubeadm configuration documents (kubeadm.k8s.io/v1beta4, the API every supported minor reads).
// Only the fields nkd sets are declared.
import type { KubeadmApiVersion } from '../config/versions.js';

/** v1beta4 spells extra arguments as a list, so one flag can be given more than once. */
export type Args = { name: string; value: string }[];

export interface Taint {
  key: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface NodeRegistration {
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

export interface InitConfiguration {
  apiVersion: KubeadmApiVersion;
  kind: 'InitConfiguration';
  bootstrapTokens: BootstrapToken[];
  nodeRegistration: NodeRegistration;
  localAPIEndpoint: APIEndpoint;
  patches?: Patches;
  timeouts: {
    controlPlaneComponentHealthCheck: string;
    kubernetesAPICall?: string;
    kubeletHealthCheck?: string;
  };
}

/** Where kubeadm finds patch files for the static pods it writes. */
export interface Patches {
  directory: string;
}

export interface ClusterConfiguration {
  apiVersion: KubeadmApiVersion;
  kind: 'ClusterConfiguration';
  clusterName: string;
  kubernetesVersion: string;
  controlPlaneEndpoint: string;
  imageRepository: string;
  networking: { podSubnet: string; serviceSubnet: string; dnsDomain: string };
  apiServer: { certSANs: string[] };
  controllerManager?: { extraArgs: Args };
  scheduler?: { extraArgs: Args };
  certificatesDir: string;
  encryptionAlgorithm: 'RSA-2048';
}

export interface JoinConfiguration {
  apiVersion: KubeadmApiVersion;
  kind: 'JoinConfiguration';
  discovery: {
    bootstrapToken: { apiServerEndpoint: string; token: string; caCertHashes: string[] };
  };
  nodeRegistration: NodeRegistration;
  controlPlane?: { localAPIEndpoint: APIEndpoint };
  patches?: Patches;
  timeouts: {
    discovery: string;
    controlPlaneComponentHealthCheck?: string;
    kubernetesAPICall?: string;
    kubeletHealthCheck?: string;
    tlsBootstrap?: string;
  };
}

export interface KubeletConfiguration {
  apiVersion: 'kubelet.config.k8s.io/v1beta1';
  kind: 'KubeletConfiguration';
  cgroupDriver: 'systemd';
  failSwapOn: boolean;
  rotateCertificates: boolean;
  shutdownGracePeriod: string;
  shutdownGracePeriodCriticalPods: string;
}

export type KubeadmDocument =
  InitConfiguration | ClusterConfiguration | JoinConfiguration | KubeletConfiguration;
