/**
 * A small Kubernetes API client built from the cluster's own material: the deployer-owned cluster CA
 * and admin client certificate (src/pki), so no kubeconfig file is needed and nothing is fetched from
 * the nodes.
 *
 * - readyz() and listNodes() are plain HTTPS GETs through node:https: they are polled by the waits, and
 *   must not pull in @kubernetes/client-node (~0.7 s to import).
 * - apply() is server-side apply through @kubernetes/client-node's KubernetesObjectApi, imported
 *   lazily on first use.
 *
 * Every request verifies the server against the cluster CA, with `rejectUnauthorized: true` set
 * explicitly (an inherited NODE_TLS_REJECT_UNAUTHORIZED=0 must not turn verification off), and every
 * failure becomes a one-line KubeApiError that says what went wrong (certificate verification, refused
 * connection, HTTP status with the API's own message), never a stack or a header dump.
 */
import { Agent } from 'node:https';
import { isIP } from 'node:net';
import type { ClusterPki } from '../pki/types.js';
import { createApplier } from './apply.js';
import { KubeApiError } from './errors.js';
import { createGetter } from './https-get.js';
import { summarizeNode, type NodeObject } from './nodes.js';
import type { ClusterClient, ClusterClientOptions, NodeSummary } from './types.js';

export * from './types.js';
export { KubeApiError, transportError, type KubeApiErrorKind } from './errors.js';
export { nodeRoles, summarizeNode } from './nodes.js';
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_FIELD_MANAGER = 'nkd';

/** `https://host:port` for an endpoint; IPv6 literals get their brackets. */
export function apiServerUrl(endpoint: { host: string; port: number }): string {
  const host = isIP(endpoint.host) === 6 ? `[${endpoint.host}]` : endpoint.host;
  return `https://${host}:${endpoint.port}`;
}

/** A client acting as the deployer's admin (CN nkd-admin, O system:masters), trusting the cluster CA. */
export function clusterClientFromPki(
  pki: ClusterPki,
  server: string,
  options: Pick<ClusterClientOptions, 'tlsServerName' | 'requestTimeoutMs'> = {},
): ClusterClient {
  return clusterClient({
    server,
    caPem: pki.clusterCa.certPem,
    clientCertPem: pki.admin.certPem,
    clientKeyPem: pki.admin.keyPem,
    ...options,
  });
}

export function clusterClient(options: ClusterClientOptions): ClusterClient {
  const url = new URL(options.server);
  if (url.protocol !== 'https:') throw new Error(`API server URL must be https: ${options.server}`);
  const server = url.origin;
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 443 : Number(url.port);
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // SNI must not be an IP literal (RFC 6066); Node then verifies against the host, as wanted.
  const servername = options.tlsServerName ?? (isIP(hostname) === 0 ? hostname : undefined);

  const agent = new Agent({
    ca: options.caPem,
    cert: options.clientCertPem,
    key: options.clientKeyPem,
    rejectUnauthorized: true,
    ...(servername ? { servername } : {}),
    keepAlive: true,
    maxSockets: 8,
  });
  const { get, getJson } = createGetter({ server, hostname, port, servername, agent, timeoutMs });
  const applyObjects = createApplier({ server, options, agent, timeoutMs });

  return {
    server,
    async readyz() {
      const res = await get('/readyz', 'text/plain, */*');
      return { ok: res.status === 200, status: res.status, body: res.body };
    },
    async listNodes() {
      const nodes: NodeSummary[] = [];
      let cont: string | undefined;
      do {
        const query = `limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`;
        const list = (await getJson(`/api/v1/nodes?${query}`, 'GET /api/v1/nodes')) as {
          items?: NodeObject[];
          metadata?: { continue?: string };
        };
        if (!Array.isArray(list.items)) {
          throw new KubeApiError(`${server}: GET /api/v1/nodes did not return a NodeList`, 'protocol');
        }
        nodes.push(...list.items.map(summarizeNode));
        cont = list.metadata?.continue || undefined;
      } while (cont);
      return nodes;
    },
    apply(objects, fieldManager = DEFAULT_FIELD_MANAGER) {
      return applyObjects(objects, fieldManager);
    },
    close() {
      agent.destroy();
    },
  };
}
