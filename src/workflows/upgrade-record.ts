// The upgrades a cluster completed, kept in its state (upgrades.json, 0600, written atomically) and
// reconciled with the live cluster's Update objects: `nkd upgrade --wait` records the Update it saw
// complete; deploy, scale, diff, status and `upgrade status` add any completed Update the record lacks
// (an upgrade started without --wait, or followed with kubectl). Deploy and scale then plan new nodes
// on the recorded versions (plan/upgrades.ts).
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterClient } from '../cluster/types.js';
import type { UpdateObject } from '../housekeeper/types.js';
import {
  completedUpgrades,
  desiredPlan,
  emptyHistory,
  mergeHistory,
  runningPlan,
  type CompletedUpgrade,
  type UpgradeHistory,
} from '../plan/upgrades.js';
import type { ClusterPlan } from '../plan/types.js';
import { isJsonObject, readStateJsonSync } from '../state/files.js';
import { checkPrivateDir, writePrivateFile, type ClusterPaths } from '../state/paths.js';
import { adminClientFor, clusterAccess, readDeployedPlan } from './cluster-access.js';
import type { PlannedCluster } from './prepare.js';
import { listUpdatesIfInstalled } from './upgrade.js';

export function upgradesPath(paths: ClusterPaths): string {
  return join(paths.root, 'upgrades.json');
}

const optionalString = (v: unknown) => v === undefined || typeof v === 'string';

function isHistory(v: unknown): v is UpgradeHistory {
  return (
    isJsonObject(v) &&
    v.version === 1 &&
    Array.isArray(v.completed) &&
    v.completed.every(
      (u) =>
        isJsonObject(u) &&
        typeof u.update === 'string' &&
        typeof u.completedAt === 'string' &&
        optionalString(u.kubeVersion) &&
        optionalString(u.osImageURL),
    )
  );
}

/** The recorded history; none yet is an empty one. A corrupt file refuses the command (exit 4). */
export function readUpgradeHistory(paths: ClusterPaths): UpgradeHistory {
  const file = upgradesPath(paths);
  if (!existsSync(file)) return emptyHistory();
  return readStateJsonSync(file, 'the record of completed upgrades', isHistory);
}

/** Adds what is new to the record; returns the history as it now stands. */
export function recordUpgrades(paths: ClusterPaths, seen: readonly CompletedUpgrade[]): UpgradeHistory {
  const { history, changed } = mergeHistory(readUpgradeHistory(paths), seen);
  if (changed) writePrivateFile(upgradesPath(paths), `${JSON.stringify(history, null, 2)}\n`);
  return history;
}

/** `nkd upgrade --wait` saw `update` complete. */
export function recordCompletedUpdate(paths: ClusterPaths, update: UpdateObject): UpgradeHistory {
  return recordUpgrades(paths, completedUpgrades([update]));
}

/** Reads the live cluster's completed Updates into the record (Housekeeper missing: nothing to add). */
export async function reconcileUpgrades(paths: ClusterPaths, client: ClusterClient): Promise<UpgradeHistory> {
  // No Update API: Housekeeper is not installed, so nothing was upgraded through it.
  const updates = (await listUpdatesIfInstalled(client)) ?? [];
  return recordUpgrades(paths, completedUpgrades(updates));
}

/** Forgets the record (destroy: the upgrades belonged to the machines that are gone). */
export function removeUpgradeHistory(paths: ClusterPaths): void {
  rmSync(upgradesPath(paths), { force: true });
}

/**
 * Best effort before a deploy or scale: the record reconciled with the live cluster when it answers
 * within `timeoutMs`. Returns a warning when it could not be asked (the record alone is used then).
 */
export async function reconcileBeforeDeploy(
  paths: ClusterPaths,
  timeoutMs = 10_000,
): Promise<string | undefined> {
  if (!checkPrivateDir(paths.root)) return undefined;
  const deployed = readDeployedPlan(paths);
  if (!deployed?.housekeeper?.enabled) return undefined;
  let client: ClusterClient | undefined;
  try {
    const access = await clusterAccess(paths);
    if (!access.outputs) return undefined;
    client = adminClientFor(access.pki, access.target, timeoutMs);
    await reconcileUpgrades(paths, client);
    return undefined;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return `could not read completed upgrades from the cluster (${why}): new nodes get the versions nkd recorded`;
  } finally {
    client?.close();
  }
}

/**
 * The deployed plan as the cluster runs now and the config's plan with the recorded upgrades applied,
 * plus notes for a config older than the cluster. Without a provisioned plan nothing was upgraded.
 */
export function plansWithUpgrades(
  paths: ClusterPaths,
  desired: ClusterPlan,
): { deployed: ClusterPlan | undefined; desired: ClusterPlan; notes: string[] } {
  const deployed = readDeployedPlan(paths);
  if (!deployed) return { deployed, desired, notes: [] };
  const history = readUpgradeHistory(paths);
  const wanted = desiredPlan(desired, history, deployed.os.releaseImage);
  return { deployed: runningPlan(deployed, history), desired: wanted.plan, notes: wanted.notes };
}

/** The planned cluster with the recorded upgrades applied (see plansWithUpgrades). */
export function plannedWithUpgrades(
  paths: ClusterPaths,
  planned: PlannedCluster,
): { planned: PlannedCluster; deployed: ClusterPlan | undefined; notes: string[] } {
  const { deployed, desired, notes } = plansWithUpgrades(paths, planned.plan);
  return { planned: desired === planned.plan ? planned : { ...planned, plan: desired }, deployed, notes };
}
