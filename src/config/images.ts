// Where the cluster's images come from. kubernetes.imageRepository is the cluster's one registry: the
// control-plane images (through kubeadm), the runtimes' pause image, and, once it names anything but
// the upstream default, every other image nkd renders (network plugin, Housekeeper), under the same
// path it has upstream. This is what a disconnected site needs: one mirror that holds everything.
// The values here land verbatim in TOML, JSON, YAML and systemd files, so their syntax is closed:
// nothing that could end a string or a line gets through.

export const DEFAULT_IMAGE_REPOSITORY = 'registry.k8s.io';

// A registry host: a DNS name or IPv4 address, lowercase, with an optional port. No scheme, no path.
// A DNS label holds at most 63 characters.
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST = `${LABEL}(?:\\.${LABEL})*`;
const PORT = '(?::[0-9]{1,5})?';
// A repository path component of the OCI distribution spec.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';

export const REGISTRY_HOST = new RegExp(`^${HOST}${PORT}$`);
export const IMAGE_REPOSITORY = new RegExp(`^${HOST}${PORT}(?:/${COMPONENT})*$`);
export const REGISTRY_HOST_EXAMPLE = 'registry.example:5000';
export const IMAGE_REPOSITORY_EXAMPLE = 'registry.example:5000/k8s';

/** The port of `host[:port]`, when it has one. */
export function registryPort(host: string): number | undefined {
  const match = /:([0-9]+)$/.exec(host);
  return match ? Number(match[1]) : undefined;
}

/** Maps an upstream image reference (with its registry host) to the one the cluster pulls. */
export type ImageResolver = (upstream: string) => string;

/**
 * Upstream references unchanged with the default repository; otherwise the upstream path (without its
 * registry host) under the configured repository: docker.io/flannel/flannel:v0.26.1 becomes
 * MIRROR/flannel/flannel:v0.26.1, the layout `crane copy` or `skopeo sync` produce when mirroring.
 */
export function imageResolver(imageRepository: string): ImageResolver {
  if (imageRepository === DEFAULT_IMAGE_REPOSITORY) return (upstream) => upstream;
  return (upstream) => {
    const slash = upstream.indexOf('/');
    if (slash <= 0) throw new Error(`images: "${upstream}" has no registry host`);
    return `${imageRepository}/${upstream.slice(slash + 1)}`;
  };
}

export const UPSTREAM_IMAGES: ImageResolver = (upstream) => upstream;
