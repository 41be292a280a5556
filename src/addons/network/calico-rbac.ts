// Service accounts and cluster roles of Calico's three identities. Each gets only what its component
// reads and writes in the Kubernetes datastore; the comments say which component needs a rule and why.
import type { KubeObject } from '../../cluster/types.js';
import { CALICO_CRD_GROUP } from './calico-crds.js';
import { clusterRole, clusterRoleBinding, serviceAccount, type PolicyRule } from './k8s.js';
import type { CalicoRelease } from './versions.js';

export const CALICO_NAMESPACE = 'kube-system';
export const CALICO_NODE = 'calico-node';
export const CALICO_CNI_PLUGIN = 'calico-cni-plugin';
export const CALICO_KUBE_CONTROLLERS = 'calico-kube-controllers';

const IPAM = ['blockaffinities', 'ipamblocks', 'ipamhandles'];
const CRUD = ['get', 'list', 'create', 'update', 'delete'];

function calico(resources: string[], verbs: string[]): PolicyRule {
  return { apiGroups: [CALICO_CRD_GROUP], resources, verbs };
}

function core(resources: string[], verbs: string[]): PolicyRule {
  return { apiGroups: [''], resources, verbs };
}

function calicoNodeRules(release: CalicoRelease): PolicyRule[] {
  const watched = [
    'bgpconfigurations',
    'bgpfilters',
    'bgppeers',
    'blockaffinities',
    'caliconodestatuses',
    'clusterinformations',
    'felixconfigurations',
    'globalnetworkpolicies',
    'globalnetworksets',
    'hostendpoints',
    'ipamblocks',
    'ippools',
    'ipreservations',
    'networkpolicies',
    'networksets',
    ...(release.tiers ? ['tiers'] : []),
  ];
  return [
    // calico-node mints short-lived tokens for the CNI plugin's kubeconfig on the host, and nothing else.
    { ...core(['serviceaccounts/token'], ['create']), resourceNames: [CALICO_CNI_PLUGIN] },
    core(['pods', 'nodes', 'namespaces'], ['get']),
    // Felix turns pods, namespaces and service accounts into endpoints and policy selectors.
    core(['pods', 'namespaces', 'serviceaccounts'], ['list', 'watch']),
    core(['nodes'], ['get', 'list', 'watch']),
    // Services and their endpoints: service-based policy rules and BGP service advertisement.
    core(['endpoints', 'services'], ['get', 'list', 'watch']),
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
    // The kubeadm-config ConfigMap, from which calico-node learns the cluster's pod CIDR.
    core(['configmaps'], ['get']),
    // Clears the NetworkUnavailable condition once routes are programmed.
    core(['nodes/status'], ['patch', 'update']),
    core(['pods/status'], ['patch']),
    { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list', 'watch'] },
    calico(watched, ['get', 'list', 'watch']),
    // On first start calico-node creates the default IP pool, FelixConfiguration and ClusterInformation.
    calico(['clusterinformations', 'felixconfigurations', 'ippools'], ['create', 'update']),
    ...(release.tiers ? [calico(['tiers'], ['create'])] : []),
    calico(['caliconodestatuses'], ['update']),
    // IPAM: the node claims address blocks and affinities for its pods.
    calico(IPAM, CRUD),
    calico(['ipamconfigs'], ['get', 'create']),
    // Reads its own DaemonSet to check the rollout it belongs to.
    { apiGroups: ['apps'], resources: ['daemonsets'], verbs: ['get'] },
    ...(release.tiers
      ? [
          {
            apiGroups: ['policy.networking.k8s.io'],
            resources: ['adminnetworkpolicies'],
            verbs: ['list', 'watch'],
          },
        ]
      : []),
  ];
}

/** The CNI plugin runs on the host for every pod sandbox, with the token calico-node gave it. */
function cniPluginRules(): PolicyRule[] {
  return [
    core(['pods', 'nodes', 'namespaces'], ['get']),
    // Writes the pod's IPs into an annotation so they are known before the kubelet reports them.
    core(['pods/status'], ['patch']),
    calico([...IPAM, 'clusterinformations', 'ipamconfigs', 'ippools', 'ipreservations'], CRUD),
  ];
}

function kubeControllersRules(release: CalicoRelease): PolicyRule[] {
  const rules: PolicyRule[] = [
    // The node controller garbage-collects IPAM state of deleted nodes and pods.
    core(['nodes', 'pods'], ['get', 'list', 'watch']),
    calico(IPAM, [...CRUD, 'watch']),
    calico(['ipreservations'], ['list']),
    calico(['ippools'], ['list', 'watch']),
    calico(['hostendpoints'], CRUD),
    calico(['clusterinformations'], ['get', 'list', 'create', 'update', 'watch']),
    calico(['kubecontrollersconfigurations'], ['get', 'list', 'create', 'update', 'watch']),
  ];
  if (release.kubeControllers.split(',').includes('loadbalancer')) {
    // The LoadBalancer IPAM controller assigns addresses to Services and records them in their status.
    rules.push(core(['services', 'services/status'], ['get', 'list', 'update', 'watch']));
  }
  if (release.tiers) rules.push(calico(['tiers'], ['get', 'list', 'watch']));
  return rules;
}

/** Service accounts first, then roles, then bindings: each object only names what precedes it. */
export function calicoRbac(release: CalicoRelease): KubeObject[] {
  const names = [CALICO_NODE, CALICO_CNI_PLUGIN, CALICO_KUBE_CONTROLLERS];
  return [
    ...names.map((name) => serviceAccount(name, CALICO_NAMESPACE)),
    clusterRole(CALICO_NODE, calicoNodeRules(release)),
    clusterRole(CALICO_CNI_PLUGIN, cniPluginRules()),
    clusterRole(CALICO_KUBE_CONTROLLERS, kubeControllersRules(release)),
    ...names.map((name) => clusterRoleBinding(name, CALICO_NAMESPACE)),
  ];
}
