// Kubernetes' version rules as they bind an upgrade, checked before the agent touches its node: kubeadm
// upgrades one minor at a time and never downgrades, and a kubelet may be older than the API server but
// never newer (the version-skew policy).

interface Version {
  major: number;
  minor: number;
  patch: number;
}

/** `v1.31.2` (a gitVersion may carry a suffix such as `+k3s1` or `-rc.0`, ignored). */
export function parseVersion(text: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

const compare = (a: Version, b: Version) => a.major - b.major || a.minor - b.minor || a.patch - b.patch;

/** Why kubeadm cannot take a cluster whose API server runs `server` to `target`, or undefined. */
export function upgradePathProblem(server: string, target: string): string | undefined {
  const s = parseVersion(server);
  const t = parseVersion(target);
  if (!s || !t) return `cannot compare the API server's version ${server} with ${target}`;
  if (compare(t, s) < 0)
    return `the API server runs ${server}: ${target} would be a downgrade, which kubeadm refuses`;
  if (t.major !== s.major || t.minor > s.minor + 1) {
    return `the API server runs ${server}: kubeadm upgrades one minor version at a time, so ${target} is out of reach`;
  }
  return undefined;
}

/** Why a kubelet of version `kubelet` may not run against an API server of `server`, or undefined. */
export function kubeletSkewProblem(server: string, kubelet: string): string | undefined {
  const s = parseVersion(server);
  const k = parseVersion(kubelet);
  if (!s || !k) return undefined;
  if (k.major === s.major && k.minor <= s.minor) return undefined;
  return `its kubelet ${kubelet} would be newer than the API server ${server}, which the version-skew policy forbids`;
}
