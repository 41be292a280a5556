// Authentication in the fake Kubernetes API, in kube-apiserver's order: a client certificate verified
// against the cluster CA, else a bearer token (like --token-auth-file: a known token is its identity,
// an unknown one fails the request with 401), else anonymous.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export interface ClientIdentity {
  cn: string | undefined;
  o: string | undefined;
}

/** How a request authenticated; 'rejected': it carried an unknown bearer token. */
export type AuthMethod = 'certificate' | 'token' | 'anonymous' | 'rejected';

export interface TokenIdentity {
  cn: string;
  o?: string;
}

export function authenticate(
  req: IncomingMessage,
  bearerTokens: Record<string, TokenIdentity>,
): { client: ClientIdentity; auth: AuthMethod } {
  const socket = req.socket as TLSSocket;
  if (socket.authorized) {
    const peer = socket.getPeerCertificate();
    return { client: { cn: peer?.subject?.CN, o: peer?.subject?.O }, auth: 'certificate' };
  }
  const header = String(req.headers.authorization ?? '');
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) {
    const identity = Object.hasOwn(bearerTokens, bearer[1]!) ? bearerTokens[bearer[1]!] : undefined;
    if (identity) return { client: { cn: identity.cn, o: identity.o }, auth: 'token' };
    return { client: { cn: undefined, o: undefined }, auth: 'rejected' };
  }
  return { client: { cn: undefined, o: undefined }, auth: 'anonymous' };
}
