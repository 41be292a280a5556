// Deterministic names and identities for a cluster's libvirt objects. Everything derives from the
// cluster and node names through sha256, so a re-run computes the same MACs, bridge and UUIDs.
import { createHash } from 'node:crypto';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Storage pool and network of a cluster: `nkd-<cluster>`. */
export function clusterObjectName(cluster: string): string {
  return `nkd-${cluster}`;
}

/** A Linux bridge name (<= 15 chars, IFNAMSIZ - 1): `nkd` + 8 hex digits of the network name's hash. */
export function bridgeName(networkName: string): string {
  return `nkd${sha256(`bridge:${networkName}`).subarray(0, 4).toString('hex')}`;
}

/**
 * `<cluster>-<node>`, or the node name alone when it already starts with `<cluster>-` (the planner's
 * generated names do), so user-fixed hostnames still cannot clash with another cluster's domains.
 */
export function domainName(cluster: string, node: string): string {
  return node.startsWith(`${cluster}-`) ? node : `${cluster}-${node}`;
}

/**
 * A locally administered unicast MAC in QEMU's 52:54:00 range: the rest is 3 bytes of
 * sha256(cluster/node[#attempt]). `attempt` lets a caller step past the (unlikely) collision of two
 * nodes of one cluster.
 */
export function macAddress(cluster: string, node: string, attempt = 0): string {
  const seed = attempt === 0 ? `${cluster}/${node}` : `${cluster}/${node}#${attempt}`;
  const bytes = [...sha256(seed).subarray(0, 3)].map((b) => b.toString(16).padStart(2, '0'));
  return ['52', '54', '00', ...bytes].join(':');
}

/** MACs for all nodes of a cluster, guaranteed distinct. */
export function macAddresses(cluster: string, nodes: readonly string[]): Map<string, string> {
  const byNode = new Map<string, string>();
  const taken = new Set<string>();
  for (const node of nodes) {
    let attempt = 0;
    let mac = macAddress(cluster, node);
    while (taken.has(mac)) mac = macAddress(cluster, node, ++attempt);
    taken.add(mac);
    byNode.set(node, mac);
  }
  return byNode;
}

/**
 * A stable UUID (RFC 4122 layout, version 5 bits) for a libvirt object of `kind` named `name`. Giving
 * libvirt our own UUID makes a repeated define of the same object a redefinition instead of a
 * "already exists with uuid ..." conflict, and lets create recognise an object it made earlier.
 */
export function objectUuid(kind: 'pool' | 'network' | 'domain', name: string): string {
  const b = sha256(`nkd:${kind}:${name}`).subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Volume names inside the cluster's pool. */
export const BASE_VOLUME_NAME = 'base-image';
/**
 * The base image volume for an image content fingerprint: each image the cluster was ever deployed with
 * has its own volume, because existing nodes' disks are overlays of the one they were created from.
 */
export function baseVolumeName(fingerprint: string | undefined): string {
  if (fingerprint === undefined) return BASE_VOLUME_NAME;
  return `${BASE_VOLUME_NAME}-${createHash('sha256').update(fingerprint).digest('hex').slice(0, 12)}`;
}
export function nodeVolumeName(domain: string): string {
  return `${domain}.qcow2`;
}
export function ignitionVolumeName(domain: string): string {
  return `${domain}.ign`;
}
