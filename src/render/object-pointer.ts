// The pointer config of object-store delivery (OpenStack `ignitionDelivery: swift`): the node merges
// its full config from a Swift TempURL, so nothing calls back to the deployer's machine. The URL is the
// only credential, it expires, and the sha512 makes Ignition refuse any other body. No token header
// and no pinned CA: the object store's certificate must chain to a CA the node image trusts.
import { dataUrl, MODE_PUBLIC } from './ignition.js';
import { IGNITION_SPEC_VERSION, type IgnitionConfig } from './ignition-types.js';
import { POINTER_TIMEOUTS } from './pointer.js';

export interface ObjectPointerOptions {
  /** The object's signed GET URL (https). */
  url: string;
  /** Hex sha512 of the object's bytes. */
  sha512Hex: string;
  /** Written to /etc/hostname by the pointer itself (the merged config may override it). */
  hostname: string;
  /** Overrides for POINTER_TIMEOUTS. */
  timeouts?: { httpResponseHeaders?: number; httpTotal?: number };
}

export function objectPointerConfig(opts: ObjectPointerOptions): IgnitionConfig {
  if (!opts.url.startsWith('https://')) {
    // The merged config holds the cluster's CA keys: never over plain HTTP.
    throw new Error(`object pointer config: the config URL must be https://, got ${opts.url}`);
  }
  if (!/^[0-9a-f]{128}$/.test(opts.sha512Hex)) {
    throw new Error('object pointer config: sha512Hex must be 128 lowercase hex characters');
  }
  return {
    ignition: {
      version: IGNITION_SPEC_VERSION,
      config: { merge: [{ source: opts.url, verification: { hash: `sha512-${opts.sha512Hex}` } }] },
      timeouts: { ...POINTER_TIMEOUTS, ...opts.timeouts },
    },
    storage: {
      files: [
        {
          path: '/etc/hostname',
          mode: MODE_PUBLIC,
          overwrite: true,
          contents: { source: dataUrl(`${opts.hostname}\n`) },
        },
      ],
    },
  };
}
