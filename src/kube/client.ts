// nkd's one Kubernetes API client, shared by the deployer (src/cluster, src/workflows) and the Housekeeper
// operator and agent: JSON over node:https (connection.ts), no @kubernetes/client-node (docs/architecture.md
// gives the figures behind that choice). Authentication by client certificate (the deployer's admin) or by
// bearer token (a pod's service account, re-read through a callback so rotated tokens are picked up). An
// HTTP error status becomes KubeStatusError with the API's own message; a transport failure the one-line
// KubeApiError.
import { createApplier } from './apply.js';
import { apiConnection, exchange, type RawResponse } from './connection.js';
import { httpError, KubeApiError } from './errors.js';
import { probeServerCertificate } from './probe.js';
import type { AppliedObject, KubeObject, ServerCertificate } from './types.js';

export { DEFAULT_REQUEST_TIMEOUT_MS, type RawResponse } from './connection.js';

export type KubeAuth = { bearerToken: () => string } | { clientCertPem: string; clientKeyPem: string };

export interface KubeClientOptions {
  /** `https://host:port` of the API server. */
  server: string;
  /** The cluster CA (PEM): the only trust anchor for the server's certificate. */
  caPem: string;
  auth: KubeAuth;
  /** Name to verify the server certificate against (and send as SNI) instead of the URL's host. */
  tlsServerName?: string;
  /** Bound of each request, connection included (default 10 s). */
  requestTimeoutMs?: number;
  /** Sent as User-Agent (default "nkd"): the API server's audit log and metrics tell callers apart by it. */
  userAgent?: string;
}

export interface CallOptions {
  body?: unknown;
  contentType?: string;
  /** Resolve undefined on 404 instead of rejecting. */
  allowMissing?: boolean;
  /** What the request is, in error messages (default `METHOD /path`). */
  what?: string;
}

export interface KubeClient {
  /** The URL's origin, for messages. */
  server: string;
  /** The parsed JSON of a 2xx answer (undefined for an empty body). */
  call(method: string, path: string, options?: CallOptions): Promise<unknown>;
  /** One request answered with any HTTP status (e.g. /readyz, whose 500 lists the failing checks). */
  request(method: string, path: string, accept: string): Promise<RawResponse>;
  /** Server-side apply of each object in order; see ClusterClient.apply. */
  apply(objects: readonly KubeObject[], fieldManager: string): Promise<AppliedObject[]>;
  /** The serving certificate, from a TLS handshake verified like every request. */
  serverCertificate(): Promise<ServerCertificate>;
  /** Closes kept-alive connections. */
  close(): void;
}

export function kubeClient(options: KubeClientOptions): KubeClient {
  const withCert = 'clientCertPem' in options.auth;
  const conn = apiConnection({
    server: options.server,
    caPem: options.caPem,
    ...('clientCertPem' in options.auth
      ? { clientCertPem: options.auth.clientCertPem, clientKeyPem: options.auth.clientKeyPem }
      : {}),
    ...(options.tlsServerName !== undefined ? { tlsServerName: options.tlsServerName } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
  });
  const { server, agent } = conn;
  const bearerToken = 'bearerToken' in options.auth ? options.auth.bearerToken : undefined;
  const userAgent = options.userAgent ?? 'nkd';

  function send(method: string, path: string, accept: string, body?: string, contentType?: string) {
    const headers: Record<string, string> = { Accept: accept, 'User-Agent': userAgent };
    if (body !== undefined) headers['Content-Type'] = contentType ?? 'application/json';
    if (bearerToken) headers.Authorization = `Bearer ${bearerToken()}`;
    return exchange(conn, { method, path, headers, ...(body !== undefined ? { body } : {}) });
  }

  async function call(method: string, path: string, callOptions: CallOptions = {}): Promise<unknown> {
    const { body, contentType } = callOptions;
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const res = await send(method, path, 'application/json', text, contentType);
    const bare = path.split('?')[0]!;
    if (res.status === 404 && callOptions.allowMissing) return undefined;
    if (res.status < 200 || res.status > 299) {
      const what = callOptions.what ?? `${method} ${bare}`;
      throw httpError(res.status, what, res.body, { clientCertificate: withCert });
    }
    if (res.body.trim() === '') return undefined;
    try {
      return JSON.parse(res.body) as unknown;
    } catch {
      throw new KubeApiError(
        `${server}: ${method} ${bare} answered with something other than JSON`,
        'protocol',
        res.status,
      );
    }
  }

  const client: KubeClient = {
    server,
    call,
    request: (method, path, accept) => send(method, path, accept),
    apply: (objects, fieldManager) => applyObjects(objects, fieldManager),
    serverCertificate: () => probeServerCertificate(conn),
    close() {
      agent.destroy();
    },
  };
  const applyObjects = createApplier(client);
  return client;
}
