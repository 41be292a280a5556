// The node agent: one per node, it upgrades its own node when the operator hands it a target, and keeps
// the node's OS image annotation current. It is a step machine over the node's progress annotation:
// each pass reads the node and the host, resumes at the recorded phase and goes as far as it can without
// waiting. Waiting (for pods to go, for the reboot, for the kubelet) is the caller's loop (`run`).

import {
  CONTROL_PLANE_VERSION_ANNOTATION,
  OS_IMAGE_ANNOTATION,
  type HostExecutor,
  type HousekeeperKube,
  type NodeObject,
  type NodeProgress,
  type NodeTarget,
  type NodeUpgradePhase,
} from '../types.js';
import type { StepContext, StepResult } from './context.js';
import { cordonAndDrain } from './drain.js';
import {
  HostCommandError,
  isControlPlaneNode,
  readOsStatus,
  staticPodVersion,
  type OsStatus,
} from './host.js';
import { ProgressReporter, readProgress, readTarget, StepFailure } from './progress.js';
import { leaveStep } from './leave.js';
import { upgradeKubernetes, upgradeOs, verify } from './upgrade.js';
import { vouchFor } from './vouch.js';

export interface AgentOptions {
  nodeName: string;
  /** Housekeeper's namespace (POD_NAMESPACE): the only place Updates it obeys may come from. */
  namespace: string;
  kube: HousekeeperKube;
  host: HostExecutor;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  log?: (line: string) => void;
  /** Pause between passes of `run`. Default 10 s. */
  pollMs?: number;
}

export const DEFAULT_POLL_MS = 10_000;

/** The steps in order, and the recorded phases that resume at each. */
const STEPS: { phases: readonly NodeUpgradePhase[]; run: (ctx: StepContext) => Promise<StepResult> }[] = [
  { phases: ['pending', 'draining'], run: cordonAndDrain },
  { phases: ['upgrading-os', 'rebooting'], run: upgradeOs },
  { phases: ['upgrading-kubernetes'], run: upgradeKubernetes },
  { phases: ['verifying'], run: verify },
];

export class NodeAgent {
  private readonly nodeName: string;
  private readonly kube: HousekeeperKube;
  private readonly host: HostExecutor;
  private readonly now: () => Date;
  private readonly log: (line: string) => void;
  private readonly options: AgentOptions;
  private readonly evicted = new Set<string>();

  constructor(options: AgentOptions) {
    this.options = options;
    this.nodeName = options.nodeName;
    this.kube = options.kube;
    this.host = options.host;
    this.now = options.now ?? (() => new Date());
    this.log = options.log ?? ((line) => console.log(line));
  }

  /** One pass: look at the node, do the next step(s), report; resolves with the phase reached. */
  async step(): Promise<NodeUpgradePhase | 'idle'> {
    const node = await this.kube.getNode(this.nodeName);
    if (!node) throw new Error(`node ${this.nodeName} not found`);
    // Leaving the cluster (scale-in) comes before any upgrade: the node is about to go.
    const leaving = await leaveStep({ node, kube: this.kube, host: this.host, now: this.now, log: this.log });
    if (leaving === 'done') return 'done';
    if (leaving !== undefined) return leaving === 'failed' ? 'failed' : 'draining';
    const target = readTarget(node, this.log);
    const previous = readProgress(node);
    const own = target && previous?.key === target.key ? previous : undefined;
    const active = target !== undefined && own?.phase !== 'done' && own?.phase !== 'failed';
    const progress = target && new ProgressReporter(this.kube, this.nodeName, target.key, this.now, own);

    let os: OsStatus;
    try {
      os = await readOsStatus(this.host);
    } catch (err) {
      // Idle, the status only feeds the annotation: try again next pass. Mid-upgrade it is a failure.
      if (!active || !progress || !(err instanceof HostCommandError)) throw err;
      return this.failed(progress, err.message);
    }
    await this.report(node, OS_IMAGE_ANNOTATION, os.booted);
    if (isControlPlaneNode(node)) {
      await this.report(node, CONTROL_PLANE_VERSION_ANNOTATION, (await staticPodVersion(this.host)) ?? '');
    }
    // No target, or this target finished either way: a failed node waits for a new key, never retries.
    if (!active || !progress) return 'idle';
    if (!own) {
      // Not started yet: obey the target only if the Update it names asks for exactly that.
      const verdict = await vouchFor(this.kube, this.options.namespace, node, target);
      if (verdict.kind === 'stale') {
        this.log(
          `node ${this.nodeName}: waiting for a current target: ${target.key} is stale, ${verdict.reason}`,
        );
        return 'idle';
      }
      if (verdict.kind === 'forged') return this.failed(progress, `refused the target: ${verdict.reason}`);
    }

    const ctx: StepContext = {
      nodeName: this.nodeName,
      kube: this.kube,
      host: this.host,
      now: this.now,
      log: this.log,
      target,
      node,
      os,
      progress,
      inheritedCordon: cordonStillOurs(previous, target),
      evicted: this.evicted,
    };
    const start = resumeAt(progress.current);
    try {
      for (const step of STEPS.slice(Math.max(start, 0))) {
        const result = await step.run(ctx);
        if (result !== 'next') return result;
      }
      return progress.phase;
    } catch (err) {
      if (err instanceof HostCommandError || err instanceof StepFailure)
        return this.failed(progress, err.message);
      throw err; // the API did not answer or refused: nothing is known to be wrong with the node, retry
    }
  }

  /** Passes of `step` every pollMs until the signal aborts; a pass that throws is logged, never fatal. */
  async run(signal: AbortSignal): Promise<void> {
    const pollMs = this.options.pollMs ?? DEFAULT_POLL_MS;
    const sleep = this.options.sleep ?? ((ms: number) => abortableSleep(ms, signal));
    let last: string | undefined;
    while (!signal.aborted) {
      try {
        const phase = await this.step();
        if (phase !== last) this.log(`node ${this.nodeName}: ${phase}`);
        last = phase;
      } catch (err) {
        this.log(
          `node ${this.nodeName}: pass failed, retrying: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      if (signal.aborted) break;
      await sleep(pollMs);
    }
  }

  private async failed(progress: ProgressReporter, lastError: string): Promise<'failed'> {
    this.log(`node ${this.nodeName}: failed: ${lastError}`);
    await progress.fail(lastError);
    return 'failed';
  }

  /** One of the agent's own annotations, written only when it changed. */
  private async report(node: NodeObject, annotation: string, value: string): Promise<void> {
    if (node.metadata.annotations?.[annotation] === value) return;
    await this.kube.patchNode(this.nodeName, { metadata: { annotations: { [annotation]: value } } });
  }
}

/**
 * The step a pass resumes at. kubeadm run from the staged deployment belongs to the OS step (it happens
 * between staging and the reboot), although its phase is `upgrading-kubernetes`.
 */
function resumeAt(progress: NodeProgress | undefined): number {
  const phase = progress?.phase ?? 'pending';
  if (phase === 'upgrading-kubernetes' && progress?.kubeadm === 'staged')
    return STEPS.findIndex((s) => s.run === upgradeOs);
  return STEPS.findIndex((s) => s.phases.includes(phase));
}

/**
 * A new key finds the node cordoned: if the agent cordoned it for an earlier target and never lifted it
 * (that target failed, or was replaced mid-way), the cordon is still the agent's to lift at the end.
 */
function cordonStillOurs(previous: NodeProgress | undefined, target: NodeTarget): boolean {
  return previous !== undefined && previous.key !== target.key && previous.cordonedByAgent === true
    ? previous.phase !== 'done'
    : false;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
