// Reading the Housekeeper annotations (the operator's target, the agent's progress) defensively: a value
// that is not the contract's shape counts as absent, and only the known fields are copied, so what the
// planner and the agent act on (and echo into status) always has the contract's shape.
import { NODE_UPGRADE_PHASES, type NodeProgress, type NodeTarget, type NodeUpgradePhase } from './types.js';

export function parseObject(text: string | undefined): Record<string, unknown> | undefined {
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
export function parseTarget(text: string | undefined): NodeTarget | undefined {
  const o = parseObject(text);
  if (
    !o ||
    !isString(o.key) ||
    o.key === '' ||
    typeof o.firstControlPlane !== 'boolean' ||
    typeof o.evictPodForce !== 'boolean' ||
    typeof o.drainTimeoutSeconds !== 'number' ||
    !isOptionalString(o.osImageURL) ||
    !isOptionalString(o.kubeVersion) ||
    (o.deleteEmptyDirData !== undefined && typeof o.deleteEmptyDirData !== 'boolean')
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
  if (o.deleteEmptyDirData === true) target.deleteEmptyDirData = true;
  return target;
}

export function parseProgress(text: string | undefined): NodeProgress | undefined {
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
    (o.cordonedByAgent !== undefined && typeof o.cordonedByAgent !== 'boolean') ||
    (o.kubeadm !== undefined && o.kubeadm !== 'staged' && o.kubeadm !== 'done')
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
  if (o.kubeadm !== undefined) progress.kubeadm = o.kubeadm;
  return progress;
}
