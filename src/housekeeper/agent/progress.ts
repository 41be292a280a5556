// The agent's two annotations on its node: the target the operator wrote, and the progress the agent
// reports. Progress lives in the API, not in the pod, so a reboot or a restarted agent picks up where the
// last one was; every phase is recorded BEFORE the side effect it announces (the original daemon stamped
// "done" before the work, so failures looked like successes and were never retried).

import { parseProgress } from '../annotations.js';
import {
  PROGRESS_ANNOTATION,
  TARGET_ANNOTATION,
  type HousekeeperKube,
  type NodeObject,
  type NodeProgress,
  type NodeTarget,
  type NodeUpgradePhase,
} from '../types.js';

/** A step that cannot succeed as things stand: recorded as `failed` with this message as lastError. */
export class StepFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepFailure';
  }
}

const DEFAULT_DRAIN_TIMEOUT_SECONDS = 300;

/**
 * The target on a node, or undefined when there is none. A value that is not a usable NodeTarget is
 * reported through `log` and treated as none: without a key there is nothing to report progress against.
 */
export function readTarget(node: NodeObject, log: (line: string) => void): NodeTarget | undefined {
  const raw = node.metadata.annotations?.[TARGET_ANNOTATION];
  if (raw === undefined || raw === '') return undefined;
  let value: Partial<NodeTarget>;
  try {
    value = JSON.parse(raw) as Partial<NodeTarget>;
  } catch {
    log(`ignoring ${TARGET_ANNOTATION}: not JSON`);
    return undefined;
  }
  if (typeof value !== 'object' || value === null || typeof value.key !== 'string' || value.key === '') {
    log(`ignoring ${TARGET_ANNOTATION}: no key`);
    return undefined;
  }
  const timeout = value.drainTimeoutSeconds;
  return {
    key: value.key,
    ...(typeof value.osImageURL === 'string' && value.osImageURL !== '' && { osImageURL: value.osImageURL }),
    ...(typeof value.kubeVersion === 'string' &&
      value.kubeVersion !== '' && { kubeVersion: value.kubeVersion }),
    firstControlPlane: value.firstControlPlane === true,
    evictPodForce: value.evictPodForce === true,
    ...(value.deleteEmptyDirData === true && { deleteEmptyDirData: true }),
    drainTimeoutSeconds:
      typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0
        ? timeout
        : DEFAULT_DRAIN_TIMEOUT_SECONDS,
  };
}

/** The progress on a node, whatever its key; undefined when missing or unreadable. */
export function readProgress(node: NodeObject): NodeProgress | undefined {
  return parseProgress(node.metadata.annotations?.[PROGRESS_ANNOTATION]);
}

/** Keeps the progress for one target key and writes every change to the node before returning. */
export class ProgressReporter {
  private progress: NodeProgress | undefined;

  constructor(
    private readonly kube: HousekeeperKube,
    private readonly nodeName: string,
    private readonly key: string,
    private readonly now: () => Date,
    current: NodeProgress | undefined,
  ) {
    this.progress = current?.key === key ? current : undefined;
  }

  get current(): NodeProgress | undefined {
    return this.progress;
  }

  /** 'pending' until the agent recorded anything for this key. */
  get phase(): NodeUpgradePhase {
    return this.progress?.phase ?? 'pending';
  }

  /** When the current phase began: the start of its deadline (drain timeout, reboot, verification). */
  get phaseStartedMs(): number {
    const at = Date.parse(this.progress?.lastTransitionTime ?? '');
    return Number.isNaN(at) ? this.now().getTime() : at;
  }

  /** A new phase: lastTransitionTime now, startedAt kept from the first one, message and error cleared. */
  async enter(phase: NodeUpgradePhase, extra: Partial<NodeProgress> = {}): Promise<void> {
    const at = this.now().toISOString();
    const next: NodeProgress = {
      ...this.progress,
      key: this.key,
      phase,
      startedAt: this.progress?.startedAt ?? at,
      lastTransitionTime: at,
    };
    delete next.message;
    delete next.lastError;
    await this.write({ ...next, ...extra });
  }

  /** Detail within the current phase (message, cordonedByAgent); written only when something changes. */
  async note(fields: Pick<NodeProgress, 'message' | 'cordonedByAgent'>): Promise<void> {
    if (!this.progress) throw new Error('progress: note before any phase was entered');
    const next = { ...this.progress, ...fields };
    if (JSON.stringify(next) !== JSON.stringify(this.progress)) await this.write(next);
  }

  async fail(lastError: string): Promise<void> {
    const during = this.phase;
    await this.enter('failed', { lastError, message: `failed while ${during}` });
  }

  private async write(progress: NodeProgress): Promise<void> {
    await this.kube.patchNode(this.nodeName, {
      metadata: { annotations: { [PROGRESS_ANNOTATION]: JSON.stringify(progress) } },
    });
    this.progress = progress;
  }
}
