// The rollout planner: given an Update, the nodes as the API shows them and whether kube-system is
// healthy, it decides which nodes to hand to their agents next and what the Update's status is. It is
// pure (no I/O, `now` is an input) and reads all of its state from the annotations and the previous
// status, so an operator that restarts at any point makes exactly the decision it would have made had it
// kept running. The operator (operator.ts) only applies the decision.
import { nodeAtTarget, updateKey, updateKeyPrefix, type NodeView } from './node-view.js';
import { standingOf, type Standing } from './standing.js';
import { describeWindows, inMaintenanceWindow } from './windows.js';
import type {
  Condition,
  NodeTarget,
  NodeUpgradeStatus,
  UpdateObject,
  UpdatePhase,
  UpdateStatus,
} from './types.js';

export { nodeAtTarget, nodeViewOf, updateKey, type NodeView } from './node-view.js';

export interface RolloutInput {
  update: UpdateObject;
  nodes: NodeView[];
  /** Whether every system pod (kube-system, system-critical priority anywhere) is healthy. */
  kubeSystemHealthy: boolean;
  /** The unhealthy ones (namespace/name), for the status message. */
  unhealthyPods?: string[];
  /** Why etcd is not whole, if it is not: no control plane starts then. */
  etcdProblem?: string;
  /** RFC 3339; used for timestamps that change in this decision. */
  now: string;
}

export interface RolloutDecision {
  /** Nodes to hand to their agent now: write this NodeTarget on each. */
  select: { node: string; target: NodeTarget }[];
  /** The full status to write (the operator compares and writes only on change). */
  status: UpdateStatus;
}

interface Row {
  node: NodeView;
  standing: Standing;
  atTarget: boolean;
}

type Want = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

const HANDED_OUT = 'handed to its agent';
const names = (rows: Row[]) => rows.map((r) => r.node.name);
const want = (type: string, status: Condition['status'], reason: string, message: string): Want => ({
  type,
  status,
  reason,
  message,
});

/** At target and not being worked on: what "Completed" needs of every node. */
const isDone = (r: Row) => r.standing.kind === 'at-target' || (r.standing.kind === 'finished' && r.atTarget);
const isOccupying = (r: Row) => r.standing.kind === 'active' || r.standing.kind === 'busy';
const isControlPlane = (r: Row) => r.node.role === 'control-plane';

/**
 * The control plane that runs `kubeadm upgrade apply`, if one was already chosen. Remembered through
 * the target annotations: for this key, or else for an earlier generation of the same Update with the
 * same kubeVersion (a pause or maxUnavailable edit bumps the generation, and must not lead to a second
 * `apply` on another node).
 */
function applyHolder(rows: Row[], update: UpdateObject, key: string): string | undefined {
  const kubeVersion = update.spec.kubeVersion;
  const prefix = updateKeyPrefix(update);
  const holds = (r: Row, exact: boolean) => {
    const t = r.node.target;
    if (!isControlPlane(r) || !t?.firstControlPlane) return false;
    return exact ? t.key === key : t.key.startsWith(prefix) && t.kubeVersion === kubeVersion;
  };
  return (rows.find((r) => holds(r, true)) ?? rows.find((r) => holds(r, false)))?.node.name;
}

function targetFor(row: Row, update: UpdateObject, key: string, holder: string | undefined): NodeTarget {
  const spec = update.spec;
  // Without a holder, the first control plane whose Kubernetes actually changes gets `apply`; control
  // planes go one at a time, so at most one is ever handed out without a holder existing.
  const first =
    !!spec.kubeVersion &&
    isControlPlane(row) &&
    (holder ? holder === row.node.name : row.node.controlPlaneVersion !== spec.kubeVersion);
  const target: NodeTarget = {
    key,
    firstControlPlane: first,
    evictPodForce: spec.evictPodForce ?? false,
    drainTimeoutSeconds: spec.drainTimeoutSeconds ?? 300,
  };
  if (spec.osImageURL) target.osImageURL = spec.osImageURL;
  if (spec.kubeVersion) target.kubeVersion = spec.kubeVersion;
  if (spec.deleteEmptyDirData) target.deleteEmptyDirData = true;
  return target;
}

/** maxUnavailable as a number of workers: a count, or a percentage of them rounded down; at least 1. */
export function workersAtOnce(value: number | string | undefined, workers: number): number {
  const percent = typeof value === 'string' ? /^(\d+)%$/.exec(value.trim()) : null;
  const count = percent ? Math.floor((workers * Number(percent[1])) / 100) : Math.floor(Number(value ?? 1));
  return Number.isFinite(count) && count >= 1 ? count : 1;
}

/** Nodes that would start now if the health gate let them: control planes alone, then workers. */
function candidatesOf(rows: Row[], maxUnavailable: number): Row[] {
  const waiting = rows.filter((r) => r.standing.kind === 'waiting');
  const occupying = rows.filter(isOccupying);
  if (waiting.some(isControlPlane) || occupying.some(isControlPlane)) {
    // One control plane at a time and nothing beside it: etcd keeps its quorum and the API stays up.
    return occupying.length === 0 ? waiting.filter(isControlPlane).slice(0, 1) : [];
  }
  return waiting.slice(0, Math.max(0, maxUnavailable - occupying.length));
}

/** Why no further node may start: finished nodes that are not back in service, kube-system. */
function healthProblems(rows: Row[], kubeSystemHealthy: boolean, unhealthy: readonly string[]): string[] {
  const problems: string[] = [];
  for (const { node, standing, atTarget } of rows) {
    if (standing.kind !== 'finished') continue;
    if (!node.ready) problems.push(`${node.name} is not Ready`);
    if (!atTarget) problems.push(`${node.name} does not report the target versions yet`);
    // Only a cordon of the agent's own: an administrator's cordon is theirs to keep.
    if (node.unschedulable && standing.progress.cordonedByAgent)
      problems.push(`${node.name} is still cordoned`);
  }
  if (!kubeSystemHealthy) {
    const some = unhealthy.slice(0, 3).join(', ');
    const more = unhealthy.length > 3 ? ` and ${unhealthy.length - 3} more` : '';
    problems.push(`system pods are not healthy${some ? ` (${some}${more})` : ''}`);
  }
  return problems;
}

function nodeStatus(row: Row, selected: Set<string>): NodeUpgradeStatus {
  const { node, standing } = row;
  const base = { name: node.name, role: node.role };
  switch (standing.kind) {
    case 'at-target':
      return { ...base, phase: 'done', message: 'already at target' };
    case 'busy':
      return { ...base, phase: 'pending', message: `waiting for its agent to finish ${standing.key}` };
    case 'waiting':
      return {
        ...base,
        phase: 'pending',
        message: selected.has(node.name) ? HANDED_OUT : 'waiting for its turn',
      };
  }
  const p = standing.progress;
  if (!p) return { ...base, phase: 'pending', message: HANDED_OUT };
  const entry: NodeUpgradeStatus = { ...base, phase: p.phase, startedAt: p.startedAt };
  if (p.finishedAt) entry.finishedAt = p.finishedAt;
  entry.lastTransitionTime = p.lastTransitionTime;
  if (p.lastError) entry.lastError = p.lastError;
  if (p.message) entry.message = p.message;
  return entry;
}

/**
 * etcd with two members needs both for quorum: while either control plane reboots or kubeadm restarts
 * its etcd, the cluster has no etcd and no API. Said once, as a condition, before it happens.
 */
function quorumWarning(rows: Row[]): Want[] {
  const members = rows.filter(isControlPlane).length;
  if (members !== 2 || rows.filter(isControlPlane).every(isDone)) return [];
  const message =
    'the cluster has 2 control planes: etcd loses quorum, and the API server is unavailable, while each ' +
    'of them is upgraded; use 1 or 3 or more control planes';
  return [want('EtcdQuorumAtRisk', 'True', 'TwoEtcdMembers', message)];
}

/** Stamps observedGeneration, and keeps lastTransitionTime for a condition whose status did not change. */
function stamp(
  wants: Want[],
  previous: Condition[] | undefined,
  now: string,
  generation: number,
): Condition[] {
  return wants.map((w) => {
    const before = previous?.find((c) => c.type === w.type);
    const since = before && before.status === w.status ? before.lastTransitionTime : now;
    return { ...w, lastTransitionTime: since, observedGeneration: generation };
  });
}

export function planRollout(input: RolloutInput): RolloutDecision {
  const { update, kubeSystemHealthy, now } = input;
  const spec = update.spec;
  const generation = update.metadata.generation ?? 0;
  const previous = update.status;
  const key = updateKey(update);
  const sorted = [...input.nodes].sort(
    (a, b) =>
      Number(b.role === 'control-plane') - Number(a.role === 'control-plane') ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );

  // The CRD rejects this; a status that says so beats "Completed" for an Update that asks nothing.
  if (!spec.osImageURL && !spec.kubeVersion) {
    const why = 'the spec sets neither osImageURL nor kubeVersion: set osImageURL, kubeVersion, or both';
    const status: UpdateStatus = {
      observedGeneration: generation,
      phase: 'Failed',
      conditions: stamp(
        [
          want('Progressing', 'False', 'InvalidSpec', why),
          want('Complete', 'False', 'InvalidSpec', why),
          want('Failed', 'True', 'InvalidSpec', why),
        ],
        previous?.conditions,
        now,
        generation,
      ),
      nodes: sorted.map((n) => ({
        name: n.name,
        role: n.role,
        phase: 'pending',
        message: 'nothing to upgrade to',
      })),
    };
    return { select: [], status };
  }

  const rows: Row[] = sorted.map((node) => {
    const atTarget = nodeAtTarget(node, spec);
    return { node, atTarget, standing: standingOf(node, update, key, atTarget, now) };
  });
  const failed = rows.filter((r) => r.standing.kind === 'failed');
  const occupying = rows.filter(isOccupying);
  const done = rows.filter(isDone);
  const completed = rows.length > 0 && done.length === rows.length;
  const maxUnavailable = workersAtOnce(spec.maxUnavailable, rows.filter((r) => !isControlPlane(r)).length);
  const candidates = candidatesOf(rows, maxUnavailable);
  const problems = healthProblems(rows, kubeSystemHealthy, input.unhealthyPods ?? []);
  if (input.etcdProblem && candidates.some(isControlPlane)) problems.push(input.etcdProblem);
  const closed = !inMaintenanceWindow(spec.maintenanceWindows, new Date(now));
  const stopped = failed.length > 0 || spec.paused === true || closed;
  const chosen = stopped || problems.length > 0 ? [] : candidates;
  const holder = applyHolder(rows, update, key);
  const select = chosen.map((row) => ({ node: row.node.name, target: targetFor(row, update, key, holder) }));

  // A completed rollout that gets new work (a new generation) is a new rollout with its own start.
  const carried = previous?.phase === 'Completed' && !completed ? undefined : previous?.startedAt;
  const progressStarts = rows.flatMap((r) =>
    r.standing.kind === 'active' || r.standing.kind === 'finished' || r.standing.kind === 'failed'
      ? (r.standing.progress?.startedAt ?? [])
      : [],
  );
  const startedAt = carried ?? progressStarts.sort()[0] ?? (select.length > 0 ? now : undefined);

  const summary = `${done.length} of ${rows.length} nodes done`;
  const busyWith = `waiting for ${names(occupying).join(', ')} to finish`;
  const failures = failed
    .map(({ node, standing }) => {
      const p = standing.kind === 'failed' ? standing.progress : undefined;
      return `node ${node.name} failed: ${p?.lastError ?? p?.message ?? 'no error reported'}`;
    })
    .join('; ');
  const upgrading = `${summary}; upgrading ${[...names(occupying), ...select.map((s) => s.node)].join(', ')}`;
  // The gate holds selection back when a node could otherwise start (or when none is left to wait for).
  const held = problems.length > 0 && (candidates.length > 0 || occupying.length === 0);
  const active = occupying.length > 0 ? 'True' : 'False';
  let phase: UpdatePhase;
  let progressing: Want;
  if (failed.length > 0) {
    phase = 'Failed';
    const rest = occupying.length > 0 ? `; no other node starts, ${busyWith}` : '; no other node starts';
    progressing = want('Progressing', active, 'NodeFailed', failures + rest);
  } else if (completed) {
    phase = 'Completed';
    progressing = want('Progressing', 'False', 'Completed', `all ${rows.length} nodes at target`);
  } else if (rows.length === 0) {
    phase = 'Pending';
    progressing = want('Progressing', 'False', 'NoNodes', 'the cluster lists no nodes');
  } else if (closed && !spec.paused) {
    phase = occupying.length > 0 || startedAt ? 'Progressing' : 'Pending';
    const windows = describeWindows(spec.maintenanceWindows ?? []);
    const message = `${occupying.length > 0 ? busyWith : summary}; outside the maintenance windows (${windows})`;
    progressing = want('Progressing', active, 'OutsideMaintenanceWindow', message);
  } else if (spec.paused) {
    phase = occupying.length > 0 ? 'Progressing' : 'Paused';
    progressing = want(
      'Progressing',
      active,
      'Paused',
      `paused; ${occupying.length > 0 ? busyWith : summary}`,
    );
  } else if (held) {
    phase = startedAt || occupying.length > 0 ? 'Progressing' : 'Pending';
    const message = `${summary}; waiting before the next node: ${problems.join('; ')}`;
    progressing = want('Progressing', 'True', 'WaitingForHealth', message);
  } else {
    phase = 'Progressing';
    progressing = want('Progressing', 'True', 'NodesUpgrading', upgrading);
  }

  const selected = new Set(select.map((s) => s.node));
  const status: UpdateStatus = {
    observedGeneration: generation,
    phase,
    conditions: stamp(
      [
        progressing,
        completed
          ? want('Complete', 'True', 'Completed', `all ${rows.length} nodes at target`)
          : want('Complete', 'False', 'NodesRemaining', summary),
        failed.length > 0
          ? want('Failed', 'True', 'NodeFailed', failures)
          : want('Failed', 'False', 'NoFailure', 'no node failed'),
        ...quorumWarning(rows),
      ],
      previous?.conditions,
      now,
      generation,
    ),
    nodes: rows.map((r) => nodeStatus(r, selected)),
  };
  // Only keys with a value: the operator deep-compares with what the API returns, which has no undefineds.
  if (startedAt) status.startedAt = startedAt;
  if (completed) status.completedAt = previous?.completedAt ?? now;
  return { select, status };
}
