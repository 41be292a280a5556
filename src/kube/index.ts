// nkd's one Kubernetes API client (see client.ts): what the deployer (src/cluster, src/workflows) and the
// Housekeeper (src/housekeeper) build their calls on.
export { kubeClient, DEFAULT_REQUEST_TIMEOUT_MS } from './client.js';
export type { CallOptions, KubeAuth, KubeClient, KubeClientOptions, RawResponse } from './client.js';
export { KubeApiError, KubeStatusError, transportError, type KubeApiErrorKind } from './errors.js';
export { inClusterConfig, SERVICE_ACCOUNT_DIR, TOKEN_REFRESH_MS } from './in-cluster.js';
export type { InClusterConfig, InClusterOptions } from './in-cluster.js';
export { DEFAULT_PAGE_SIZE, listAll, type ListOptions } from './list.js';
export type { AppliedObject, KubeObject, ServerCertificate } from './types.js';
