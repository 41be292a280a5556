// What a running deploy (or wait, or destroy) reports, as data: the CLI turns these into a live task
// list on a terminal, timestamped lines elsewhere, or one JSON object per line under --json. Events
// never carry secrets: tokens, keys and passphrases stay in the state directory.
import type { NodeRole } from '../plan/allocate.js';
import type { DeployPhase } from './deploy-state.js';

export type PhaseName = 'render' | DeployPhase;

/** A node's way through a deploy, in order. */
export const NODE_STATES = ['planned', 'created', 'ignition-fetched', 'joined', 'ready'] as const;
export type NodeState = (typeof NODE_STATES)[number];

export type DeployEvent =
  | {
      type: 'phase';
      phase: PhaseName;
      state: 'started' | 'done' | 'skipped' | 'failed';
      message: string;
      /** For skipped: why (done earlier and verified, not applicable). */
      reason?: string;
      elapsedMs?: number;
    }
  | { type: 'node'; node: string; role: NodeRole; state: NodeState; message: string }
  | { type: 'info'; message: string }
  | { type: 'warning'; message: string };

export interface Reporter {
  emit(event: DeployEvent): void;
  /** Stops live drawing so a prompt can use the terminal; resume() redraws. */
  suspend(): void;
  resume(): void;
  /** Final flush; the reporter is not used afterwards. */
  close(): void;
}

/** A reporter that drops everything (library use, tests that do not look). */
export const silentReporter: Reporter = {
  emit: () => {},
  suspend: () => {},
  resume: () => {},
  close: () => {},
};

/** Human-readable titles of the phases, for task lists and logs. */
export const PHASE_TITLES: Record<PhaseName, string> = {
  render: 'Render Ignition and kubeadm configs',
  'pre-deploy': 'Run pre-deploy hooks',
  drain: 'Drain and remove nodes',
  'join-token': 'Mint a join token for new nodes',
  provision: 'Provision the infrastructure',
  ignition: 'Serve Ignition configs to the nodes',
  'wait-api': 'Wait for the API server',
  network: 'Install the network plugin',
  'wait-nodes': 'Wait for the nodes',
  housekeeper: 'Install Housekeeper',
  'post-deploy': 'Apply post-deploy manifests',
};
