// Public surface of the deployer's Kubernetes API side, built on nkd's one client (src/kube).
export {
  apiServerUrl,
  clusterClient,
  clusterClientFromPki,
  DEFAULT_FIELD_MANAGER,
  KubeApiError,
  nodeRoles,
  summarizeNode,
} from './client.js';
export type {
  AppliedObject,
  ClusterClient,
  ClusterClientOptions,
  KubeApiErrorKind,
  KubeObject,
  NodeSummary,
  ReadyzResult,
  ServerCertificate,
  WorkloadRef,
} from './client.js';
export {
  DEFAULT_INITIAL_DELAY_MS,
  DEFAULT_MAX_DELAY_MS,
  formatClock,
  formatDuration,
  waitFor,
  WaitTimeoutError,
} from './wait.js';
export type { ProbeResult, WaitEvent, WaitOptions, WaitProgress } from './wait.js';
export {
  DEFAULT_API_TIMEOUT_MS,
  DEFAULT_NODES_TIMEOUT_MS,
  failingReadyzChecks,
  waitForApiServer,
  waitForNodesReady,
} from './waits.js';
export type { ClusterWaitOptions, NodeWaitEvent } from './waits.js';
export {
  DEFAULT_WORKLOADS_TIMEOUT_MS,
  waitForWorkloads,
  workloadId,
  workloadPath,
  workloadReadiness,
  workloadsOf,
} from './workloads.js';
export type { WorkloadReadiness, WorkloadStatus, WorkloadWaitEvent } from './workloads.js';
export { EXPIRY_WARNING_DAYS, gatherClusterStatus, HOUSEKEEPER_STATUS_NAMESPACE } from './status.js';
export type {
  ApiStatus,
  ClusterStatus,
  HousekeeperStatus,
  HousekeeperWorkload,
  NodeStatus,
  StatusClient,
  UpdateObjectStatus,
} from './status.js';
