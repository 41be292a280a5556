// Object-store delivery (OpenStack `ignitionDelivery: swift`): the provider's program stores each
// node's full config and signs the pointers' URLs with a key kept here (0600). Nothing listens on this
// machine. A node that has joined has fetched its config, so nkd deletes its object right away and
// stores none for it on later runs (Pulumi then removes what is left).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IgnitionObjects, ObjectStoreDelivery, ProvisionOutputs } from '../../providers/types.js';
import { ensurePrivateDir, writePrivateFile } from '../state/paths.js';

const KEY_FILE = 'temp-url-key';

/** The Temp-URL-Key of the cluster's config container: made once, kept in the state directory. */
export function loadOrCreateTempUrlKey(clusterDir: string): string {
  const dir = join(clusterDir, 'ignition-store');
  const file = join(dir, KEY_FILE);
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{64}$/.test(key)) return key;
    throw new Error(`${file} does not hold a Temp-URL-Key (64 hex digits); remove it to make a new one`);
  }
  ensurePrivateDir(dir);
  const key = randomBytes(32).toString('hex');
  writePrivateFile(file, `${key}\n`);
  return key;
}

/**
 * What the program needs this run: the key, the expiry of the URLs it signs (from now), and the nodes
 * whose configs it stores — every planned node not known to have fetched its config.
 */
export function planObjectDelivery(
  delivery: ObjectStoreDelivery,
  a: {
    clusterDir: string;
    nodes: readonly string[];
    fetched: Readonly<Record<string, string>>;
    nowMs: number;
  },
): IgnitionObjects {
  return {
    tempUrlKey: loadOrCreateTempUrlKey(a.clusterDir),
    expires: Math.floor(a.nowMs / 1000) + delivery.urlLifetimeMinutes * 60,
    store: a.nodes.filter((n) => a.fetched[n] === undefined),
  };
}

/** How long a delete URL is signed for: it is used at once. */
const DELETE_URL_SECONDS = 300;

/**
 * Deletes a joined node's stored config through a signed DELETE URL. Returns a warning instead of
 * failing: the next deploy removes the object through the provider anyway.
 */
export async function deleteStoredConfig(
  delivery: ObjectStoreDelivery,
  a: {
    outputs: Pick<ProvisionOutputs, 'ignitionStore'> | undefined;
    clusterDir: string;
    node: string;
    nowMs: number;
    fetch?: typeof fetch;
  },
): Promise<string | undefined> {
  const store = a.outputs?.ignitionStore;
  if (store === undefined) return `the config of ${a.node} stays in the object store until the next deploy`;
  const expires = Math.floor(a.nowMs / 1000) + DELETE_URL_SECONDS;
  try {
    const url = delivery.deleteUrl(store, a.node, loadOrCreateTempUrlKey(a.clusterDir), expires);
    const response = await (a.fetch ?? fetch)(url, { method: 'DELETE', signal: AbortSignal.timeout(30_000) });
    // 404: already gone (a second run, or the object store's expirer).
    if (response.ok || response.status === 404) return undefined;
    return `deleting the stored config of ${a.node} answered ${response.status}; the next deploy removes it`;
  } catch (err) {
    return `deleting the stored config of ${a.node} failed (${(err as Error).message}); the next deploy removes it`;
  }
}
