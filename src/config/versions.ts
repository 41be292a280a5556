// Kubernetes versions nkd can deploy, and the version-dependent facts the renderer needs.

export interface KubeVersion {
  major: number;
  minor: number;
  patch: number;
}

/** Oldest minor: `kubeadm config validate`, run on every node before init/join, exists from 1.26. */
export const MIN_MINOR = 26;
/** Newest minor whose kubeadm config API and images this release was checked against. */
export const MAX_MINOR = 37;

export function parseKubeVersion(text: string): KubeVersion | undefined {
  const match = /^v(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

export function supportedRangeText(): string {
  return `v1.${MIN_MINOR}.0 to v1.${MAX_MINOR}.x`;
}

export function isSupported(version: KubeVersion): boolean {
  return version.major === 1 && version.minor >= MIN_MINOR && version.minor <= MAX_MINOR;
}

export type KubeadmApiVersion = 'kubeadm.k8s.io/v1beta3' | 'kubeadm.k8s.io/v1beta4';

/** v1beta4 exists from 1.31; v1beta3 is removed in 1.36, so the switch is at 1.31 exactly. */
export function kubeadmApiVersion(version: KubeVersion): KubeadmApiVersion {
  return version.minor >= 31 ? 'kubeadm.k8s.io/v1beta4' : 'kubeadm.k8s.io/v1beta3';
}

/** The pause (sandbox) image tag kubeadm expects for each minor, so runtimes and kubeadm agree. */
export function pauseImageTag(version: KubeVersion): string {
  if (version.minor >= 36) return '3.10.2';
  if (version.minor >= 34) return '3.10.1';
  if (version.minor >= 31) return '3.10';
  return '3.9';
}
