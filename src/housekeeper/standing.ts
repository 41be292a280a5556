// Where one node stands with respect to an Update's key, from its annotations: the planner's view of
// each node (waiting, at target, busy with another key, active, finished, failed).
import { stalled } from './deadlines.js';
import { updateKeyPrefix, type NodeView } from './node-view.js';
import type { NodeProgress, NodeTarget, UpdateObject } from './types.js';

const isTerminal = (p: NodeProgress | undefined) => p?.phase === 'done' || p?.phase === 'failed';

/** Where one node stands with respect to this Update's key. */
export type Standing =
  | { kind: 'waiting' } // needs the upgrade, not started for this key
  | { kind: 'at-target' } // already runs the target, not started for this key
  | { kind: 'busy'; key: string } // its agent still works on another key's target
  | { kind: 'active'; progress?: NodeProgress } // handed out for this key, not finished
  | { kind: 'finished'; progress: NodeProgress }
  | { kind: 'failed'; progress: NodeProgress };

/** Whether a target asks for what the spec asks for (the fields a spec edit may change the meaning of). */
function asksSame(target: NodeTarget, spec: UpdateObject['spec']): boolean {
  return (
    (target.osImageURL ?? '') === (spec.osImageURL ?? '') &&
    (target.kubeVersion ?? '') === (spec.kubeVersion ?? '')
  );
}

export function standingOf(
  node: NodeView,
  update: UpdateObject,
  key: string,
  atTarget: boolean,
  now: string,
): Standing {
  const progress = node.progress?.key === key ? node.progress : undefined;
  if (progress?.phase === 'failed') return { kind: 'failed', progress };
  if (progress?.phase === 'done') return { kind: 'finished', progress };
  const overdue = progress && stalled(progress, update, now);
  if (overdue) return { kind: 'failed', progress: overdue };
  if (progress) return { kind: 'active', progress };
  if (node.target?.key === key) return { kind: 'active' };
  const other = node.target;
  const sameUpdate = other?.key.startsWith(updateKeyPrefix(update)) === true;
  // A node that failed an earlier generation asking for the same versions stays failed: an edit of
  // paused, maxUnavailable or the drain settings does not hand it out again (a new Update, or removing
  // its progress annotation once it is repaired, does).
  if (other && sameUpdate && node.progress?.key === other.key && node.progress.phase === 'failed') {
    if (asksSame(other, update.spec)) return { kind: 'failed', progress: node.progress };
  }
  // A target for another key (an older generation, e.g. from before a pause edit, or another Update)
  // is not started for this key, but while its agent is still at work the node is drained or rebooting:
  // it counts against maxUnavailable and its target is not overwritten under the agent's feet. An older
  // generation of this Update that its agent has not started (it waits: the spec changed) is replaced.
  const started = node.progress?.key === other?.key;
  if (other && !(started && isTerminal(node.progress)) && (started || !sameUpdate)) {
    return { kind: 'busy', key: other.key };
  }
  // At target but still under a cordon its agent set for an earlier target (that failed or was cut
  // short): not done, so it is handed out and its agent verifies it and lifts the cordon.
  const leftCordoned =
    node.unschedulable && node.progress?.cordonedByAgent === true && node.progress.phase !== 'done';
  return { kind: atTarget && !leftCordoned ? 'at-target' : 'waiting' };
}
