/**
 * Admin kubeconfig built locally from the deployer-owned PKI, so nkd never has to copy
 * /etc/kubernetes/admin.conf off a master.
 */
import { stringify } from 'yaml';
import type { ClusterPki } from './types.js';

export const ADMIN_USER = 'nkd-admin';

/** The subset of the kubeconfig (clientcmd v1 Config) schema that nkd writes. */
export interface KubeConfig {
  apiVersion: 'v1';
  kind: 'Config';
  clusters: {
    name: string;
    cluster: { server: string; 'certificate-authority-data': string; 'tls-server-name'?: string };
  }[];
  users: { name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
  'current-context': string;
  preferences: Record<string, never>;
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** Builds the typed kubeconfig object; exported for callers that want to merge it. */
export function adminKubeconfig(
  pki: ClusterPki,
  clusterName: string,
  serverUrl: string,
  /** The name the API server certificate is verified against, when `serverUrl`'s host is another one. */
  tlsServerName?: string,
): KubeConfig {
  // Credentials are embedded, so a plain-http URL would be a mistake worth failing on.
  if (new URL(serverUrl).protocol !== 'https:') {
    throw new Error(`kubeconfig server URL must be https: ${serverUrl}`);
  }
  // Entry names carry the cluster so that merging several clusters into one kubeconfig (and next to
  // other tools' entries) never overwrites anything but this cluster's own entries.
  const contextName = `${ADMIN_USER}@${clusterName}`;
  const clusterEntry = `nkd-${clusterName}`;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: clusterEntry,
        cluster: {
          server: serverUrl,
          'certificate-authority-data': b64(pki.clusterCa.certPem),
          ...(tlsServerName ? { 'tls-server-name': tlsServerName } : {}),
        },
      },
    ],
    users: [
      {
        name: contextName,
        user: {
          'client-certificate-data': b64(pki.admin.certPem),
          'client-key-data': b64(pki.admin.keyPem),
        },
      },
    ],
    contexts: [{ name: contextName, context: { cluster: clusterEntry, user: contextName } }],
    'current-context': contextName,
    preferences: {},
  };
}

/** Admin kubeconfig as YAML. Pure: no I/O; the caller decides where (and with which mode) to write it. */
export function renderAdminKubeconfig(
  pki: ClusterPki,
  clusterName: string,
  serverUrl: string,
  tlsServerName?: string,
): string {
  // lineWidth 0: never fold the long base64 strings.
  return stringify(adminKubeconfig(pki, clusterName, serverUrl, tlsServerName), { lineWidth: 0 });
}
