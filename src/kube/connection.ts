// One HTTPS connection setup and one request/response exchange under client.ts, for everything that
// talks to the API server: node:https with the cluster CA as the only trust anchor and
// rejectUnauthorized set explicitly (an inherited NODE_TLS_REJECT_UNAUTHORIZED=0 must not turn
// verification off), a timeout per request covering the connection, and a cap on the body size.
// Failures become the one-line KubeApiError.
import { Agent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import { KubeApiError, transportError } from './errors.js';
import { formatDuration } from '../cluster/wait.js';

const MAX_BODY_BYTES = 32 * 1024 * 1024;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export interface ConnectionSettings {
  /** `https://host:port` of the API server. */
  server: string;
  /** The cluster CA (PEM): the only trust anchor for the server's certificate. */
  caPem: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  /** Name to verify the server certificate against instead of the URL's host. */
  tlsServerName?: string;
  /** Bound of each request, connection included (default 10 s). */
  requestTimeoutMs?: number;
}

export interface ApiConnection {
  /** The URL's origin, for messages. */
  server: string;
  hostname: string;
  port: number;
  tls: ConnectionOptions;
  agent: Agent;
  timeoutMs: number;
}

export interface RawResponse {
  status: number;
  contentType: string;
  body: string;
}

export function apiConnection(settings: ConnectionSettings): ApiConnection {
  const url = new URL(settings.server);
  if (url.protocol !== 'https:') throw new Error(`API server URL must be https: ${settings.server}`);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const tls = tlsOptions(settings, hostname);
  return {
    server: url.origin,
    hostname,
    port: url.port === '' ? 443 : Number(url.port),
    tls,
    agent: new Agent({ ...tls, keepAlive: true, maxSockets: 8 }),
    timeoutMs: settings.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
  };
}

/**
 * The cluster CA, the client certificate if any, and the name the server certificate must cover: SNI
 * carries it only when it is a DNS name (RFC 6066 forbids IP literals; Node warns DEP0123); an IP
 * `tlsServerName` is checked by checkServerIdentity instead.
 */
function tlsOptions(settings: ConnectionSettings, hostname: string): ConnectionOptions {
  const base: ConnectionOptions = {
    ca: settings.caPem,
    ...(settings.clientCertPem !== undefined
      ? { cert: settings.clientCertPem, key: settings.clientKeyPem }
      : {}),
    rejectUnauthorized: true,
  };
  const name = settings.tlsServerName?.replace(/^\[(.*)\]$/, '$1');
  if (name === undefined || name === '') {
    return isIP(hostname) === 0 ? { ...base, servername: hostname } : base;
  }
  if (isIP(name) === 0) return { ...base, servername: name };
  return { ...base, checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert) };
}

/** One request; resolves with any HTTP status, rejects (KubeApiError) when no complete answer came. */
export function exchange(
  conn: ApiConnection,
  request: { method: string; path: string; headers: Record<string, string>; body?: string },
): Promise<RawResponse> {
  const { server, timeoutMs } = conn;
  const { method, path } = request;
  const bare = path.split('?')[0]!;
  const headers = { ...request.headers };
  if (request.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(request.body));
  return new Promise<RawResponse>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(transportError(err, server, timeoutMs));
    };
    const req = httpsRequest(
      {
        host: conn.hostname,
        port: conn.port,
        path,
        method,
        agent: conn.agent,
        ...(conn.tls.servername ? { servername: conn.tls.servername } : {}),
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy(
              new KubeApiError(`${server}: response to ${method} ${bare} is too large`, 'protocol'),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    const timer = setTimeout(() => {
      const err = new KubeApiError(
        `${server}: no response to ${method} ${bare} within ${formatDuration(timeoutMs)}`,
        'timeout',
      );
      req.destroy(err);
      fail(err);
    }, timeoutMs);
    req.on('error', fail);
    req.end(request.body);
  });
}
