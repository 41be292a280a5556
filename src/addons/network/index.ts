// The CNI add-on `nkd deploy` applies once the API server answers: either nkd's bundled manifests for
// calico or flannel (pure, deterministic, built from the config) or the user's own manifest from a file
// or an https:// URL (spec.network.manifest), applied instead. Nothing for plugin "none".
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { parseManifests } from '../../cluster/manifests.js';
import type { KubeObject, WorkloadRef } from '../../cluster/types.js';
import { DEFAULT_IMAGE_REPOSITORY, imageResolver } from '../../config/images.js';
import type { ClusterConfig } from '../../config/schema.js';
import { ExitCode, NkdError } from '../../errors.js';
import { calicoManifests } from './calico.js';
import { httpsFetch } from './fetch.js';
import type { ApiServerAddress } from '../api-server-env.js';
import { flannelManifests } from './flannel.js';
import {
  BUNDLED_NETWORK_VERSIONS,
  calicoRelease,
  defaultNetworkVersion,
  flannelRelease,
  type BundledNetworkPlugin,
} from './versions.js';

export { BUNDLED_NETWORK_VERSIONS, defaultNetworkVersion, type BundledNetworkPlugin } from './versions.js';
export {
  httpsFetch,
  MANIFEST_FETCH_TIMEOUT_MS,
  MANIFEST_MAX_REDIRECTS,
  type HttpsFetchOptions,
} from './fetch.js';

export interface NetworkAddon {
  plugin: BundledNetworkPlugin;
  /** The bundled version applied; '' when the objects come from spec.network.manifest. */
  version: string;
  source: 'bundled' | 'file' | 'url';
  /** The absolute file path or the URL the objects were read from (not set for bundled manifests). */
  location?: string;
  /** In apply order: Namespaces and CRDs before the objects that need them. */
  objects: KubeObject[];
}

export interface ResolveNetworkOptions {
  /** Directory of the config file: a relative spec.network.manifest is read from here. */
  baseDir: string;
  /** Fetches an https:// URL; default: httpsFetch (30 s, at most 3 redirects, https only). */
  fetch?: (url: string) => Promise<string>;
  /** The control-plane endpoint the nodes reach; the bundled flannel talks to it directly. */
  apiServer?: ApiServerAddress;
}

const MANIFEST_KEY = 'spec.network.manifest';

/**
 * The bundled manifests of `plugin` at `version`, their images pulled from `imageRepository` when it
 * is a mirror (see config/images.ts). Pure: same arguments, same objects.
 */
export function bundledNetworkManifests(
  plugin: BundledNetworkPlugin,
  version: string,
  options: { podSubnet: string; imageRepository?: string; apiServer?: ApiServerAddress },
): KubeObject[] {
  const image = imageResolver(options.imageRepository ?? DEFAULT_IMAGE_REPOSITORY);
  const unknown = () =>
    new NkdError(
      `spec.network.version: ${plugin} ${version} is not bundled (bundled: ${BUNDLED_NETWORK_VERSIONS[plugin].join(', ')})`,
      ExitCode.InvalidConfig,
    );
  if (plugin === 'calico') {
    const release = calicoRelease(version);
    if (!release) throw unknown();
    return calicoManifests(release, options.podSubnet, image);
  }
  const release = flannelRelease(version);
  if (!release) throw unknown();
  return flannelManifests(release, options.podSubnet, image, options.apiServer);
}

/** What to apply for spec.network, or undefined for plugin "none". Reads or fetches a user manifest. */
export async function resolveNetworkAddon(
  config: ClusterConfig,
  options: ResolveNetworkOptions,
): Promise<NetworkAddon | undefined> {
  const network = config.spec.network;
  if (network.plugin === 'none') return undefined;
  const plugin = network.plugin;
  const manifest = network.manifest.trim();
  if (manifest === '') {
    const version = network.version === '' ? defaultNetworkVersion(plugin) : network.version;
    const { podSubnet, imageRepository } = config.spec.kubernetes;
    const objects = bundledNetworkManifests(plugin, version, {
      podSubnet,
      imageRepository,
      ...(options.apiServer ? { apiServer: options.apiServer } : {}),
    });
    return { plugin, version, source: 'bundled', objects };
  }

  if (/^http:\/\//i.test(manifest)) {
    throw new NkdError(
      `${MANIFEST_KEY}: ${manifest} is plain http, which anyone on the path can alter; give an https:// URL or a file`,
      ExitCode.InvalidConfig,
    );
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(manifest) && !/^https:\/\//i.test(manifest)) {
    throw new NkdError(
      `${MANIFEST_KEY}: ${manifest}: only https:// URLs and file paths are supported`,
      ExitCode.InvalidConfig,
    );
  }

  let text: string;
  let source: 'file' | 'url';
  let location: string;
  if (/^https:\/\//i.test(manifest)) {
    source = 'url';
    location = manifest;
    try {
      text = await (options.fetch ?? ((url: string) => httpsFetch(url)))(manifest);
    } catch (err) {
      throw new NkdError(
        `${MANIFEST_KEY}: cannot fetch ${location}: ${oneLine(err)}`,
        ExitCode.InvalidConfig,
      );
    }
  } else {
    source = 'file';
    location = resolvePath(options.baseDir, manifest);
    try {
      text = await readFile(location, 'utf8');
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : oneLine(err);
      throw new NkdError(`${MANIFEST_KEY}: cannot read ${location}: ${reason}`, ExitCode.InvalidConfig);
    }
  }
  checkDigest(text, location, network.sha256);
  const objects = parseManifests(text, location);
  if (objects.length === 0) {
    throw new NkdError(`${MANIFEST_KEY}: ${location} holds no Kubernetes objects`, ExitCode.InvalidConfig);
  }
  return { plugin, version: '', source, location, objects };
}

/** The DaemonSets and Deployments among `objects`: what to wait for once they are applied. */
export function addonWorkloads(objects: readonly KubeObject[]): WorkloadRef[] {
  return objects.flatMap((obj): WorkloadRef[] =>
    (obj.kind === 'DaemonSet' || obj.kind === 'Deployment') && obj.apiVersion === 'apps/v1'
      ? [{ kind: obj.kind, namespace: obj.metadata?.namespace ?? 'default', name: obj.metadata?.name ?? '' }]
      : [],
  );
}

/** The manifest is applied as cluster-admin: content other than the pinned one is refused. */
function checkDigest(text: string, location: string, expected: string | undefined): void {
  if (expected === undefined) return;
  const actual = createHash('sha256').update(text, 'utf8').digest('hex');
  if (actual !== expected) {
    throw new NkdError(
      `spec.network.sha256: ${location} has sha256 ${actual}, not ${expected}: its content changed; refusing to apply it`,
      ExitCode.InvalidConfig,
    );
  }
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.trim();
}
