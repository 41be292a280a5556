// What the deploy's phases share: the prepared cluster, the checkpoint state, the reporter, the
// provider's outputs once known, and a lazily built API client.
import type { ProvisionOutputs } from '../../providers/types.js';
import type { ClusterClient } from '../cluster/types.js';
import type { ProvisioningEngine } from '../engine/types.js';
import type { DebugLog } from '../lib/log.js';
import type { ClusterPki } from '../pki/types.js';
import type { ClusterDiff } from '../plan/diff.js';
import type { DeployState } from './deploy-state.js';
import type { JoinToken } from './scale.js';
import type { NodeState, Reporter } from './events.js';
import type { PlannedCluster, PreparedCluster } from './prepare.js';

export interface DeployTimeouts {
  /** Every node fetched its Ignition config (pointer delivery). */
  fetchMs: number;
  apiMs: number;
  nodesMs: number;
  /** Each add-on's workloads rolled out (network plugin, Housekeeper). */
  addonsMs: number;
  /** Each pre-deploy hook. */
  hookMs: number;
}

export const DEFAULT_TIMEOUTS: DeployTimeouts = {
  fetchMs: 30 * 60_000,
  apiMs: 20 * 60_000,
  nodesMs: 30 * 60_000,
  addonsMs: 15 * 60_000,
  hookMs: 10 * 60_000,
};

/** Poll tuning for tests: an injected clock and sleep, short delays. */
export interface WaitTuning {
  initialDelayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface DeployOptions {
  planned: PlannedCluster;
  /** The config file (`-` for stdin): hooks and manifest paths are relative to its directory. */
  configFile: string;
  stateDir: string;
  nkdVersion: string;
  engine: ProvisioningEngine;
  reporter: Reporter;
  log: DebugLog;
  signal: AbortSignal;
  timeouts: DeployTimeouts;
  /** Called (with the question) only when provisioning is about to change infrastructure. */
  confirmProvisioning: (question: string) => Promise<void>;
  waitTuning?: WaitTuning;
  /** Where relative hook paths start; default: the config file's directory. */
  baseDir?: string;
  /** false: the caller showed the diff already (the CLI, before asking). */
  announceDiff?: boolean;
  /** Adding (never removing) control-plane nodes to a running cluster needs this explicit yes. */
  allowControlPlaneChanges?: boolean;
  /** Scale-down: delete pods whose eviction a PodDisruptionBudget still blocks at the drain timeout. */
  forceDrain?: boolean;
  /** Scale-down: per node (default 5 minutes). */
  drainTimeoutMs?: number;
  /** Fetches an https:// network manifest (spec.network.manifest); tests serve one on loopback. */
  fetchManifest?: (url: string) => Promise<string>;
}

export interface DeployContext {
  readonly options: DeployOptions;
  readonly prepared: PreparedCluster & { pki: ClusterPki };
  readonly state: DeployState;
  readonly log: DebugLog;
  readonly baseDir: string;
  /** The deployed cluster against the config (firstDeploy on the first run). */
  readonly diff: ClusterDiff;
  /** The fresh token nodes added by this run join with. */
  readonly joinToken: JoinToken | undefined;
  outputs: ProvisionOutputs | undefined;
  info(message: string): void;
  warn(message: string): void;
  nodeState(node: string, state: NodeState): void;
  saveState(): void;
  /** The API client for the current outputs (rebuilt when they change). */
  client(): ClusterClient;
  waitTuning(): WaitTuning & { signal: AbortSignal };
  /** Where to look when nodes do not come up: console logs, the debug log. */
  consoleHints(): string[];
}
