/**
 * The deployer's Ignition service for OpenStack: an HTTPS server that serves each node its own full
 * Ignition config, only to the holder of that node's token and only while a deploy runs.
 *
 * Nodes reach it through their pointer config (src/render/pointer.ts), which pins the service CA and
 * carries the token and the sha512 of the body. The service records which nodes fetched, so a deploy
 * can say which nodes never got their config (usually: they cannot reach the deployer).
 * Logging goes to the caller's log function and never includes a token or a config body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import type { CertAndKey } from '../pki/types.js';
import { handleRequest, type Outcome, type ServedConfig } from './handler.js';
import { issueServingCert } from './tls.js';
import { isWellFormedToken } from './tokens.js';

/** What the caller hands over per node: the exact text to serve and the node's token. */
export interface NodeConfig {
  body: string;
  token: string;
}

export interface FetchRecord {
  node: string;
  at: Date;
  remoteAddress: string;
  userAgent: string;
}

export interface IgnitionServiceOptions {
  /** The service CA (loadOrCreateServiceCa); the serving certificate is issued from it at start. */
  ca: CertAndKey;
  /** Receives one line per event; never given secrets. DebugLog.debug fits. */
  log?: (message: string) => void;
  /** Called after a node's config has been sent in full, for progress output. */
  onFetch?: (record: FetchRecord) => void;
  now?: () => Date;
  /** A connection that has not finished its TLS handshake by then is closed (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Open connections at most; more are refused at once (default 64). */
  maxConnections?: number;
}

export const HANDSHAKE_TIMEOUT_MS = 10_000;
export const MAX_CONNECTIONS = 64;

export interface StartOptions {
  /** Address to listen on, e.g. '127.0.0.1', '0.0.0.0', '::'. */
  host: string;
  /** 0 picks an ephemeral port; real deploys want a fixed one, since the URL is part of user data. */
  port: number;
  configs: ReadonlyMap<string, NodeConfig>;
  /**
   * Addresses (IPs or DNS names) nodes use to reach the service: all become SANs of the serving
   * certificate and the first one is used in `url`. Defaults to `host`, which must then be specific.
   */
  addresses?: readonly string[];
}

export interface RunningService {
  /** Base URL, e.g. https://127.0.0.1:8443 */
  url: string;
  port: number;
  /** The CA to pin in pointer configs. */
  caCertPem: string;
  /** URL of one node's config. */
  nodeUrl(node: string): string;
  /** Closes the listener and every open connection; resolves once the port is released. */
  stop(): Promise<void>;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

function urlHost(address: string): string {
  return isIP(address) === 6 ? `[${address}]` : address;
}

/** Printable, bounded text from a client-controlled value, safe to put in a log line. */
function printable(value: string | undefined, max = 120): string {
  const clean = (value ?? '').replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

export class IgnitionService {
  private readonly fetches: FetchRecord[] = [];
  private readonly nodes: string[] = [];
  private readonly log: (message: string) => void;
  private readonly now: () => Date;
  private started = false;

  constructor(private readonly opts: IgnitionServiceOptions) {
    this.log = opts.log ?? (() => undefined);
    this.now = opts.now ?? (() => new Date());
  }

  /** Every completed fetch, in order (each node at most once: a second fetch is refused). */
  fetchedNodes(): FetchRecord[] {
    return this.fetches.map((record) => ({ ...record }));
  }

  /** Nodes served by this service that have not fetched their config (yet). */
  unfetchedNodes(): string[] {
    const fetched = new Set(this.fetches.map((record) => record.node));
    return this.nodes.filter((node) => !fetched.has(node));
  }

  async start(opts: StartOptions): Promise<RunningService> {
    if (this.started) throw new Error('ignition service: already started (one start per instance)');
    this.started = true;
    const addresses = opts.addresses ?? [opts.host];
    if (addresses.length === 0 || addresses.some((a) => WILDCARD_HOSTS.has(a))) {
      throw new Error(
        `ignition service: listening on "${opts.host}" needs the addresses nodes reach it by ` +
          '(for the serving certificate and the URL)',
      );
    }
    const served = new Map<string, ServedConfig>();
    for (const [node, config] of opts.configs) {
      // A short or empty token would be guessable; deploy must use newNodeToken().
      if (!isWellFormedToken(config.token))
        throw new Error(`ignition service: node ${node} has a malformed token`);
      served.set(node, { body: Buffer.from(config.body, 'utf8'), token: config.token });
    }
    this.nodes.push(...served.keys());

    const serving = await issueServingCert(this.opts.ca, addresses);
    const server = createServer({
      cert: serving.certPem,
      key: serving.keyPem,
      // Both ends are nkd's (Ignition >= 2.x speaks TLS 1.3): no TLS 1.2 and its CBC/SHA-1 suites.
      minVersion: 'TLSv1.3',
      // A raw TCP connection that never starts TLS would otherwise be held for 120 s.
      handshakeTimeout: this.opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
      // Bounded waits so an idle or slow client cannot hold a connection open for the whole deploy.
      headersTimeout: 20_000,
      requestTimeout: 60_000,
      keepAliveTimeout: 5_000,
    });
    server.maxConnections = this.opts.maxConnections ?? MAX_CONNECTIONS;
    const sockets = this.trackSockets(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res, served));

    const port = await listen(server, opts.port, opts.host);
    const url = `https://${urlHost(addresses[0]!)}:${port}`;
    this.log(`ignition service: listening on ${urlHost(opts.host)}:${port}, serving ${served.size} node(s)`);

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= this.close(server, sockets, served);
      return stopping;
    };
    return {
      url,
      port,
      caCertPem: this.opts.ca.certPem,
      nodeUrl: (node) => `${url}/ignition/${encodeURIComponent(node)}`,
      stop,
    };
  }

  /** Tracks raw TCP sockets, including ones still in the TLS handshake, so stop() can end them all. */
  private trackSockets(server: Server): Set<Socket> {
    const sockets = new Set<Socket>();
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket) => {
      // Typically a node that does not trust this CA (a stale pointer) or a port scanner.
      this.log(
        `ignition service: TLS handshake from ${socket.remoteAddress ?? '?'} failed: ${err.code ?? err.message}`,
      );
    });
    return sockets;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse, served: Map<string, ServedConfig>) {
    const remoteAddress = req.socket.remoteAddress ?? '?';
    const userAgent = req.headers['user-agent'] ?? '';
    let outcome: Outcome;
    try {
      outcome = handleRequest(req, res, served);
    } catch (err) {
      this.log(`ignition service: internal error: ${(err as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
      return;
    }
    if (outcome.status !== 200 || outcome.node === undefined) {
      const path = printable(req.url?.split('?')[0]);
      this.log(
        `ignition service: ${outcome.status} for ${req.method ?? '?'} ${path} from ${remoteAddress}: ${outcome.reason ?? ''}`,
      );
      return;
    }
    if (req.method !== 'GET') return; // HEAD checks availability; it delivers nothing
    const node = outcome.node;
    // Recorded once the body has been handed to the kernel in full, not when the request arrived.
    res.once('finish', () => {
      const record: FetchRecord = {
        node,
        at: this.now(),
        remoteAddress,
        userAgent: printable(userAgent, 200),
      };
      this.fetches.push(record);
      // One fetch per node: the token stays readable from the metadata service for the VM's life, and
      // a control plane's config holds the cluster CA keys. A later request gets the unknown-node answer.
      served.delete(node);
      this.log(
        `ignition service: node ${node} fetched its config from ${remoteAddress} (${record.userAgent})`,
      );
      this.opts.onFetch?.({ ...record });
    });
  }

  private async close(
    server: Server,
    sockets: Set<Socket>,
    served: Map<string, ServedConfig>,
  ): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // server.close() alone waits for keep-alive connections to end; a deploy must not wait on nodes.
    for (const socket of sockets) socket.destroy();
    served.clear(); // the bodies hold node keys: keep them in memory no longer than needed
    await closed;
    this.log('ignition service: stopped');
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
