// The public shapes of the fake Kubernetes API (fake-kube-api.ts): its options, the fake's handle and
// what it records.
import type { PodDisruptionBudgetObject, PodObject } from '../../src/housekeeper/types.js';
import type { CertAndKey, ClusterPki } from '../../src/pki/types.js';
import type { AppliedRecord } from './fake-apply.js';
import type { AuthMethod, ClientIdentity, TokenIdentity } from './fake-auth.js';
import type { FakeNode } from './fake-nodes.js';
import type { FakePod, FakePodDisruptionBudget } from './fake-pods.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  client: ClientIdentity;
  /** How the client authenticated. */
  auth: AuthMethod;
  /** The SNI server name the client sent, if any. */
  sni: string | undefined;
  /** For requests with a body: its media type, and the body parsed (JSON, or YAML for apply). */
  contentType?: string;
  body?: unknown;
}

export type Failure = { status: number; message?: string } | 'reset';

export interface FakeKubeApiOptions {
  pki: ClusterPki;
  /** gitVersion of GET /version (default v1.30.4). */
  serverVersion?: string;
  /** CA that issues the serving certificate; defaults to the cluster CA. */
  servingCa?: CertAndKey;
  /** SANs of the serving certificate; defaults to 127.0.0.1 and localhost. */
  servingNames?: string[];
  /** /readyz answers 500 until this many ms after start (or setReadyAfter). */
  readyAfterMs?: number;
  /** /readyz answers 500 for the first N calls. */
  readyAfterCalls?: number;
  nodes?: FakeNode[];
  /**
   * Applied Deployments and DaemonSets turn ready this long after their last change (default 0: at
   * once; Infinity: never, unless forced with setWorkloadReady).
   */
  workloadsReadyAfterMs?: number;
  /**
   * 'handshake' (default without bearerTokens): TLS refuses a client certificate not issued by the
   * cluster CA.
   * 'apiserver' (default with bearerTokens): like kube-apiserver, any certificate (or none) passes the
   * handshake and authentication comes after: a client with neither a verified certificate nor a known
   * token is anonymous, which may read /readyz, /livez, /healthz and /version and gets 401 elsewhere.
   */
  clientAuth?: 'handshake' | 'apiserver';
  /** Bearer token → the identity it authenticates as (an unknown token gets 401). */
  bearerTokens?: Record<string, TokenIdentity>;
  /** Deleted or evicted pods stay, with a deletionTimestamp, this long (default 0: gone at once). */
  podTerminationMs?: number;
}

export interface FakeKubeApi {
  url: string;
  port: number;
  /** The live node list: mutate it (or use addNode/setNodeReady) and the next GET sees it. */
  nodes: FakeNode[];
  /** Every server-side apply, in order. */
  applied: AppliedRecord[];
  /** Every request, in order. */
  requests: RecordedRequest[];
  /**
   * Called before each request is answered (after it is recorded), e.g. to change the cluster after the
   * Nth node list so that a test advances with the polling rather than with wall-clock time.
   */
  onRequest: ((request: RecordedRequest, count: number) => void) | undefined;
  /**
   * Stored objects by path (`/api/v1/namespaces/<ns>/pods/<name>`, `/apis/<group>/<version>/...`), as
   * served back by GET (Deployments, DaemonSets and PodDisruptionBudgets with their simulated status
   * added). Tests may add objects or set a status here directly.
   */
  objects: Map<string, Record<string, unknown>>;
  /** Forces /readyz either way (clears any "after" condition). */
  setReady(ready: boolean): void;
  /** /readyz turns ready once `ms` have passed since this call and more than `calls` calls were made. */
  setReadyAfter(after: { ms?: number; calls?: number }): void;
  /** How many times /readyz was called. */
  readyzCalls(): number;
  addNode(node: FakeNode): FakeNode;
  setNodeReady(name: string, ready: boolean, why?: { reason?: string; message?: string }): void;
  removeNode(name: string): void;
  /** Stores a running pod (Ready unless `ready: false`); throws if it exists. */
  addPod(pod: FakePod): PodObject;
  /** The stored pods (of one namespace, or all), sorted by namespace and name. */
  pods(namespace?: string): PodObject[];
  /** Stores a PodDisruptionBudget selecting `matchLabels`; throws if it exists. */
  addPodDisruptionBudget(pdb: FakePodDisruptionBudget): PodDisruptionBudgetObject;
  /** From now on, deleted or evicted pods stay (with deletionTimestamp) for `ms` before they are gone. */
  setPodTerminationMs(ms: number): void;
  /** Forces an applied (or still to be applied) Deployment or DaemonSet ready or not, from now on. */
  setWorkloadReady(namespace: string, kind: 'Deployment' | 'DaemonSet', name: string, ready: boolean): void;
  /** Makes every request to `path` (no query) fail: with an HTTP status, or by resetting the connection. */
  failPath(path: string, failure: Failure): void;
  clearFailure(path: string): void;
  stop(): Promise<void>;
}
