// Pointer configs: the small Ignition config that goes into an OpenStack instance's user data. It names
// the node and merges the node's full config from the deployer's Ignition service over HTTPS. The full
// config (with the cluster PKI) is too large for Nova's user-data limit, and anything in user data is
// readable by every process on the VM through the metadata service — so the pointer holds only a
// per-node bearer token, which stops being useful once the deployer's service stops.
import { createHash } from 'node:crypto';
import { dataUrl, MODE_PUBLIC } from './ignition.js';
import { IGNITION_SPEC_VERSION, type IgnitionConfig } from './ignition-types.js';

/** Nova rejects user data whose base64 encoding is longer than this many bytes. */
export const NOVA_USER_DATA_LIMIT = 65535;

/**
 * Ignition's HTTP timeouts, in seconds (spec 3.3.0 `ignition.timeouts`).
 *
 * - `httpResponseHeaders` bounds one attempt's wait for response headers (default 10 s). The service
 *   answers from memory, so this only matters when the deployer's machine is overloaded; 60 s is ample.
 * - `httpTotal` bounds one fetch *including all of Ignition's retries* (default 0 = forever). Ignition
 *   retries connection errors and 5xx answers with a backoff capped at 5 s, so a node booted before the
 *   deployer's service listens (or while a re-run restarts it) keeps trying for this long. One hour
 *   covers a slow `pulumi up` and an interrupted-then-resumed deploy; after that the node fails
 *   visibly (emergency shell) instead of hanging forever. 4xx answers (a wrong token) are not retried.
 */
export const POINTER_TIMEOUTS = { httpResponseHeaders: 60, httpTotal: 3600 } as const;

export interface PointerOptions {
  /** HTTPS URL of this node's full config on the deployer's Ignition service. */
  url: string;
  /** PEM of the CA that issued the service's serving certificate; pinned in the pointer. */
  caCertPem: string;
  /** The node's bearer token; the service serves the node's config only to its holder. */
  token: string;
  /** Hex sha512 of the exact bytes the service serves (see `sha512Hex`). */
  sha512Hex: string;
  /**
   * When set, the pointer itself writes /etc/hostname, so the name is part of the user data. Ignition
   * writes it in the files stage like any other file — after the fetch, not before it — and a merged
   * config that also writes /etc/hostname wins over it.
   */
  hostname?: string;
  /** Overrides for POINTER_TIMEOUTS (tests use short ones). */
  timeouts?: { httpResponseHeaders?: number; httpTotal?: number };
}

/** Hex sha512 of the UTF-8 bytes of `text`: what Ignition's `verification.hash` checks. */
export function sha512Hex(text: string): string {
  return createHash('sha512').update(text, 'utf8').digest('hex');
}

export function pointerConfig(opts: PointerOptions): IgnitionConfig {
  if (!opts.url.startsWith('https://')) {
    // A bearer token over plain HTTP would be readable by anything on the path.
    throw new Error(`pointer config: the config URL must be https://, got ${opts.url}`);
  }
  if (!/^[0-9a-f]{128}$/.test(opts.sha512Hex)) {
    throw new Error('pointer config: sha512Hex must be 128 lowercase hex characters');
  }
  const config: IgnitionConfig = {
    ignition: {
      version: IGNITION_SPEC_VERSION,
      config: {
        merge: [
          {
            source: opts.url,
            httpHeaders: [{ name: 'Authorization', value: `Bearer ${opts.token}` }],
            verification: { hash: `sha512-${opts.sha512Hex}` },
          },
        ],
      },
      security: { tls: { certificateAuthorities: [{ source: dataUrl(opts.caCertPem) }] } },
      timeouts: { ...POINTER_TIMEOUTS, ...opts.timeouts },
    },
  };
  if (opts.hostname !== undefined) {
    config.storage = {
      files: [
        {
          path: '/etc/hostname',
          mode: MODE_PUBLIC,
          overwrite: true,
          contents: { source: dataUrl(`${opts.hostname}\n`) },
        },
      ],
    };
  }
  return config;
}

/** Size Nova counts against NOVA_USER_DATA_LIMIT: the length of the base64 encoding of the user data. */
export function userDataSize(configText: string): number {
  return 4 * Math.ceil(Buffer.byteLength(configText, 'utf8') / 3);
}

/** Throws before anything is created when a node's user data would be refused by Nova. */
export function assertUserDataFits(configText: string, nodeName: string): void {
  const size = userDataSize(configText);
  if (size > NOVA_USER_DATA_LIMIT) {
    throw new Error(
      `user data for node ${nodeName} is too large for OpenStack: ${size} bytes base64-encoded ` +
        `(${Buffer.byteLength(configText, 'utf8')} bytes raw), Nova's limit is ${NOVA_USER_DATA_LIMIT} bytes`,
    );
  }
}
