// JSON over HTTPS to the API server for the Housekeeper operator and agent: node:https only (their image
// must stay small and start fast), the cluster CA as the only trust anchor with rejectUnauthorized set
// explicitly, a bearer token (re-read through a callback, so rotated tokens are picked up) or a client
// certificate, a timeout per request and a cap on the body size. HTTP error statuses become
// KubeStatusError with the API's own message; transport failures become the one-line KubeApiError of
// the cluster client.
import { apiConnection, exchange } from '../../cluster/connection.js';
import { KubeApiError } from '../../cluster/errors.js';
import { KubeStatusError } from '../types.js';

const MAX_MESSAGE_CHARS = 400;
export { DEFAULT_REQUEST_TIMEOUT_MS } from '../../cluster/connection.js';

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

  async function send(
    method: string,
    path: string,
    body: string | undefined,
    contentType: string | undefined,
  ): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'nkd-housekeeper' };
    if (body !== undefined) headers['Content-Type'] = contentType ?? 'application/json';
    if (bearerToken) headers.Authorization = `Bearer ${bearerToken()}`;
    const res = await exchange(conn, { method, path, headers, ...(body !== undefined ? { body } : {}) });
    return { status: res.status, text: res.body };
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
