// Request handling of the Ignition service: one route, `GET|HEAD /ignition/<node>`, answered only to the
// holder of that node's token. Every authentication failure gets the same answer whether or not the node
// exists, so the service cannot be used to enumerate the cluster's nodes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, newNodeToken, tokensEqual } from './tokens.js';

export const IGNITION_CONTENT_TYPE = 'application/vnd.coreos.ignition+json';
const ROUTE = /^\/ignition\/([^/?#]+)(?:\?.*)?$/;
const REALM = 'Bearer realm="nkd-ignition"';

/** A node's config as served: the exact bytes the pointer's sha512 was computed over. */
export interface ServedConfig {
  body: Buffer;
  token: string;
}

export interface Outcome {
  status: number;
  /** The node served (only on 200). */
  node?: string;
  /** Why the request was refused, for the deployer's log; never contains a token or a body. */
  reason?: string;
}

// Compared against when the node is unknown, so an unknown node costs the same work as a wrong token.
const DUMMY_TOKEN = newNodeToken();

function nodeFromPath(url: string | undefined): string | undefined {
  const match = ROUTE.exec(url ?? '');
  if (!match?.[1]) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined; // malformed %-escapes: no such route
  }
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

function sendConfig(res: ServerResponse, config: ServedConfig): void {
  res.writeHead(200, {
    'Content-Type': IGNITION_CONTENT_TYPE,
    'Content-Length': config.body.length,
    // The body holds the node's keys: no proxy or client may keep a copy.
    'Cache-Control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : config.body);
}

/** Answers one request from `configs` (node name → served config) and says what it did. */
export function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  configs: ReadonlyMap<string, ServedConfig>,
): Outcome {
  const node = nodeFromPath(req.url);
  if (node === undefined) {
    sendText(res, 404, 'not found\n');
    return { status: 404, reason: 'no such route' };
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendText(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    return { status: 405, reason: `method ${req.method ?? '?'}` };
  }
  const presented = bearerToken(req.headers.authorization);
  if (presented === undefined) {
    sendText(res, 401, 'unauthorized\n', { 'WWW-Authenticate': REALM });
    return { status: 401, reason: 'no bearer token' };
  }
  const config = configs.get(node);
  // Always run the comparison, then check existence: the answer and the work are the same either way.
  const tokenOk = tokensEqual(presented, config?.token ?? DUMMY_TOKEN);
  if (!tokenOk || config === undefined) {
    sendText(res, 401, 'unauthorized\n', { 'WWW-Authenticate': `${REALM}, error="invalid_token"` });
    return { status: 401, reason: 'invalid token or unknown node' };
  }
  sendConfig(res, config);
  return { status: 200, node };
}
