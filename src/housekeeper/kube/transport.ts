// JSON over HTTPS to the API server for the Housekeeper operator and agent: node:https only (their image
// must stay small and start fast), the cluster CA as the only trust anchor with rejectUnauthorized set
// explicitly, a bearer token (re-read through a callback, so rotated tokens are picked up) or a client
// certificate, a timeout per request and a cap on the body size. HTTP error statuses become
// KubeStatusError with the API's own message; transport failures become the one-line KubeApiError of
// the cluster client.
import { Agent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import { KubeApiError, transportError } from '../../cluster/errors.js';
import { formatDuration } from '../../cluster/wait.js';
import { KubeStatusError } from '../types.js';

const MAX_BODY_BYTES = 32 * 1024 * 1024;
const MAX_MESSAGE_CHARS = 400;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export type KubeAuth = { bearerToken: () => string } | { clientCertPem: string; clientKeyPem: string };

export interface KubeTransportOptions {
  /** `https://host:port` of the API server. */
  server: string;
  /** The cluster CA (PEM): the only trust anchor for the server's certificate. */
  caPem: string;
  auth: KubeAuth;
  /** Name to verify the server certificate against (and send as SNI) instead of the URL's host. */
  tlsServerName?: string;
  /** Bound of each request, connection included (default 10 s). */
  requestTimeoutMs?: number;
}

export interface CallOptions {
  body?: unknown;
  contentType?: string;
  /** Resolve undefined on 404 instead of rejecting. */
  allowMissing?: boolean;
}

export interface KubeTransport {
  server: string;
  /** The parsed JSON of a 2xx answer (undefined for an empty body). */
  call(method: string, path: string, options?: CallOptions): Promise<unknown>;
  close(): void;
}

export function kubeTransport(options: KubeTransportOptions): KubeTransport {
  const url = new URL(options.server);
  if (url.protocol !== 'https:') throw new Error(`API server URL must be https: ${options.server}`);
  const server = url.origin;
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 443 : Number(url.port);
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const tls = tlsOptions(options, hostname);
  const agent = new Agent({ ...tls, keepAlive: true, maxSockets: 8 });
  const bearerToken = 'bearerToken' in options.auth ? options.auth.bearerToken : undefined;

  function send(
    method: string,
    path: string,
    body: string | undefined,
    contentType: string | undefined,
  ): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'nkd-housekeeper' };
    if (body !== undefined) {
      headers['Content-Type'] = contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    if (bearerToken) headers.Authorization = `Bearer ${bearerToken()}`;
    const bare = path.split('?')[0]!;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(transportError(err, server, timeoutMs));
      };
      const req = httpsRequest(
        {
          host: hostname,
          port,
          path,
          method,
          agent,
          ...(tls.servername ? { servername: tls.servername } : {}),
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
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
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
      req.end(body);
    });
  }

  return {
    server,
    async call(method, path, callOptions = {}) {
      const body = callOptions.body === undefined ? undefined : JSON.stringify(callOptions.body);
      const res = await send(method, path, body, callOptions.contentType);
      const bare = path.split('?')[0]!;
      if (res.status === 404 && callOptions.allowMissing) return undefined;
      if (res.status < 200 || res.status > 299) {
        throw new KubeStatusError(res.status, statusErrorMessage(res.status, `${method} ${bare}`, res.text));
      }
      if (res.text.trim() === '') return undefined;
      try {
        return JSON.parse(res.text) as unknown;
      } catch {
        throw new KubeApiError(
          `${server}: ${method} ${bare} answered with something other than JSON`,
          'protocol',
        );
      }
    },
    close() {
      agent.destroy();
    },
  };
}

/**
 * `HTTP 429 from POST /api/v1/...: <Status.message> (<details.causes[].message>)`, on one line. The
 * causes carry what a bare message lacks, e.g. which disruption budget blocks an eviction.
 */
export function statusErrorMessage(status: number, what: string, text: string): string {
  let message = text;
  try {
    const parsed = JSON.parse(text) as { message?: unknown; details?: { causes?: { message?: unknown }[] } };
    if (parsed && typeof parsed === 'object' && typeof parsed.message === 'string') {
      const causes = (Array.isArray(parsed.details?.causes) ? parsed.details.causes : [])
        .map((c) => (typeof c?.message === 'string' ? c.message : ''))
        .filter((m) => m !== '' && m !== parsed.message);
      message = causes.length > 0 ? `${parsed.message} (${causes.join('; ')})` : parsed.message;
    }
  } catch {
    // not JSON: keep the text
  }
  let line = message.replace(/\s*\n\s*/g, ' ').trim();
  if (line.length > MAX_MESSAGE_CHARS) line = `${line.slice(0, MAX_MESSAGE_CHARS - 3)}...`;
  return `HTTP ${status} from ${what}${line ? `: ${line}` : ''}`;
}

/**
 * The cluster CA as the only trust anchor, the client certificate if any, and the name the server
 * certificate must cover: SNI carries it only when it is a DNS name (RFC 6066 forbids IP literals); an
 * IP `tlsServerName` is checked by checkServerIdentity instead.
 */
function tlsOptions(options: KubeTransportOptions, hostname: string): ConnectionOptions {
  const base: ConnectionOptions = {
    ca: options.caPem,
    ...('clientCertPem' in options.auth
      ? { cert: options.auth.clientCertPem, key: options.auth.clientKeyPem }
      : {}),
    rejectUnauthorized: true,
  };
  const name = options.tlsServerName?.replace(/^\[(.*)\]$/, '$1');
  if (name === undefined || name === '') {
    return isIP(hostname) === 0 ? { ...base, servername: hostname } : base;
  }
  if (isIP(name) === 0) return { ...base, servername: name };
  return { ...base, checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert) };
}
