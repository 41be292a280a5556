// One-line errors for everything that can go wrong talking to the API server: TLS trust, refused
// client certificates, connection failures, timeouts, HTTP statuses with the API's own message.
import { formatDuration, oneLine } from '../cluster/wait.js';

export type KubeApiErrorKind =
  /** The server's certificate did not verify against the cluster CA (or did not cover the host). */
  | 'certificate'
  /** The server refused nkd's client certificate. */
  | 'client-certificate'
  /** Another TLS failure (protocol, handshake). */
  | 'tls'
  /** No connection: refused, unreachable, name not resolved, reset. */
  | 'connection'
  | 'timeout'
  /** The server answered with an error status. */
  | 'http'
  /** The server answered something unusable (not JSON where JSON was expected, unknown kind). */
  | 'protocol';

/** A failed API call, as one line. */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly kind: KubeApiErrorKind,
    readonly statusCode?: number,
    /** The system or OpenSSL error code (ECONNREFUSED, SELF_SIGNED_CERT_IN_CHAIN, ...). */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

// OpenSSL verification results for the server's chain: the certificate is not from the cluster CA.
const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
]);
// TLS alerts a server sends when it refuses the client certificate.
const CLIENT_CERT_ALERTS =
  /^ERR_SSL_(TLSV13_ALERT_CERTIFICATE_REQUIRED|SSLV3_ALERT_BAD_CERTIFICATE|TLSV1_ALERT_UNKNOWN_CA|SSLV3_ALERT_CERTIFICATE_UNKNOWN|SSLV3_ALERT_CERTIFICATE_EXPIRED|TLSV1_ALERT_ACCESS_DENIED|SSLV3_ALERT_UNSUPPORTED_CERTIFICATE)$/;
/** Node's connection failure codes, in words (shared with the CLI's classifier of system errors). */
export const NETWORK_ERROR_TEXT: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (temporarily)',
};
// A write to a connection the server closed: only a client mid-request sees it.
const CONNECTION_CODES: Record<string, string> = { ...NETWORK_ERROR_TEXT, EPIPE: 'connection closed' };

function reasonOf(err: Error): string {
  return oneLine(err);
}

/** Turns a transport-level failure of node:https or node:tls into a one-line KubeApiError. */
export function transportError(err: unknown, server: string, timeoutMs: number): KubeApiError {
  if (err instanceof KubeApiError) return err;
  if (!(err instanceof Error)) return new KubeApiError(`${server}: ${String(err)}`, 'protocol');
  const code = (err as { code?: unknown }).code;
  const codeText = typeof code === 'string' ? code : undefined;
  const reason = reasonOf(err);
  if (err.name === 'AbortError' || codeText === 'ABORT_ERR') {
    return new KubeApiError(
      `${server}: no response within ${formatDuration(timeoutMs)}`,
      'timeout',
      undefined,
      codeText,
    );
  }
  if (codeText && UNTRUSTED_CODES.has(codeText)) {
    return new KubeApiError(
      `certificate verification failed: ${server} presented a certificate not issued by the cluster CA (${codeText}: ${reason})`,
      'certificate',
      undefined,
      codeText,
    );
  }
  if (codeText === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new KubeApiError(
      `certificate verification failed: the certificate of ${server} does not cover its host name (${reason})`,
      'certificate',
      undefined,
      codeText,
    );
  }
  if (codeText === 'CERT_HAS_EXPIRED' || codeText === 'CERT_NOT_YET_VALID') {
    const what = codeText === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not valid yet (check the clocks)';
    return new KubeApiError(
      `certificate verification failed: the certificate of ${server} ${what} (${codeText})`,
      'certificate',
      undefined,
      codeText,
    );
  }
  if (codeText && CLIENT_CERT_ALERTS.test(codeText)) {
    return new KubeApiError(
      `${server} rejected nkd's client certificate (${codeText}): is it issued by this cluster's CA?`,
      'client-certificate',
      undefined,
      codeText,
    );
  }
  if (codeText?.startsWith('ERR_SSL_') || codeText?.startsWith('ERR_TLS_')) {
    return new KubeApiError(
      `${server}: TLS handshake failed (${codeText}: ${reason})`,
      'tls',
      undefined,
      codeText,
    );
  }
  if (codeText && CONNECTION_CODES[codeText]) {
    return new KubeApiError(
      `${server}: ${CONNECTION_CODES[codeText]} (${codeText})`,
      'connection',
      undefined,
      codeText,
    );
  }
  if (reason === 'socket hang up') {
    return new KubeApiError(
      `${server}: connection closed before any response`,
      'connection',
      undefined,
      codeText,
    );
  }
  return new KubeApiError(
    `${server}: ${reason}${codeText ? ` (${codeText})` : ''}`,
    'connection',
    undefined,
    codeText,
  );
}

const MAX_MESSAGE_CHARS = 400;

/**
 * The API's own message from a Status body, with its `details.causes` (they carry what a bare message
 * lacks, e.g. which disruption budget blocks an eviction), else the body's first line; one line, capped.
 */
function statusMessage(body: string): string {
  let message = body;
  try {
    const parsed = JSON.parse(body) as { message?: unknown; details?: { causes?: { message?: unknown }[] } };
    if (parsed && typeof parsed === 'object' && typeof parsed.message === 'string') {
      const causes = (Array.isArray(parsed.details?.causes) ? parsed.details.causes : [])
        .map((c) => (typeof c?.message === 'string' ? c.message : ''))
        .filter((m) => m !== '' && m !== parsed.message);
      message = causes.length > 0 ? `${parsed.message} (${causes.join('; ')})` : parsed.message;
    }
  } catch {
    // not JSON: keep the text
  }
  const line = message.replace(/\s*\n\s*/g, ' ').trim();
  return line.length > MAX_MESSAGE_CHARS ? `${line.slice(0, MAX_MESSAGE_CHARS - 3)}...` : line;
}

/** The API answered with an HTTP error status: 404, 409 (conflict), 429 (eviction blocked), ... */
export class KubeStatusError extends KubeApiError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message, 'http', status);
    this.name = 'KubeStatusError';
  }
}

/**
 * `HTTP 429 from POST /api/v1/...: <Status.message> (<causes>)`, on one line. `clientCertificate`: the
 * request authenticated with one, so a 401 gets a hint about it.
 */
export function httpError(
  status: number,
  what: string,
  body: string,
  auth: { clientCertificate?: boolean } = {},
): KubeStatusError {
  const message = statusMessage(body);
  // kube-apiserver accepts any client certificate in the handshake and authenticates afterwards: one it
  // cannot verify makes the request anonymous, which /readyz allows and everything else answers 401.
  const hint =
    status === 401 && auth.clientCertificate
      ? " (the API server did not accept nkd's client certificate: is it issued by this cluster's CA?)"
      : '';
  return new KubeStatusError(status, `HTTP ${status} from ${what}${message ? `: ${message}` : ''}${hint}`);
}
