// The original's kubernetes section → spec.kubernetes, spec.network and spec.os. Cluster secrets are
// dropped (nkd generates them per cluster); settings nkd derives itself are dropped with the reason.
import { DEFAULT_KUBE_VERSION, isPastSupport, parseKubeVersion, supportedRangeText } from '../versions.js';
import { given, type ConvertContext } from './context.js';
import type { OriginalConfig } from './original.js';

type Kube = NonNullable<OriginalConfig['kubernetes']>;

/** The original's defaults for keys it filled in itself. */
export const ORIGINAL_KUBERNETES_VERSION = 'v1.29.1';
const ORIGINAL_SERVICE_SUBNET = '10.96.0.0/16';
const ORIGINAL_POD_SUBNET = '10.244.0.0/16';
const API_PORT = 6443;

const DROPPED: Partial<Record<keyof Kube, string>> = {
  token: 'dropped: nkd generates the bootstrap token and keeps it in its state directory (0600)',
  certificateKey:
    'dropped: nkd generates the certificate key for control-plane joins and keeps it in its state directory (0600)',
  adminKubeconfig:
    'dropped: nkd writes the admin kubeconfig into its state directory; `nkd kubeconfig <name>` prints it',
  kubernetesApiVersion:
    'dropped: nkd writes kubeadm config API v1beta4, which every Kubernetes version it deploys reads',
  registryMirror:
    'dropped: nkd has no registry mirror setting; point spec.kubernetes.imageRepository at a registry that holds the images',
  pauseImage:
    'dropped: nkd uses the pause image kubeadm expects for the Kubernetes version, from spec.kubernetes.imageRepository',
  packageList:
    'dropped: RPM packages were for generalos nodes; on NestOS the release image (spec.os.releaseImage) carries kubeadm, kubelet and kubectl',
  rpmPackagePath:
    'dropped: RPM packages were for generalos nodes; on NestOS the release image (spec.os.releaseImage) carries kubeadm, kubelet and kubectl',
};

export function convertKubernetes(
  kube: Kube,
  ctx: ConvertContext,
): {
  kubernetes: Record<string, string>;
  network: { plugin: string };
  os: { releaseImage: string } | undefined;
} {
  for (const [key, message] of Object.entries(DROPPED)) {
    if (isGiven(kube[key as keyof Kube])) ctx.warn(`kubernetes.${key}`, message);
  }
  const kubernetes: Record<string, string> = { version: version(kube, ctx) };
  ctx.from('spec.kubernetes.version', 'kubernetes.kubernetesVersion');
  const endpoint = apiEndpoint(kube, ctx);
  if (endpoint !== undefined) kubernetes.controlPlaneEndpoint = endpoint;
  ctx.from('spec.kubernetes.controlPlaneEndpoint', 'kubernetes.apiserverEndpoint');
  const registry = given(kube.imageRegistry)?.replace(/\/+$/, '');
  if (registry !== undefined) {
    kubernetes.imageRepository = registry;
    ctx.from('spec.kubernetes.imageRepository', 'kubernetes.imageRegistry');
    if (registry === 'k8s.gcr.io' || registry.startsWith('k8s.gcr.io/')) {
      ctx.warn(
        'kubernetes.imageRegistry',
        'k8s.gcr.io is frozen and lacks recent Kubernetes images; registry.k8s.io replaces it',
      );
    }
  }
  kubernetes.podSubnet = subnet(kube, 'podSubnet', ORIGINAL_POD_SUBNET, ctx);
  kubernetes.serviceSubnet = subnet(kube, 'serviceSubnet', ORIGINAL_SERVICE_SUBNET, ctx);

  let os: { releaseImage: string } | undefined;
  const release = given(kube.releaseImageURL);
  if (release !== undefined) {
    os = { releaseImage: imageReference(release, ctx) };
    ctx.from('spec.os.releaseImage', 'kubernetes.releaseImageURL');
  }
  return { kubernetes, network: { plugin: plugin(kube, ctx) }, os };
}

function isGiven(value: unknown): boolean {
  if (typeof value === 'string') return value.trim() !== '';
  if (Array.isArray(value)) return value.length > 0;
  return value !== undefined && value !== null;
}

/**
 * The import builds a new cluster, so a version upstream no longer maintains (the original's default
 * 1.29 among them) becomes nkd's default, with a warning; a version too new or malformed is left for
 * the config check to report at the original key.
 */
function version(kube: Kube, ctx: ConvertContext): string {
  const text = given(kube.kubernetesVersion);
  // The original accepted "1.29.1" as well; kubeadm and nkd want the "v" prefix.
  const wanted = text === undefined ? ORIGINAL_KUBERNETES_VERSION : /^\d/.test(text) ? `v${text}` : text;
  const parsed = parseKubeVersion(wanted);
  if (parsed === undefined || !isPastSupport(parsed)) return wanted;
  const what = text === undefined ? `the original's default ${wanted}` : wanted;
  ctx.warn(
    'kubernetes.kubernetesVersion',
    `${what} is no longer maintained upstream (nkd deploys ${supportedRangeText()}): spec.kubernetes.version is ${DEFAULT_KUBE_VERSION}`,
  );
  return DEFAULT_KUBE_VERSION;
}

function apiEndpoint(kube: Kube, ctx: ConvertContext): string | undefined {
  const text = given(kube.apiserverEndpoint);
  if (text === undefined) return undefined;
  const bare = text.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (/:\d+$/.test(bare)) {
    if (bare !== text) ctx.warn('kubernetes.apiserverEndpoint', `"${text}" becomes host:port "${bare}"`);
    return bare;
  }
  ctx.warn(
    'kubernetes.apiserverEndpoint',
    `"${text}" has no port; spec.kubernetes.controlPlaneEndpoint is ${bare}:${API_PORT}`,
  );
  return `${bare}:${API_PORT}`;
}

function subnet(
  kube: Kube,
  key: 'podSubnet' | 'serviceSubnet',
  fallback: string,
  ctx: ConvertContext,
): string {
  const nested = given(kube.network?.[key]);
  const direct = given(kube[key]);
  if (nested !== undefined && direct !== undefined && nested !== direct) {
    ctx.warn(`kubernetes.${key}`, `differs from kubernetes.network.${key} (${nested}), which is used`);
  }
  ctx.from(
    `spec.kubernetes.${key}`,
    nested !== undefined ? `kubernetes.network.${key}` : `kubernetes.${key}`,
  );
  return nested ?? direct ?? fallback;
}

/** nkd installs calico or flannel from manifests it bundles and tested; anything else is yours. */
function plugin(kube: Kube, ctx: ConvertContext): string {
  const text = given(kube.network?.plugin);
  ctx.from('spec.network', 'kubernetes.network.plugin');
  if (text === undefined) return 'calico';
  const lower = text.toLowerCase();
  if (lower === 'calico' || lower === 'flannel') return lower;
  // The original also took a manifest URL; its plugin is carried over, its old manifest is not.
  const named = ['calico', 'flannel'].find((p) => /[/:]/.test(lower) && lower.includes(p));
  if (named !== undefined) {
    ctx.warn(
      'kubernetes.network.plugin',
      `"${text}" is a manifest; nkd installs its bundled, tested ${named} instead (spec.network.manifest can name your own)`,
    );
    return named;
  }
  ctx.warn(
    'kubernetes.network.plugin',
    `"${text}" is not a plugin nkd installs (calico, flannel): spec.network.plugin is none; apply your CNI manifests through spec.hooks.postDeploy`,
  );
  return 'none';
}

/** The original's release image URL could carry an ostree transport; nkd wants a plain reference. */
function imageReference(url: string, ctx: ConvertContext): string {
  const plain = url.replace(
    /^(docker:\/\/|ostree-unverified-registry:|ostree-unverified-image:docker:\/\/)/,
    '',
  );
  if (plain !== url) {
    ctx.warn(
      'kubernetes.releaseImageURL',
      `the transport prefix is dropped: spec.os.releaseImage is ${plain}`,
    );
  }
  return plain;
}
