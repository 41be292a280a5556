// What the live cluster says beside the recorded state, for `nkd diff`: nodes registered that nkd did
// not plan, planned nodes that never registered or are not Ready. Best effort: an unreachable API is
// reported in one line, never an error.
import type { ClusterPlan } from '../plan/types.js';
import type { ClusterPaths } from '../state/paths.js';
import { adminClientFor, clusterAccess, readDeployedPlan } from './cluster-access.js';

export interface LiveDrift {
  reachable: boolean;
  error?: string;
  unplanned: string[];
  missing: string[];
  notReady: string[];
}

/** Pure: the drift between the deployed plan and the nodes the API lists. */
export function liveDrift(
  deployed: ClusterPlan,
  live: readonly { name: string; ready: boolean }[],
): LiveDrift {
  const planned = new Set(deployed.nodes.map((n) => n.name));
  const byName = new Map(live.map((n) => [n.name, n]));
  return {
    reachable: true,
    unplanned: live.filter((n) => !planned.has(n.name)).map((n) => n.name),
    missing: deployed.nodes.filter((n) => !byName.has(n.name)).map((n) => n.name),
    notReady: deployed.nodes.filter((n) => byName.get(n.name)?.ready === false).map((n) => n.name),
  };
}

export async function readLiveDrift(paths: ClusterPaths, timeoutMs = 5000): Promise<LiveDrift | undefined> {
  let access;
  try {
    access = await clusterAccess(paths);
  } catch {
    return undefined;
  }
  if (!access.outputs) return undefined;
  const { pki, target } = access;
  // Against what was provisioned, not plan.json (a dry-run of an edited config rewrites that).
  const plan = readDeployedPlan(paths) ?? access.plan;
  const client = adminClientFor(pki, target, timeoutMs);
  try {
    return liveDrift(plan, await client.listNodes());
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return { reachable: false, error, unplanned: [], missing: [], notReady: [] };
  } finally {
    client.close();
  }
}

export function formatDrift(drift: LiveDrift): string[] {
  if (!drift.reachable) return [`Live cluster not checked: ${drift.error ?? 'unreachable'}`];
  const lines: string[] = [];
  if (drift.unplanned.length > 0)
    lines.push(`  ? registered but not planned by nkd: ${drift.unplanned.join(', ')}`);
  if (drift.missing.length > 0) lines.push(`  ? planned but not registered: ${drift.missing.join(', ')}`);
  if (drift.notReady.length > 0) lines.push(`  ? NotReady: ${drift.notReady.join(', ')}`);
  return lines.length > 0
    ? ['Live cluster:', ...lines]
    : ['Live cluster: every planned node is registered and Ready.'];
}
