/**
 * A small Kubernetes API client built from the cluster's own material: the deployer-owned cluster CA
 * and admin client certificate (src/pki), so no kubeconfig file is needed and nothing is fetched from
 * the nodes.
 *
 * - readyz(), listNodes(), getObject() and listObjects() are plain HTTPS GETs through node:https: they
 *   are polled by the waits, and must not pull in @kubernetes/client-node (~0.7 s to import).
 * - serverCertificate() is a bare TLS handshake reporting the serving certificate (for `nkd status`).
 * - apply() is server-side apply through @kubernetes/client-node's KubernetesObjectApi, imported
 *   lazily on first use.
 *
 * Every request verifies the server against the cluster CA, with `rejectUnauthorized: true` set
 * explicitly (an inherited NODE_TLS_REJECT_UNAUTHORIZED=0 must not turn verification off), and against
 * the URL's host or `tlsServerName`: a DNS name is also sent as SNI; an IP literal is not (RFC 6066
 * forbids it and Node warns, DEP0123), the certificate is checked against it by checkServerIdentity. Every
 * failure becomes a one-line KubeApiError that says what went wrong (certificate verification, refused
 * connection, HTTP status with the API's own message), never a stack or a header dump.
 */
import { isIP } from 'node:net';
import type { ClusterPki } from '../pki/types.js';
import { createApplier } from './apply.js';
import { KubeApiError } from './errors.js';
import { apiConnection } from './connection.js';
import { createGetter, probeServerCertificate } from './https-get.js';
import { summarizeNode, type NodeObject } from './nodes.js';
import type { ClusterClient, ClusterClientOptions, NodeSummary } from './types.js';

export * from './types.js';
export { KubeApiError, transportError, type KubeApiErrorKind } from './errors.js';
export { nodeRoles, summarizeNode } from './nodes.js';
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
  const conn = apiConnection(options);
  const { server, hostname, port, tls, agent, timeoutMs } = conn;
  const { get, getJson, getJsonOrMissing, mergePatch } = createGetter(conn);
  const applyObjects = createApplier({ server, options, agent, timeoutMs });

  async function listPages(path: string, what: string): Promise<Record<string, unknown>[] | undefined> {
    const items: Record<string, unknown>[] = [];
    const separator = path.includes('?') ? '&' : '?';
    let cont: string | undefined;
    do {
      const query = `limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`;
      const list = (await getJsonOrMissing(`${path}${separator}${query}`, what)) as
        { items?: unknown; metadata?: { continue?: string } } | undefined;
      // A 404 on a later page would mean the resource vanished mid-listing: report it as missing too.
      if (list === undefined) return undefined;
      if (!Array.isArray(list.items)) {
        throw new KubeApiError(`${server}: ${what} did not return a list`, 'protocol');
      }
      items.push(...(list.items as Record<string, unknown>[]));
      cont = list.metadata?.continue || undefined;
    } while (cont);
    return items;
  }

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
    async mergePatch(path, patch) {
      return (await mergePatch(path, patch, `PATCH ${path}`)) as Record<string, unknown>;
    },
    async getObject(path) {
      const obj = await getJsonOrMissing(path, `GET ${path}`);
      if (obj === undefined) return undefined;
      if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
        throw new KubeApiError(`${server}: GET ${path} did not return an object`, 'protocol');
      }
      return obj as Record<string, unknown>;
    },
    listObjects(path) {
      return listPages(path, `GET ${path}`);
    },
    serverCertificate() {
      return probeServerCertificate({ server, hostname, port, tls, timeoutMs });
    },
    apply(objects, fieldManager = DEFAULT_FIELD_MANAGER) {
      return applyObjects(objects, fieldManager);
    },
    close() {
      agent.destroy();
    },
  };
}
