// Swift TempURLs, signed here: nodes fetch their Ignition config from a Swift object without
// credentials and without calling back to the deployer. Swift's tempurl middleware accepts a request
// whose `temp_url_sig` is the HMAC of "METHOD\nEXPIRES\nPATH" (PATH from /v1/ on) under a
// Temp-URL-Key set on the account or the container, until `temp_url_expires` (Unix seconds). HMAC-SHA256 (64 hex digits) is in Swift's
// default allowed digests; SHA-1 is deprecated there, so it is not used.
import { createHmac } from 'node:crypto';

export type TempUrlMethod = 'GET' | 'HEAD' | 'PUT' | 'DELETE';

export interface TempUrlRequest {
  method: TempUrlMethod;
  /** The account's storage URL, e.g. https://swift.example:8080/v1/AUTH_<project id>. */
  storageUrl: string;
  container: string;
  object: string;
  /** Unix time, seconds, after which Swift refuses the URL. */
  expires: number;
  /** The container's (or account's) Temp-URL-Key. */
  key: string;
}

/** Names nkd gives containers and objects: no character that a URL path would need to escape. */
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The exact text Swift signs: the method, the expiry and the object's URL path, one per line. */
export function tempUrlSignedText(method: TempUrlMethod, expires: number, path: string): string {
  return `${method}\n${expires}\n${path}`;
}

/** The object's URL path: the storage URL's path, the container, the object. */
export function objectPath(storageUrl: string, container: string, object: string): string {
  for (const name of [container, object]) {
    if (!PLAIN_NAME.test(name)) throw new Error(`swift: "${name}" is not a plain container or object name`);
  }
  const base = new URL(storageUrl).pathname.replace(/\/+$/, '');
  // Swift signs the decoded path; a storage URL with escapes would sign something else than it serves.
  if (base.includes('%')) throw new Error(`swift: the storage URL path ${base} holds escaped characters`);
  return `${base}/${container}/${object}`;
}

/**
 * The part of the object's path the signature covers: from `/v1/` on. An endpoint behind a path prefix
 * (e.g. https://cloud.example/swift/v1/AUTH_x) reaches Swift with the prefix stripped, so the prefix
 * is not signed.
 */
export function signedPath(path: string): string {
  const at = path.indexOf('/v1/');
  return at < 0 ? path : path.slice(at);
}

export function tempUrlSignature(key: string, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}

/** A complete TempURL for one request on one object. */
export function tempUrl(request: TempUrlRequest): string {
  if (!Number.isInteger(request.expires) || request.expires <= 0)
    throw new Error(`swift: expiry ${request.expires} is not a Unix time in seconds`);
  if (request.key === '') throw new Error('swift: the Temp-URL-Key is empty');
  const url = new URL(request.storageUrl);
  const path = objectPath(request.storageUrl, request.container, request.object);
  const sig = tempUrlSignature(
    request.key,
    tempUrlSignedText(request.method, request.expires, signedPath(path)),
  );
  return `${url.origin}${path}?temp_url_sig=${sig}&temp_url_expires=${request.expires}`;
}

/** One entry of Keystone's service catalog, as the auth scope reports it. */
export interface CatalogService {
  type: string;
  endpoints: { interface: string; region: string; url: string }[];
}

/**
 * The object store's public URL from the service catalog: in `region` when the cloud names several.
 * Returns a reason instead when there is none, or when it is not HTTPS (the config it serves holds the
 * cluster's CA keys).
 */
export function objectStoreUrl(
  catalog: readonly CatalogService[],
  region: string | undefined,
): { url: string } | { problem: string } {
  const endpoints = catalog
    .filter((s) => s.type === 'object-store')
    .flatMap((s) => s.endpoints)
    .filter((e) => e.interface === 'public');
  const inRegion =
    region === undefined || region === '' ? endpoints : endpoints.filter((e) => e.region === region);
  const regions = [...new Set(inRegion.map((e) => e.region))];
  if (inRegion.length === 0)
    return {
      problem: `the cloud's service catalog has no public object-store (Swift) endpoint${region ? ` in region ${region}` : ''}: ignitionDelivery: swift needs one`,
    };
  if (regions.length > 1)
    return {
      problem: `the object store has endpoints in regions ${regions.join(', ')}: set spec.platform.openstack.region`,
    };
  const url = inRegion[0]!.url;
  if (!url.startsWith('https://'))
    return {
      problem: `the object store's public endpoint ${url} is not HTTPS: the node configs hold the cluster's CA keys, so ignitionDelivery: swift refuses it`,
    };
  return { url };
}

/** The container of a cluster's node configs, and one node's object in it. */
export function ignitionContainerName(cluster: string): string {
  return `${cluster}-ignition`;
}
export function ignitionObjectName(node: string): string {
  return `${node}.ign`;
}

/**
 * A URL that deletes `node`'s stored config, signed with the container's key: nkd removes the config
 * as soon as the node has joined, without credentials of its own.
 */
export function configDeleteUrl(
  store: { storageUrl: string; container: string },
  node: string,
  key: string,
  expires: number,
): string {
  return tempUrl({
    method: 'DELETE',
    storageUrl: store.storageUrl,
    container: store.container,
    object: ignitionObjectName(node),
    expires,
    key,
  });
}
