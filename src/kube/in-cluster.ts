// In-cluster configuration of a pod, as client-go's rest.InClusterConfig finds it: the API server from
// the KUBERNETES_SERVICE_HOST/PORT variables the kubelet sets, the CA and the bearer token from the
// service account volume. Projected tokens rotate (the kubelet refreshes them before they expire), so the
// token is re-read from its file, at most once a minute.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { oneLine } from '../cluster/wait.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
export const TOKEN_REFRESH_MS = 60_000;

export interface InClusterOptions {
  /** Where the service account volume is mounted (tests use a temporary directory). */
  secretsDir?: string;
  /** How long a token read is used before the file is read again (default 60 s). */
  tokenRefreshMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface InClusterConfig {
  server: string;
  caPem: string;
  /** The current token: from the file, re-read when the last read is older than tokenRefreshMs. */
  bearerToken: () => string;
}

function readSecret(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the service account's ${what} ${path}: ${oneLine(err)}`);
  }
  if (text.trim() === '') throw new Error(`the service account's ${what} ${path} is empty`);
  return text;
}

export function inClusterConfig(env: NodeJS.ProcessEnv, options: InClusterOptions = {}): InClusterConfig {
  const host = env.KUBERNETES_SERVICE_HOST?.trim();
  const port = env.KUBERNETES_SERVICE_PORT?.trim();
  if (!host || !port) {
    throw new Error(
      'not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set',
    );
  }
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65_535) {
    throw new Error(`KUBERNETES_SERVICE_PORT is not a port number: ${port}`);
  }
  const dir = options.secretsDir ?? SERVICE_ACCOUNT_DIR;
  const caPath = join(dir, 'ca.crt');
  const tokenPath = join(dir, 'token');
  const caPem = readSecret(caPath, 'CA certificate');
  const now = options.now ?? Date.now;
  const refreshMs = options.tokenRefreshMs ?? TOKEN_REFRESH_MS;

  let token = readSecret(tokenPath, 'token').trim();
  let readAt = now();
  const bearerToken = (): string => {
    if (now() - readAt < refreshMs) return token;
    try {
      token = readSecret(tokenPath, 'token').trim();
      readAt = now();
    } catch {
      // Briefly unreadable (mid-rotation): keep the last token, still valid for a while; retry next call.
    }
    return token;
  };

  const bracketed = isIP(host) === 6 ? `[${host}]` : host;
  return { server: `https://${bracketed}:${port}`, caPem, bearerToken };
}
