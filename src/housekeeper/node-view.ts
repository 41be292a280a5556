// What the rollout planner needs to know about one node, read from its Node object: role, readiness,
// versions, and the operator's and agent's annotations. Parsing is forgiving on purpose: an annotation
// that is not valid JSON of the expected shape is treated as absent, so a hand-edited or half-written
// annotation makes the node look "not started" instead of crashing the operator's loop.
import { isControlPlaneNode, sameImage } from './agent/host.js';
import { parseProgress, parseTarget } from './annotations.js';
import {
  CONTROL_PLANE_VERSION_ANNOTATION,
  OS_IMAGE_ANNOTATION,
  PROGRESS_ANNOTATION,
  TARGET_ANNOTATION,
  type NodeObject,
  type NodeProgress,
  type NodeRole,
  type NodeTarget,
  type UpdateObject,
  type UpdateSpec,
} from './types.js';

export interface NodeView {
  name: string;
  role: NodeRole;
  ready: boolean;
  unschedulable: boolean;
  kubeletVersion: string;
  /** Control planes: the CONTROL_PLANE_VERSION_ANNOTATION (static pods), '' when not reported. */
  controlPlaneVersion: string;
  /** The OS_IMAGE_ANNOTATION, '' when the agent has not reported one. */
  osImage: string;
  target?: NodeTarget;
  progress?: NodeProgress;
}

export function nodeViewOf(node: NodeObject): NodeView {
  const annotations = node.metadata.annotations ?? {};
  const view: NodeView = {
    name: node.metadata.name,
    // Both kubeadm labels count, so a cluster labelled the pre-1.24 way never has a control plane
    // mistaken for a worker and upgraded alongside others.
    role: isControlPlaneNode(node) ? 'control-plane' : 'worker',
    ready: (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    unschedulable: node.spec?.unschedulable === true,
    kubeletVersion: node.status?.nodeInfo?.kubeletVersion ?? '',
    controlPlaneVersion: annotations[CONTROL_PLANE_VERSION_ANNOTATION] ?? '',
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
  // A control plane is at a Kubernetes version once kubeadm upgraded its static pods: its kubelet comes
  // with the OS image and may be new although `kubeadm upgrade` failed or never ran.
  if (spec.kubeVersion && node.role === 'control-plane' && node.controlPlaneVersion !== spec.kubeVersion) {
    return false;
  }
  // The agent reports the booted image without its ostree transport; the spec may carry one.
  if (spec.osImageURL && !sameImage(node.osImage, spec.osImageURL)) return false;
  return true;
}
