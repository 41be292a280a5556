// What the rollout planner needs to know about one node, read from its Node object: role, readiness,
// versions, and the operator's and agent's annotations. Parsing is forgiving on purpose: an annotation
// that is not valid JSON of the expected shape is treated as absent, so a hand-edited or half-written
// annotation makes the node look "not started" instead of crashing the operator's loop.
import { sameImage } from './agent/host.js';
import {
  NODE_UPGRADE_PHASES,
  OS_IMAGE_ANNOTATION,
  PROGRESS_ANNOTATION,
  TARGET_ANNOTATION,
  type NodeObject,
  type NodeProgress,
  type NodeRole,
  type NodeTarget,
  type NodeUpgradePhase,
  type UpdateObject,
  type UpdateSpec,
} from './types.js';

export interface NodeView {
  name: string;
  role: NodeRole;
  ready: boolean;
  unschedulable: boolean;
  kubeletVersion: string;
  /** The OS_IMAGE_ANNOTATION, '' when the agent has not reported one. */
  osImage: string;
  target?: NodeTarget;
  progress?: NodeProgress;
}

// kubeadm labels control planes `control-plane`; `master` is the label it used before 1.24 (and the one
// the original Housekeeper looked for). Accepting both means a cluster labelled the old way never has a
// control plane mistaken for a worker and upgraded alongside others.
const CONTROL_PLANE_LABELS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'];

export function nodeViewOf(node: NodeObject): NodeView {
  const labels = node.metadata.labels ?? {};
  const annotations = node.metadata.annotations ?? {};
  const view: NodeView = {
    name: node.metadata.name,
    role: CONTROL_PLANE_LABELS.some((label) => Object.hasOwn(labels, label)) ? 'control-plane' : 'worker',
    ready: (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    unschedulable: node.spec?.unschedulable === true,
    kubeletVersion: node.status?.nodeInfo?.kubeletVersion ?? '',
    osImage: annotations[OS_IMAGE_ANNOTATION] ?? '',
  };
  const target = parseTarget(annotations[TARGET_ANNOTATION]);
  if (target) view.target = target;
  const progress = parseProgress(annotations[PROGRESS_ANNOTATION]);
  if (progress) view.progress = progress;
  return view;
}

/** `<namespace>/<name>@<generation>`: a spec edit gives a new key, so older targets and progress are stale. */
export function updateKey(update: UpdateObject): string {
  return `${updateKeyPrefix(update)}${update.metadata.generation ?? 0}`;
}

/** The part of the key shared by every generation of one Update (names cannot contain '@'). */
export function updateKeyPrefix(update: UpdateObject): string {
  return `${update.metadata.namespace}/${update.metadata.name}@`;
}

/** Whether the node runs what the spec asks for; a field the spec leaves unset is not compared. */
export function nodeAtTarget(node: NodeView, spec: UpdateSpec): boolean {
  if (spec.kubeVersion && node.kubeletVersion !== spec.kubeVersion) return false;
  // The agent reports the booted image without its ostree transport; the spec may carry one.
  if (spec.osImageURL && !sameImage(node.osImage, spec.osImageURL)) return false;
  return true;
}

// ------------------------------------------------------------------ annotation parsing

function parseObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isOptionalString = (v: unknown): v is string | undefined => v === undefined || isString(v);
const isPhase = (v: unknown): v is NodeUpgradePhase => NODE_UPGRADE_PHASES.some((p) => p === v);

/** Copies only the known fields, so what the planner sees (and echoes into status) has the contract's shape. */
function parseTarget(text: string | undefined): NodeTarget | undefined {
  const o = parseObject(text);
  if (
    !o ||
    !isString(o.key) ||
    o.key === '' ||
    typeof o.firstControlPlane !== 'boolean' ||
    typeof o.evictPodForce !== 'boolean' ||
    typeof o.drainTimeoutSeconds !== 'number' ||
    !isOptionalString(o.osImageURL) ||
    !isOptionalString(o.kubeVersion)
  ) {
    return undefined;
  }
  const target: NodeTarget = {
    key: o.key,
    firstControlPlane: o.firstControlPlane,
    evictPodForce: o.evictPodForce,
    drainTimeoutSeconds: o.drainTimeoutSeconds,
  };
  if (o.osImageURL !== undefined) target.osImageURL = o.osImageURL;
  if (o.kubeVersion !== undefined) target.kubeVersion = o.kubeVersion;
  return target;
}

function parseProgress(text: string | undefined): NodeProgress | undefined {
  const o = parseObject(text);
  if (
    !o ||
    !isString(o.key) ||
    !isPhase(o.phase) ||
    !isString(o.startedAt) ||
    !isString(o.lastTransitionTime) ||
    !isOptionalString(o.finishedAt) ||
    !isOptionalString(o.lastError) ||
    !isOptionalString(o.message) ||
    (o.cordonedByAgent !== undefined && typeof o.cordonedByAgent !== 'boolean')
  ) {
    return undefined;
  }
  const progress: NodeProgress = {
    key: o.key,
    phase: o.phase,
    startedAt: o.startedAt,
    lastTransitionTime: o.lastTransitionTime,
  };
  if (o.finishedAt !== undefined) progress.finishedAt = o.finishedAt;
  if (o.lastError !== undefined) progress.lastError = o.lastError;
  if (o.message !== undefined) progress.message = o.message;
  if (o.cordonedByAgent !== undefined) progress.cordonedByAgent = o.cordonedByAgent;
  return progress;
}
