// Kubernetes versions nkd can deploy, and the version-dependent facts the renderer needs.
//
// The range follows upstream's support policy: the three newest minors receive patch releases (about
// 14 months each). As of this release those are 1.35, 1.36 and 1.37 (1.34 left support in October
// 2026); 1.37 is also the newest stable minor on the Go module proxy, and the one the real-API tests
// run (scripts/tools/versions.env builds its kube-apiserver). Moving the range is a one-line change
// here plus the facts below, checked against that minor's kubeadm sources.

export interface KubeVersion {
  major: number;
  minor: number;
  patch: number;
}

/** Oldest minor upstream still maintains. */
export const MIN_MINOR = 35;
/** Newest stable minor: its kubeadm config API, pause image and API server were checked. */
export const MAX_MINOR = 37;
/**
 * The version a config gets when it names none: the newest patch of the newest minor, the same one
 * `npm run tools` builds and the real-API tests run (a unit test keeps the two equal).
 */
export const DEFAULT_KUBE_VERSION = 'v1.37.2';

export function parseKubeVersion(text: string): KubeVersion | undefined {
  const match = /^v(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

export function supportedRangeText(): string {
  return `v1.${MIN_MINOR}.0 to v1.${MAX_MINOR}.x`;
}

/** Every supported minor, oldest first, as `v1.N` (what `nkd version --json` lists). */
export function supportedMinors(): string[] {
  const minors: string[] = [];
  for (let minor = MIN_MINOR; minor <= MAX_MINOR; minor++) minors.push(`v1.${minor}`);
  return minors;
}

export function isSupported(version: KubeVersion): boolean {
  return version.major === 1 && version.minor >= MIN_MINOR && version.minor <= MAX_MINOR;
}

/** True for a version older than every supported minor: upstream no longer maintains it. */
export function isPastSupport(version: KubeVersion): boolean {
  return version.major < 1 || (version.major === 1 && version.minor < MIN_MINOR);
}

/** Why a version is refused, naming the range: "… is not supported: nkd deploys v1.35.0 to v1.37.x". */
export function unsupportedReason(text: string, version: KubeVersion): string {
  const why = isPastSupport(version)
    ? 'upstream no longer maintains it'
    : 'it is newer than nkd was checked against';
  return `${text} is not supported (${why}): nkd deploys ${supportedRangeText()}`;
}

export type KubeadmApiVersion = 'kubeadm.k8s.io/v1beta4';

/**
 * kubeadm 1.35 and 1.36 read v1beta3 and v1beta4, 1.37 reads v1beta4 and v1 but still prefers (writes)
 * v1beta4, and 1.37 refuses v1beta3. v1beta4 is therefore the one API every supported minor reads.
 */
export const KUBEADM_API_VERSION: KubeadmApiVersion = 'kubeadm.k8s.io/v1beta4';

/** The pause (sandbox) image tag kubeadm expects for each minor, so runtimes and kubeadm agree. */
export function pauseImageTag(version: KubeVersion): string {
  return version.minor >= 36 ? '3.10.2' : '3.10.1';
}
