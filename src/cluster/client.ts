/**
 * The deployer's calls on the API server, made through nkd's one Kubernetes client (src/kube) with the
 * cluster's own material: the deployer-owned cluster CA and admin client certificate (src/pki), so no
 * kubeconfig file is needed and nothing is fetched from the nodes.
 *
 * - readyz(), listNodes(), getObject() and listObjects() are GETs (lists paged), polled by the waits;
 * - serverCertificate() is a bare TLS handshake reporting the serving certificate (for `nkd status`);
 * - apply() is server-side apply (src/kube/apply.ts).
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
import { KubeApiError } from '../kube/errors.js';
import { kubeClient } from '../kube/client.js';
import { listAll } from '../kube/list.js';
import { summarizeNode, type NodeObject } from './nodes.js';
import type { ClusterClient, ClusterClientOptions } from './types.js';

export * from './types.js';
export { KubeApiError, KubeStatusError, transportError, type KubeApiErrorKind } from '../kube/errors.js';
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
  const kube = kubeClient({
    server: options.server,
    caPem: options.caPem,
    auth: { clientCertPem: options.clientCertPem, clientKeyPem: options.clientKeyPem },
    ...(options.tlsServerName !== undefined ? { tlsServerName: options.tlsServerName } : {}),
    ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
  });
  const { server } = kube;

  function asObject(obj: unknown, path: string): Record<string, unknown> {
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new KubeApiError(`${server}: ${path} did not return an object`, 'protocol');
    }
    return obj as Record<string, unknown>;
  }

  return {
    server,
    async readyz() {
      const res = await kube.request('GET', '/readyz', 'text/plain, */*');
      return { ok: res.status === 200, status: res.status, body: res.body };
    },
    async listNodes() {
      return (await listAll<NodeObject>(kube, '/api/v1/nodes')).map(summarizeNode);
    },
    async mergePatch(path, patch) {
      const patched = await kube.call('PATCH', path, {
        body: patch,
        contentType: 'application/merge-patch+json',
      });
      return asObject(patched, `PATCH ${path}`);
    },
    async getObject(path) {
      const obj = await kube.call('GET', path, { allowMissing: true });
      return obj === undefined ? undefined : asObject(obj, `GET ${path}`);
    },
    listObjects(path) {
      return listAll<Record<string, unknown>>(kube, path, { allowMissing: true });
    },
    serverCertificate() {
      return kube.serverCertificate();
    },
    apply(objects, fieldManager = DEFAULT_FIELD_MANAGER) {
      return kube.apply(objects, fieldManager);
    },
    close() {
      kube.close();
    },
  };
}
