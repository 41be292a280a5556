// Checks that need more than one field at a time: address plans, subnet overlaps, versions, sizes.
// Runs only on a config that passed the schema, and collects every problem instead of stopping early.
import { allocateNodes, reservedRanges, totalNodes, type NodeNetwork } from '../plan/allocate.js';
import {
  cidrsOverlap,
  firstHost,
  formatCidr,
  isAssignable,
  isCidr,
  parseCidr,
  parseIpv4,
  type Cidr,
} from '../lib/ipv4.js';
import { capValue } from '../lib/cap.js';
import { error, warning, type Problem } from './problems.js';
import { platformNetwork, selectedPlatforms } from './platform.js';
import type { ClusterConfig } from './schema.js';
import { checkPlatformNodeSizes } from './semantic-sizes.js';
import { isSupported, parseKubeVersion, unsupportedReason } from './versions.js';
import { checkAccess, checkHousekeeperImage, checkReleaseImage } from './semantic-fields.js';
import { checkNetwork } from './semantic-network.js';
import { checkSubnetRoom } from './semantic-subnets.js';
import { checkRegistries } from './semantic-registries.js';
import { providerFor } from '../../providers/registry.js';

/**
 * kubeadm's preflight refuses control-plane nodes below these (NumCPU and Mem checks). Its Mem check
 * wants 1700 MB of the RAM the kernel reports, which is ~150 MiB under the machine's (a 1700 MiB node
 * reported ~1555 MiB and was refused on a real first boot), so the machine needs 2048 MiB.
 */
const CONTROL_PLANE_MIN_CPUS = 2;
const CONTROL_PLANE_MIN_MEMORY_MIB = 2048;

/** `raw` is the config as written, before defaults: some checks must know what the user set. */
export function checkSemantics(config: ClusterConfig, raw: unknown): Problem[] {
  return [
    ...checkKubernetes(config),
    ...checkControlPlane(config),
    ...checkPlatformAndAddresses(config),
    ...checkAccess(config),
    ...checkReleaseImage(config),
    ...checkHousekeeperImage(config),
    ...checkProvider(config),
    ...checkPlatformNodeSizes(config, raw),
    ...checkRuntime(config),
    ...checkNetwork(config),
    ...checkSubnetRoom(config),
    ...checkRegistries(config),
  ];
}

function checkKubernetes(config: ClusterConfig): Problem[] {
  const problems: Problem[] = [];
  const k8s = config.spec.kubernetes;
  const version = parseKubeVersion(k8s.version);
  if (version && !isSupported(version)) {
    problems.push(
      error(['spec', 'kubernetes', 'version'], unsupportedReason(capValue(k8s.version), version)),
    );
  }
  if (k8s.controlPlaneEndpoint !== '' && !parseEndpoint(k8s.controlPlaneEndpoint)) {
    problems.push(
      error(
        ['spec', 'kubernetes', 'controlPlaneEndpoint'],
        `"${capValue(k8s.controlPlaneEndpoint)}" must be host:port with a port from 1 to 65535`,
      ),
    );
  }
  return problems;
}

export function parseEndpoint(text: string): { host: string; port: number } | undefined {
  const match = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?):(\d{1,5})$/i.exec(text);
  if (!match) return undefined;
  const port = Number(match[3]);
  return port >= 1 && port <= 65535 ? { host: match[1]!.toLowerCase(), port } : undefined;
}

function checkControlPlane(config: ClusterConfig): Problem[] {
  const cp = config.spec.controlPlane;
  const problems: Problem[] = [];
  if (cp.cpus < CONTROL_PLANE_MIN_CPUS) {
    problems.push(
      error(
        ['spec', 'controlPlane', 'cpus'],
        `must be at least ${CONTROL_PLANE_MIN_CPUS}: kubeadm refuses smaller control-plane nodes`,
      ),
    );
  }
  if (cp.memoryMiB < CONTROL_PLANE_MIN_MEMORY_MIB) {
    problems.push(
      error(
        ['spec', 'controlPlane', 'memoryMiB'],
        `must be at least ${CONTROL_PLANE_MIN_MEMORY_MIB}: kubeadm refuses control-plane nodes whose kernel reports under 1700 MB`,
      ),
    );
  }
  // A platform that holds an API address (a load balancer) makes the default endpoint highly available.
  const apiAddress = platformNetwork(config)?.apiAddress;
  if (cp.count > 1 && config.spec.kubernetes.controlPlaneEndpoint === '' && apiAddress === undefined) {
    problems.push(
      warning(
        ['spec', 'kubernetes', 'controlPlaneEndpoint'],
        `not set: with ${cp.count} control-plane nodes the API endpoint defaults to the first one, which then stays a single point of failure; set it to a load balancer or virtual IP`,
      ),
    );
  }
  if (cp.count === 2) {
    problems.push(
      warning(
        ['spec', 'controlPlane', 'count'],
        '2 control-plane nodes give no etcd fault tolerance (losing either stops the cluster); use 1 or 3',
      ),
    );
  } else if (cp.count > 2 && cp.count % 2 === 0) {
    problems.push(
      warning(
        ['spec', 'controlPlane', 'count'],
        `${cp.count} control-plane nodes tolerate no more failures than ${cp.count - 1}; an odd count is recommended`,
      ),
    );
  }
  return problems;
}

function subnet(
  config: ClusterConfig,
  key: 'podSubnet' | 'serviceSubnet',
  problems: Problem[],
): Cidr | undefined {
  const parsed = parseCidr(config.spec.kubernetes[key]);
  if (isCidr(parsed)) return parsed;
  problems.push(error(['spec', 'kubernetes', key], parsed.error));
  return undefined;
}

function checkPlatformAndAddresses(config: ClusterConfig): Problem[] {
  const problems: Problem[] = [];
  const selected = selectedPlatforms(config);
  if (selected.length !== 1) {
    const found = selected.length === 0 ? 'none is set' : `found ${selected.join(' and ')}`;
    problems.push(
      error(['spec', 'platform'], `exactly one platform must be set (libvirt or openstack); ${found}`),
    );
  }
  const pods = subnet(config, 'podSubnet', problems);
  const services = subnet(config, 'serviceSubnet', problems);
  if (pods && services && cidrsOverlap(pods, services)) {
    problems.push(
      error(
        ['spec', 'kubernetes', 'serviceSubnet'],
        `${formatCidr(services)} overlaps podSubnet ${formatCidr(pods)}`,
      ),
    );
  }
  const net = platformNetwork(config);
  if (!net) return problems;
  const parsed = parseCidr(net.cidr);
  if (!isCidr(parsed)) {
    problems.push(error([...net.path, 'cidr'], parsed.error));
    return problems;
  }
  for (const [key, other] of [
    ['podSubnet', pods],
    ['serviceSubnet', services],
  ] as const) {
    if (other && cidrsOverlap(parsed, other)) {
      problems.push(
        error(
          ['spec', 'kubernetes', key],
          `${formatCidr(other)} overlaps the node network ${formatCidr(parsed)}`,
        ),
      );
    }
  }
  if (parsed.prefix > 30) {
    problems.push(
      error([...net.path, 'cidr'], `${net.cidr} is too small for a node network (use /30 or larger)`),
    );
    return problems;
  }
  const gateway = resolveGateway(parsed, net.gateway, [...net.path, 'gateway'], problems);
  if (gateway === undefined) return problems;
  const network: NodeNetwork = {
    cidr: parsed,
    gateway,
    path: net.path,
    reserved: reservedRanges(net.reserved),
  };
  problems.push(...allocateNodes(config, network).problems);
  const endpoint = parseEndpoint(config.spec.kubernetes.controlPlaneEndpoint);
  const endpointIp = endpoint ? parseIpv4(endpoint.host) : undefined;
  if (endpointIp !== undefined && endpointIp === gateway) {
    problems.push(
      error(
        ['spec', 'kubernetes', 'controlPlaneEndpoint'],
        'points at the gateway, not at a control-plane address',
      ),
    );
  }
  if (totalNodes(config) === 0)
    problems.push(error(['spec', 'controlPlane', 'count'], 'the cluster has no nodes'));
  return problems;
}

function resolveGateway(
  cidr: Cidr,
  text: string | undefined,
  path: string[],
  problems: Problem[],
): number | undefined {
  if (text === undefined) return firstHost(cidr);
  const gateway = parseIpv4(text);
  if (gateway === undefined) {
    problems.push(error(path, `"${capValue(text)}" is not an IPv4 address`));
    return undefined;
  }
  // A gateway is an ordinary host address of the network: check it as one (with no gateway yet).
  if (!isAssignable(cidr, -1, gateway)) {
    problems.push(error(path, `${capValue(text)} is not a host address of ${formatCidr(cidr)}`));
    return undefined;
  }
  return gateway;
}

function checkRuntime(config: ClusterConfig): Problem[] {
  if (config.spec.runtime !== 'docker') return [];
  return [
    warning(
      ['spec', 'runtime'],
      'docker needs cri-dockerd on the node image (dockershim was removed in Kubernetes 1.24)',
    ),
  ];
}

/** The selected provider's own cross-key checks, reported under spec.platform.<name>. */
function checkProvider(config: ClusterConfig): Problem[] {
  const [name, ...rest] = selectedPlatforms(config);
  if (name === undefined || rest.length > 0) return [];
  const provider = providerFor(name);
  const own = (provider.check?.(config.spec.platform[name]) ?? []).map((p) => ({
    ...p,
    path: ['spec', 'platform', name, ...p.path],
  }));
  return own;
}
