// Pure: the upgrades a cluster completed (Housekeeper Updates) and what they mean for nkd's plans. The
// config and the provisioned plan say what the nodes were deployed with; after `nkd upgrade` the nodes
// run something newer, and nodes added later must boot on that (an older kubelet joining, or the
// deploy-time image rebased onto, would undo the upgrade on the new nodes and break the version skew).
import { parseKubeVersion, pauseImageTag, type KubeVersion } from '../config/versions.js';
import type { UpdateObject } from '../housekeeper/types.js';
import type { ClusterPlan } from './types.js';

/** One Update that completed: what it brought every node to, and when. */
export interface CompletedUpgrade {
  update: string;
  completedAt: string;
  kubeVersion?: string;
  osImageURL?: string;
}

/** What nkd keeps in the cluster's state (upgrades.json): every completed Update it saw, oldest first. */
export interface UpgradeHistory {
  version: 1;
  completed: CompletedUpgrade[];
}

/** The versions the nodes run after the history: the newest completed Update that set each one. */
export interface CurrentVersions {
  kubernetes?: { version: string; update: string; completedAt: string };
  os?: { image: string; update: string; completedAt: string };
}

export function emptyHistory(): UpgradeHistory {
  return { version: 1, completed: [] };
}

/**
 * The Updates of a live cluster that completed: phase Completed for the spec the status describes (an
 * Update edited after it completed is not done with its new spec until the operator says so).
 */
export function completedUpgrades(updates: readonly UpdateObject[]): CompletedUpgrade[] {
  const done: CompletedUpgrade[] = [];
  for (const u of updates) {
    const status = u.status;
    if (status?.phase !== 'Completed' || !status.completedAt) continue;
    const generation = u.metadata.generation;
    if (generation !== undefined && status.observedGeneration !== generation) continue;
    if (!u.spec.kubeVersion && !u.spec.osImageURL) continue;
    done.push({
      update: u.metadata.name,
      completedAt: status.completedAt,
      ...(u.spec.kubeVersion ? { kubeVersion: u.spec.kubeVersion } : {}),
      ...(u.spec.osImageURL ? { osImageURL: u.spec.osImageURL } : {}),
    });
  }
  return done;
}

const key = (u: CompletedUpgrade) => `${u.update}\0${u.completedAt}`;

function byTime(a: CompletedUpgrade, b: CompletedUpgrade): number {
  return Date.parse(a.completedAt) - Date.parse(b.completedAt) || a.update.localeCompare(b.update);
}

/**
 * The history with `seen` merged in, oldest first. Updates deleted from the cluster stay in the history
 * (nkd recorded them); one seen again is not added twice. `changed` says whether anything was new.
 */
export function mergeHistory(
  history: UpgradeHistory,
  seen: readonly CompletedUpgrade[],
): { history: UpgradeHistory; changed: boolean } {
  const known = new Set(history.completed.map(key));
  const fresh = seen.filter((u) => !known.has(key(u)) && Number.isFinite(Date.parse(u.completedAt)));
  const unique = [...new Map(fresh.map((u) => [key(u), u])).values()];
  if (unique.length === 0) return { history, changed: false };
  return {
    history: { version: 1, completed: [...history.completed, ...unique].sort(byTime) },
    changed: true,
  };
}

export function currentVersions(history: UpgradeHistory): CurrentVersions {
  const current: CurrentVersions = {};
  for (const u of [...history.completed].sort(byTime)) {
    if (u.kubeVersion)
      current.kubernetes = { version: u.kubeVersion, update: u.update, completedAt: u.completedAt };
    if (u.osImageURL) current.os = { image: u.osImageURL, update: u.update, completedAt: u.completedAt };
  }
  return current;
}

function compare(a: KubeVersion, b: KubeVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

function withVersion(plan: ClusterPlan, version: string): ClusterPlan {
  const parsed = parseKubeVersion(version);
  if (!parsed) return plan;
  const { imageRepository } = plan.kubernetes;
  return {
    ...plan,
    kubernetes: {
      ...plan.kubernetes,
      version,
      pauseImage: `${imageRepository}/pause:${pauseImageTag(parsed)}`,
    },
  };
}

function withImage(plan: ClusterPlan, image: string): ClusterPlan {
  return { ...plan, os: { ...plan.os, releaseImage: image } };
}

/**
 * The provisioned plan as the cluster runs now: the versions the completed Updates brought every node
 * to replace the deploy-time ones (a Kubernetes version is never lowered: Updates never downgrade).
 */
export function runningPlan(deployed: ClusterPlan, history: UpgradeHistory): ClusterPlan {
  const current = currentVersions(history);
  let plan = deployed;
  const recorded = current.kubernetes && parseKubeVersion(current.kubernetes.version);
  const planned = parseKubeVersion(deployed.kubernetes.version);
  if (current.kubernetes && recorded && (!planned || compare(recorded, planned) > 0))
    plan = withVersion(plan, current.kubernetes.version);
  if (current.os && current.os.image !== deployed.os.releaseImage) plan = withImage(plan, current.os.image);
  return plan;
}

const day = (iso: string) => iso.slice(0, 10);

/**
 * The config's plan with the completed upgrades applied, and what the user should know. A config that
 * names older versions than the cluster completed (it was not edited after `nkd upgrade`) gets the
 * upgraded ones, with a note saying which edit makes the config match; a config that names newer ones
 * (or an OS image the cluster never ran) is left as it is, for the diff to refuse: versions change
 * with `nkd upgrade`. `deployedImage` is the image the provisioned plan was deployed with.
 */
export function desiredPlan(
  desired: ClusterPlan,
  history: UpgradeHistory,
  deployedImage: string,
): { plan: ClusterPlan; notes: string[] } {
  const current = currentVersions(history);
  const notes: string[] = [];
  let plan = desired;
  const k = current.kubernetes;
  const recorded = k && parseKubeVersion(k.version);
  const asked = parseKubeVersion(desired.kubernetes.version);
  if (k && recorded && asked && compare(asked, recorded) < 0) {
    plan = withVersion(plan, k.version);
    notes.push(
      `spec.kubernetes.version ${desired.kubernetes.version} is older than ${k.version}, which Update ${k.update} brought every node to on ${day(k.completedAt)}: nkd keeps ${k.version} (new nodes get it); set spec.kubernetes.version: ${k.version} in the config`,
    );
  }
  const os = current.os;
  const asked2 = desired.os.releaseImage;
  const earlier = new Set([deployedImage, ...history.completed.map((u) => u.osImageURL ?? '')]);
  if (os && asked2 !== os.image && earlier.has(asked2)) {
    plan = withImage(plan, os.image);
    const was = asked2 === '' ? 'is not set' : `is ${asked2}`;
    notes.push(
      `spec.os.releaseImage ${was}, but Update ${os.update} rebased every node onto ${os.image} on ${day(os.completedAt)}: nkd keeps ${os.image} (new nodes boot on it); set spec.os.releaseImage: ${os.image} in the config`,
    );
  }
  return { plan, notes };
}
