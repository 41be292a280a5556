// The CustomResourceDefinitions Calico's Kubernetes datastore keeps its state in, generated from a table.
//
// Why not Calico's own full OpenAPI schemas: they run to tens of thousands of lines per release and would
// have to be copied verbatim. apiextensions.k8s.io/v1 only demands a *structural* schema, and prunes any
// field the schema does not declare. Declaring spec and status as objects with
// `x-kubernetes-preserve-unknown-fields: true` keeps every field Calico writes, at any release, while the
// API server still checks the top-level shape. The cost: the API server does not validate or default the
// fields inside spec; calico-node, kube-controllers and the CNI plugin validate what they read.
//
// No status subresource, on purpose: Calico's datastore client writes spec and status in one update,
// and with the subresource enabled the API server would silently drop the status part.
import type { KubeObject } from '../../cluster/types.js';

export const CALICO_CRD_GROUP = 'crd.projectcalico.org';

interface CrdRow {
  kind: string;
  plural: string;
  namespaced?: boolean;
}

/** What calico-node, the CNI plugin and kube-controllers read or write in every supported release. */
const CALICO_CRDS: readonly CrdRow[] = [
  { kind: 'BGPConfiguration', plural: 'bgpconfigurations' },
  { kind: 'BGPFilter', plural: 'bgpfilters' },
  { kind: 'BGPPeer', plural: 'bgppeers' },
  { kind: 'BlockAffinity', plural: 'blockaffinities' },
  { kind: 'CalicoNodeStatus', plural: 'caliconodestatuses' },
  { kind: 'ClusterInformation', plural: 'clusterinformations' },
  { kind: 'FelixConfiguration', plural: 'felixconfigurations' },
  { kind: 'GlobalNetworkPolicy', plural: 'globalnetworkpolicies' },
  { kind: 'GlobalNetworkSet', plural: 'globalnetworksets' },
  { kind: 'HostEndpoint', plural: 'hostendpoints' },
  { kind: 'IPAMBlock', plural: 'ipamblocks' },
  { kind: 'IPAMConfig', plural: 'ipamconfigs' },
  { kind: 'IPAMHandle', plural: 'ipamhandles' },
  { kind: 'IPPool', plural: 'ippools' },
  { kind: 'IPReservation', plural: 'ipreservations' },
  { kind: 'KubeControllersConfiguration', plural: 'kubecontrollersconfigurations' },
  { kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true },
  { kind: 'NetworkSet', plural: 'networksets', namespaced: true },
];

/** Added with tiered policy (Calico 3.29). */
const TIER_CRD: CrdRow = { kind: 'Tier', plural: 'tiers' };

const OPEN_OBJECT = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } as const;

function structuralSchema(): Record<string, unknown> {
  return {
    openAPIV3Schema: {
      type: 'object',
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'object' },
        spec: { ...OPEN_OBJECT },
        status: { ...OPEN_OBJECT },
      },
    },
  };
}

function crd(
  group: string,
  version: string,
  row: CrdRow,
  metadata: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): KubeObject {
  const singular = row.kind.toLowerCase();
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${row.plural}.${group}`, ...metadata },
    spec: {
      group,
      names: { kind: row.kind, listKind: `${row.kind}List`, plural: row.plural, singular },
      scope: row.namespaced ? 'Namespaced' : 'Cluster',
      versions: [{ name: version, served: true, storage: true, schema: structuralSchema(), ...extra }],
    },
  };
}

/**
 * Kubernetes' own AdminNetworkPolicy CRD (sig-network's network-policy-api, v1alpha1), which Calico 3.29
 * watches. Groups under k8s.io are protected: the API server refuses such a CRD without the
 * api-approved.kubernetes.io annotation naming where the API was approved.
 */
function adminNetworkPolicyCrd(): KubeObject {
  return crd(
    'policy.networking.k8s.io',
    'v1alpha1',
    { kind: 'AdminNetworkPolicy', plural: 'adminnetworkpolicies' },
    {
      annotations: {
        'api-approved.kubernetes.io': 'https://github.com/kubernetes-sigs/network-policy-api/pull/30',
      },
    },
    // Upstream declares the status subresource here (controllers report conditions through it).
    { subresources: { status: {} } },
  );
}

/** Every CRD the release needs, sorted by name so the order never depends on the table's. */
export function calicoCrds(options: { tiers: boolean }): KubeObject[] {
  const rows = options.tiers ? [...CALICO_CRDS, TIER_CRD] : [...CALICO_CRDS];
  const objects = rows.map((row) => crd(CALICO_CRD_GROUP, 'v1', row));
  if (options.tiers) objects.push(adminNetworkPolicyCrd());
  return objects.sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
}
