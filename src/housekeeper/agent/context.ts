// What every upgrade step sees: one pass's fresh view of the node and the host, and where to report.

import type { HostExecutor, HousekeeperKube, NodeObject, NodeTarget, NodeUpgradePhase } from '../types.js';
import type { OsStatus } from './host.js';
import type { ProgressReporter } from './progress.js';

export interface StepContext {
  nodeName: string;
  kube: HousekeeperKube;
  host: HostExecutor;
  now: () => Date;
  log: (line: string) => void;
  target: NodeTarget;
  /** The Node as read at the start of this pass. */
  node: NodeObject;
  /** rpm-ostree's deployments as read at the start of this pass. */
  os: OsStatus;
  progress: ProgressReporter;
  /**
   * The node is still cordoned by this agent for an earlier target (it failed, or the operator handed out
   * a new key mid-way): that cordon stays the agent's to lift, although the node is unschedulable now.
   */
  inheritedCordon: boolean;
  /** `namespace/name` of pods this agent instance evicted, to wait for them (lost on restart: a hint only). */
  evicted: Set<string>;
}

/** 'next': this step is finished (or not needed), go on; a phase: stop this pass there. */
export type StepResult = 'next' | NodeUpgradePhase;
