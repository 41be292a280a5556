// The provider contract (docs/provider-contract.md). A provider turns the cluster plan and each node's
// rendered Ignition into infrastructure through a Pulumi program, and reports a fixed output shape.
// The descriptor is light (zod only) because config validation needs it on every run; the program
// module, which imports Pulumi, is loaded lazily and only when provisioning.
import type { z } from 'zod';
import type { NodeRole } from '../src/plan/allocate.js';
import type { ClusterPlan, NodePlan } from '../src/plan/types.js';

/** The node network a provider's config section declares; nkd plans addresses inside it. */
export interface NodeNetworkConfig {
  cidr: string;
  gateway: string | undefined;
  /** Address ranges the platform keeps for itself: no node is ever planned there. */
  reserved?: { first: string; last: string; why: string; path: readonly string[] }[];
  /** An address the platform holds for the API endpoint (a load balancer): the default endpoint host. */
  apiAddress?: string;
  /** Set when `apiAddress` is a VIP that keepalived on the control planes holds (VRRP between them). */
  apiVip?: { virtualRouterId: number };
  /** Further addresses the API is reached by and known before provisioning: API certificate SANs. */
  apiSANs?: string[];
}

/**
 * A platform setting recorded in the plan, so `nkd diff` and `deploy` see its edits. `refuse`: changing
 * it would break a deployed cluster half-way (nkd refuses); `new-nodes-only`: existing nodes keep what
 * they were created with.
 */
export interface PlatformSetting {
  path: string;
  value: string;
  onChange: 'refuse' | 'new-nodes-only';
  why: string;
}

/** How a node receives its Ignition config. */
export type IgnitionDelivery =
  /** Boots a small pointer config (user data) that merges the full config from nkd's HTTPS service. */
  | 'pointer'
  /** Receives the full config directly (e.g. libvirt fw_cfg); no network service needed. */
  | 'direct';

export interface ProviderDescriptor<C> {
  readonly name: string;
  readonly summary: string;
  /** The schema of `spec.platform.<name>`; strict, with defaults. */
  readonly configSchema: z.ZodType<C>;
  /** A commented, valid `platform:` section for `nkd template` (indented for `spec:`). */
  readonly templateSection: string;
  readonly delivery: IgnitionDelivery;
  /**
   * Whether a create re-run after an interruption adopts what the interrupted one made (so the engine
   * may forget creates left pending), instead of making a second, orphaning the first.
   */
  readonly adoptsInterruptedCreates: boolean;
  /** Pulumi resource plugins the program needs (installed by the Pulumi CLI). */
  readonly plugins: readonly { name: string; version: string }[];
  nodeNetwork(config: C): NodeNetworkConfig;
  /**
   * `platform`: nodes are sized by the platform (a flavor), so the config's cpus, memoryMiB and diskGiB
   * are refused when set and the diff does not compare them. Default: `config`.
   */
  readonly nodeSizing?: 'config' | 'platform';
  /**
   * With `nodeSizing: 'platform'`: what sizes each instead (shown when the config sets one, which is
   * refused), e.g. `the flavor sizes the nodes (spec.platform.openstack.flavor)`.
   */
  readonly sizedBy?: Readonly<Record<'cpus' | 'memoryMiB' | 'diskGiB', string>>;
  /** Settings whose edits the diff must see (see PlatformSetting). */
  planSettings?(config: C): PlatformSetting[];
  /** Checks across keys of the section; paths are relative to `spec.platform.<name>`. */
  check?(config: C): { path: (string | number)[]; message: string; severity: 'error' | 'warning' }[];
  /**
   * For `pointer` delivery: where nkd's Ignition service listens and how nodes reach it, with the
   * config key path to name in errors.
   */
  ignitionService?(config: C): { listen: string; advertise: string | undefined; path: readonly string[] };
  /**
   * For `pointer` delivery: true when the program itself stores each node's full config in the
   * platform's object store and signs the pointer's URL (ProgramInput.ignitionObjects), so no Ignition
   * service runs and nothing calls back to this machine.
   */
  objectStoreDelivery?(config: C): ObjectStoreDelivery | undefined;
  loadProgram(): Promise<ProviderProgram<C>>;
}

export interface NodeBootData {
  node: NodePlan;
  /** The node's complete Ignition config (what `assets/ignition/<name>.ign` holds). */
  ignition: string;
  /** For `pointer` delivery: the pointer config text to boot with (user data). */
  pointer?: string;
}

export interface ProgramInput<C> {
  plan: ClusterPlan;
  platform: C;
  nodes: NodeBootData[];
  /** The cluster's state directory, for files a provider must keep (never inside the user's repo). */
  clusterDir: string;
  /** With object-store delivery: what the program needs to store configs and sign their URLs. */
  ignitionObjects?: IgnitionObjects;
}

export interface ObjectStoreDelivery {
  /** How long the pointers' URLs work, from the start of a deploy. */
  urlLifetimeMinutes: number;
  /** A URL that deletes a node's stored config (ProvisionOutputs.ignitionStore), valid until `expires`. */
  deleteUrl(
    store: { storageUrl: string; container: string },
    node: string,
    key: string,
    expires: number,
  ): string;
}

export interface IgnitionObjects {
  /** The secret that signs the objects' temporary URLs (set on the container the program creates). */
  tempUrlKey: string;
  /** Unix time (seconds) until which the pointers' URLs work. */
  expires: number;
  /** Nodes whose configs are stored: those not known to have fetched theirs (joined nodes have). */
  store: string[];
}

/** Every provider reports exactly this, as Pulumi stack outputs. */
export interface ProvisionedNode {
  name: string;
  role: NodeRole;
  address: string;
  providerId: string;
  /** Where the node's serial console is logged, when the platform offers that (libvirt). */
  consoleLog?: string;
}

export interface ProvisionOutputs {
  /** host:port of the Kubernetes API as reachable from the deployer. */
  apiEndpoint: string;
  nodes: ProvisionedNode[];
  /** With object-store delivery: the object store's account URL and the container of the configs. */
  ignitionStore?: { storageUrl: string; container: string };
}

export interface ProviderProgram<C> {
  /**
   * Registers the cluster's resources with Pulumi and returns the stack outputs (values may be Pulumi
   * Outputs). Runs inside a Pulumi program context: the engine's inline program, or tests' setMocks.
   */
  run(input: ProgramInput<C>): Promise<Record<string, unknown>>;
}

/** The cluster name as a resource tag/label value, the same on every resource of every provider. */
export function clusterTag(cluster: string): string {
  return `nkd-cluster=${cluster}`;
}
