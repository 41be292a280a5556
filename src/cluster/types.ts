// The cluster client's public shapes.
import type { AppliedObject, KubeObject, ServerCertificate } from '../kube/types.js';

export type { AppliedObject, KubeObject, ServerCertificate } from '../kube/types.js';
export interface ClusterClientOptions {
  /** `https://host:port` of the API server (the plan's controlPlaneEndpoint; see apiServerUrl). */
  server: string;
  /** The cluster CA (PEM): the only trust anchor for the server's certificate. */
  caPem: string;
  /** Client certificate and key (PEM), normally the admin certificate (O=system:masters). */
  clientCertPem: string;
  clientKeyPem: string;
  /** Name to verify the server certificate against (and send as SNI) instead of the URL's host. */
  tlsServerName?: string;
  /** Bound of each request, connection included (default 10 s). */
  requestTimeoutMs?: number;
}

export interface ReadyzResult {
  /** HTTP 200 from /readyz. */
  ok: boolean;
  status: number;
  /** The response body: "ok", or the list of checks with the failing ones marked "[-]". */
  body: string;
}

/** A workload whose rollout nkd waits for (add-ons, Housekeeper). */
export interface WorkloadRef {
  kind: 'Deployment' | 'DaemonSet';
  namespace: string;
  name: string;
}

export interface NodeSummary {
  name: string;
  /** The Ready condition is "True". */
  ready: boolean;
  /** Status of the Ready condition; "Unknown" when the node has none yet. */
  readyStatus: 'True' | 'False' | 'Unknown';
  readyReason?: string;
  readyMessage?: string;
  kubeletVersion: string;
  osImage: string;
  /** From node-role.kubernetes.io/<role> labels (and kubernetes.io/role), sorted. */
  roles: string[];
  internalIP?: string;
}

export interface ClusterClient {
  readonly server: string;
  /** GET /readyz. Resolves with any HTTP status; rejects (KubeApiError) when no HTTP answer came. */
  readyz(): Promise<ReadyzResult>;
  /** GET /api/v1/nodes (paged), summarised. */
  listNodes(): Promise<NodeSummary[]>;
  /**
   * GET of one API path (`/apis/apps/v1/namespaces/kube-system/daemonsets/calico-node`): the object,
   * or undefined when the server answers 404. Any other failure rejects with a KubeApiError.
   */
  getObject(path: string): Promise<Record<string, unknown> | undefined>;
  /**
   * GET of a list path (`/apis/housekeeper.io/v1alpha1/updates`), paged like listNodes: the items, or
   * undefined when the server answers 404 (e.g. the CustomResourceDefinition is not installed).
   */
  listObjects(path: string): Promise<Record<string, unknown>[] | undefined>;
  /** JSON merge patch (RFC 7386) of the object at `path`; resolves with the patched object. */
  mergePatch(path: string, patch: unknown): Promise<Record<string, unknown>>;
  /**
   * The API server's serving certificate as presented in a TLS handshake that verified it against the
   * cluster CA and the server name (like every request). Rejects with a KubeApiError otherwise.
   */
  serverCertificate(): Promise<ServerCertificate>;
  /**
   * Server-side apply of each object in order (PATCH, application/apply-patch+yaml, force=true), so a
   * Namespace or CRD listed first exists before the objects that need it. Stops at the first failure.
   */
  apply(objects: readonly KubeObject[], fieldManager?: string): Promise<AppliedObject[]>;
  /** Closes kept-alive connections. The client must not be used afterwards. */
  close(): void;
}
