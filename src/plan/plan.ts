// Pure: a validated config becomes the cluster plan every later phase works from. No I/O, no clock,
// no randomness, so the same config always gives the same plan.
import { platformNetwork, platformSettings } from '../config/platform.js';
import type { ClusterConfig, Runtime } from '../config/schema.js';
import { parseEndpoint } from '../config/semantic.js';
import { KUBEADM_API_VERSION, parseKubeVersion, pauseImageTag } from '../config/versions.js';
import { firstHost, formatIpv4, isCidr, parseCidr, parseIpv4 } from '../lib/ipv4.js';
import { allocateNodes, reservedRanges } from './allocate.js';
import { PLAN_API_VERSION, type Bootstrap, type ClusterPlan, type Endpoint, type NodePlan } from './types.js';

export const API_SERVER_PORT = 6443;

const CRI_SOCKETS: Record<Runtime, string> = {
  containerd: 'unix:///run/containerd/containerd.sock',
  crio: 'unix:///var/run/crio/crio.sock',
  isulad: 'unix:///var/run/isulad.sock',
  // kubelet talks to docker only through cri-dockerd since dockershim's removal in 1.24.
  docker: 'unix:///var/run/cri-dockerd.sock',
};

/** Thrown only for configs that skipped validation: a programming error, not a user error. */
function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`plan: ${message} (config was not validated)`);
}

export function planCluster(config: ClusterConfig): ClusterPlan {
  const spec = config.spec;
  const net = platformNetwork(config);
  invariant(net, 'exactly one platform expected');
  const cidr = parseCidr(net.cidr);
  invariant(isCidr(cidr), 'invalid node cidr');
  const gateway = net.gateway === undefined ? firstHost(cidr) : parseIpv4(net.gateway);
  invariant(gateway !== undefined, 'invalid gateway');
  const allocation = allocateNodes(config, {
    cidr,
    gateway,
    path: net.path,
    reserved: reservedRanges(net.reserved),
  });
  invariant(allocation.problems.length === 0, allocation.problems[0]?.message ?? 'allocation failed');
  const version = parseKubeVersion(spec.kubernetes.version);
  invariant(version, 'invalid Kubernetes version');

  const nodes: NodePlan[] = allocation.nodes.map((node) => {
    const group = node.role === 'control-plane' ? spec.controlPlane : spec.workers;
    return {
      name: node.hostname,
      role: node.role,
      bootstrap: bootstrapOf(node.role, node.index),
      index: node.index,
      address: node.address,
      cpus: group.cpus,
      memoryMiB: group.memoryMiB,
      diskGiB: group.diskGiB,
    };
  });
  const endpoint = controlPlaneEndpoint(spec.kubernetes.controlPlaneEndpoint, nodes, net.apiAddress);
  const settings = platformSettings(config);

  return {
    apiVersion: PLAN_API_VERSION,
    kind: 'ClusterPlan',
    name: config.metadata.name,
    kubernetes: {
      version: spec.kubernetes.version,
      kubeadmApiVersion: KUBEADM_API_VERSION,
      imageRepository: spec.kubernetes.imageRepository,
      pauseImage: `${spec.kubernetes.imageRepository}/pause:${pauseImageTag(version)}`,
      podSubnet: spec.kubernetes.podSubnet,
      serviceSubnet: spec.kubernetes.serviceSubnet,
      dnsDomain: spec.kubernetes.dnsDomain,
      controlPlaneEndpoint: endpoint,
      apiServerCertSANs: certSANs(endpoint, nodes, [
        ...(net.apiAddress ? [net.apiAddress] : []),
        ...(net.apiSANs ?? []),
      ]),
      ...(net.apiVip && net.apiAddress !== undefined
        ? { apiVip: { address: net.apiAddress, virtualRouterId: net.apiVip.virtualRouterId } }
        : {}),
    },
    runtime: { name: spec.runtime, criSocket: CRI_SOCKETS[spec.runtime] },
    registries: spec.registries,
    network: { plugin: spec.network.plugin, cidr: net.cidr, gateway: formatIpv4(gateway) },
    access: spec.access,
    os: spec.os,
    housekeeper: spec.housekeeper,
    platform: {
      name: net.platform,
      ...(settings.nodeSizing === 'platform' ? { nodeSizing: 'platform' as const } : {}),
      ...(settings.settings.length > 0 ? { settings: settings.settings } : {}),
    },
    nodes,
  };
}

function bootstrapOf(role: NodePlan['role'], index: number): Bootstrap {
  if (role === 'worker') return 'join';
  return index === 1 ? 'init' : 'join-control-plane';
}

function controlPlaneEndpoint(configured: string, nodes: NodePlan[], apiAddress?: string): Endpoint {
  const parsed = configured === '' ? undefined : parseEndpoint(configured);
  if (parsed) return parsed;
  // The platform holds an address for the API (a load balancer in front of every control plane).
  if (apiAddress !== undefined) return { host: apiAddress, port: API_SERVER_PORT };
  const first = nodes.find((n) => n.bootstrap === 'init');
  invariant(first, 'no control-plane node');
  return { host: first.address, port: API_SERVER_PORT };
}

/**
 * The endpoint name, the platform's API addresses (load balancer, a floating IP known in advance) and
 * every control-plane name and address, sorted and without duplicates.
 */
function certSANs(endpoint: Endpoint, nodes: NodePlan[], apiAddresses: string[]): string[] {
  const names = new Set<string>([endpoint.host, ...apiAddresses]);
  for (const node of nodes) {
    if (node.role !== 'control-plane') continue;
    names.add(node.name);
    names.add(node.address);
  }
  return [...names].sort();
}

export function endpointText(endpoint: Endpoint): string {
  return `${endpoint.host}:${endpoint.port}`;
}

export function initNode(plan: ClusterPlan): NodePlan {
  const node = plan.nodes.find((n) => n.bootstrap === 'init');
  invariant(node, 'no init node');
  return node;
}

/** Parses `host:port` (as written by endpointText and reported by providers); undefined if malformed. */
export function parseEndpointText(text: string): Endpoint | undefined {
  const bracketed = /^\[([0-9a-f:.]+)\]:(\d{1,5})$/i.exec(text);
  const match = bracketed ?? /^([^:\s]+):(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const port = Number(match[2]);
  return port >= 1 && port <= 65535 ? { host: match[1]!.toLowerCase(), port } : undefined;
}
