// A bare TLS handshake that reports the API server's serving certificate (for `nkd status`), verified
// like every request: the cluster CA, the server name, rejectUnauthorized: true. Sends no request.
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { formatDuration } from '../cluster/wait.js';
import { KubeApiError, transportError } from './errors.js';
import type { ServerCertificate } from './types.js';

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
