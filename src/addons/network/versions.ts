// The CNI releases nkd bundles manifests for. A release is added here together with whatever its
// manifests need that the previous one did not (see `calicoFeatures`); every image tag is pinned, so a
// cluster deployed today and one deployed next year from the same config run the same bits.

export type BundledNetworkPlugin = 'calico' | 'flannel';

export interface FlannelRelease {
  version: string;
  /** Tag of docker.io/flannel/flannel-cni-plugin shipped with this flannel release. */
  cniPluginTag: string;
}

export interface CalicoRelease {
  version: string;
  /**
   * Calico 3.29 added tiered policy and Kubernetes AdminNetworkPolicy support: calico-node and
   * kube-controllers watch tiers and adminnetworkpolicies from then on, and a watch on a resource type
   * whose CRD does not exist keeps them from ever reporting ready.
   */
  tiers: boolean;
  /**
   * ENABLED_CONTROLLERS of calico-kube-controllers. kube-controllers exits at startup on a controller
   * name it does not know, so the LoadBalancer IPAM controller is only listed for the releases it is
   * known to ship in.
   */
  kubeControllers: string;
}

/** Oldest first, newest last: the last entry is the default. */
export const FLANNEL_RELEASES: readonly FlannelRelease[] = [
  { version: 'v0.25.7', cniPluginTag: 'v1.5.1-flannel2' },
  { version: 'v0.26.1', cniPluginTag: 'v1.5.1-flannel2' },
];

/** Oldest first, newest last: the last entry is the default. */
export const CALICO_RELEASES: readonly CalicoRelease[] = [
  { version: 'v3.28.2', tiers: false, kubeControllers: 'node' },
  { version: 'v3.29.1', tiers: true, kubeControllers: 'node,loadbalancer' },
];

export const FLANNEL_IMAGE = 'docker.io/flannel/flannel';
export const FLANNEL_CNI_PLUGIN_IMAGE = 'docker.io/flannel/flannel-cni-plugin';
export const CALICO_CNI_IMAGE = 'docker.io/calico/cni';
export const CALICO_NODE_IMAGE = 'docker.io/calico/node';
export const CALICO_KUBE_CONTROLLERS_IMAGE = 'docker.io/calico/kube-controllers';

export const BUNDLED_NETWORK_VERSIONS: Record<BundledNetworkPlugin, readonly string[]> = {
  calico: CALICO_RELEASES.map((r) => r.version),
  flannel: FLANNEL_RELEASES.map((r) => r.version),
};

/** The version used when `spec.network.version` is empty: the newest bundled one. */
export function defaultNetworkVersion(plugin: BundledNetworkPlugin): string {
  const versions = BUNDLED_NETWORK_VERSIONS[plugin];
  return versions[versions.length - 1]!;
}

export function flannelRelease(version: string): FlannelRelease | undefined {
  return FLANNEL_RELEASES.find((r) => r.version === version);
}

export function calicoRelease(version: string): CalicoRelease | undefined {
  return CALICO_RELEASES.find((r) => r.version === version);
}
