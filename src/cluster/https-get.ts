// Plain HTTPS GETs (what the waits poll) and merge patches against the API server, over the shared
// connection (connection.ts). Plus a bare TLS handshake that reports the serving certificate, verified
// the same way.
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { exchange, type ApiConnection, type RawResponse } from './connection.js';
import { httpError, KubeApiError, transportError } from './errors.js';
import type { ServerCertificate } from './types.js';
import { formatDuration } from './wait.js';

export type { RawResponse };

export interface Getter {
  get(path: string, accept: string): Promise<RawResponse>;
  getJson(path: string, what: string): Promise<unknown>;
  /** Like getJson, but undefined when the server answers 404. */
  getJsonOrMissing(path: string, what: string): Promise<unknown>;
  mergePatch(path: string, patch: unknown, what: string): Promise<unknown>;
}

export function createGetter(conn: ApiConnection): Getter {
  const { server } = conn;
  function get(
    path: string,
    accept: string,
    send?: { method: string; contentType: string; body: string },
  ): Promise<RawResponse> {
    return exchange(conn, {
      method: send?.method ?? 'GET',
      path,
      headers: {
        Accept: accept,
        'User-Agent': 'nkd',
        ...(send ? { 'Content-Type': send.contentType } : {}),
      },
      ...(send ? { body: send.body } : {}),
    });
  }

  async function getJson(path: string, what: string): Promise<unknown> {
    return parseJson(await get(path, 'application/json'), what);
  }

  async function getJsonOrMissing(path: string, what: string): Promise<unknown> {
    const res = await get(path, 'application/json');
    return res.status === 404 ? undefined : parseJson(res, what);
  }

  function parseJson(res: RawResponse, what: string): unknown {
    if (res.status < 200 || res.status > 299) throw httpError(res.status, what, res.body);
    try {
      return JSON.parse(res.body) as unknown;
    } catch {
      throw new KubeApiError(
        `${server}: ${what} answered with something other than JSON`,
        'protocol',
        res.status,
      );
    }
  }

  /** JSON merge patch (RFC 7386); resolves with the patched object. */
  async function mergePatch(path: string, patch: unknown, what: string): Promise<unknown> {
    const body = JSON.stringify(patch);
    return parseJson(
      await get(path, 'application/json', {
        method: 'PATCH',
        contentType: 'application/merge-patch+json',
        body,
      }),
      what,
    );
  }

  return { get, getJson, getJsonOrMissing, mergePatch };
}

/**
 * Connects, completes a TLS handshake verified with `tls` (CA, server name, rejectUnauthorized: true)
 * and reports the certificate the server presented. Sends no request.
 */
export function probeServerCertificate(target: {
  server: string;
  hostname: string;
  port: number;
  tls: ConnectionOptions;
  timeoutMs: number;
}): Promise<ServerCertificate> {
  const { server, hostname, port, timeoutMs } = target;
  return new Promise<ServerCertificate>((resolve, reject) => {
    let settled = false;
    const finish = (err: unknown, cert?: ServerCertificate): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (cert) resolve(cert);
      else reject(transportError(err, server, timeoutMs));
    };
    const socket = tlsConnect({ ...target.tls, host: hostname, port, rejectUnauthorized: true }, () => {
      const peer = socket.getPeerX509Certificate();
      if (!peer) {
        finish(new KubeApiError(`${server}: presented no certificate`, 'certificate'));
        return;
      }
      finish(undefined, {
        subject: peer.subject.split('\n').join(', '),
        issuer: peer.issuer.split('\n').join(', '),
        notBefore: new Date(peer.validFrom).toISOString(),
        notAfter: new Date(peer.validTo).toISOString(),
        subjectAltNames: (peer.subjectAltName ?? '').split(', ').filter((name) => name !== ''),
      });
    });
    // After the handshake, a server refusing the client certificate may still reset: already settled.
    socket.on('error', (err) => finish(err));
    const timer = setTimeout(
      () =>
        finish(
          new KubeApiError(`${server}: no TLS handshake within ${formatDuration(timeoutMs)}`, 'timeout'),
        ),
      timeoutMs,
    );
  });
}
