// The operator's own deadlines per node phase: what notices a node that never comes back.
import type { NodeProgress, UpdateObject } from './types.js';

/**
 * How long a node may stay in a phase before the operator stops the rollout on it. The agent keeps its
 * own deadlines, but it cannot report when the node does not come back (a new OS that does not boot,
 * a kubelet that does not start): these are the operator's, with room above the agent's.
 */
export function phaseDeadlineMs(
  phase: NodeProgress['phase'],
  drainTimeoutSeconds: number,
): number | undefined {
  const minutes = (m: number) => m * 60_000;
  switch (phase) {
    case 'draining':
      return drainTimeoutSeconds * 1000 + minutes(10);
    case 'upgrading-os':
      return minutes(60); // pulling and staging an OS image
    case 'rebooting':
      return minutes(30); // the agent gives up after 15
    case 'upgrading-kubernetes':
      return minutes(30);
    case 'verifying':
      return minutes(20); // the agent gives up after 10
    default:
      return undefined;
  }
}

export function stalled(progress: NodeProgress, update: UpdateObject, now: string): NodeProgress | undefined {
  const deadline = phaseDeadlineMs(progress.phase, update.spec.drainTimeoutSeconds ?? 300);
  const since = Date.parse(progress.lastTransitionTime);
  if (deadline === undefined || Number.isNaN(since) || Date.parse(now) - since <= deadline) return undefined;
  const lastError =
    `no word from its agent: ${progress.phase} since ${progress.lastTransitionTime}, more than ` +
    `${Math.round(deadline / 60_000)} minutes; look at the node's console (a new OS that does not boot ` +
    'can be rolled back with rpm-ostree rollback)';
  return { ...progress, phase: 'failed', lastError };
}
