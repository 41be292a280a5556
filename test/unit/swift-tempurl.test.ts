// ignitionDelivery swift, its pure parts and the workflow's: Swift TempURL signatures (checked against
// openssl, not against nkd's own HMAC call), the object store's endpoint from Keystone's catalog, the
// pointer config (checked by the real ignition-validate), the kept Temp-URL-Key and what each run stores.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openstackProvider } from '../../providers/openstack/descriptor.js';
import {
  configDeleteUrl,
  objectStoreUrl,
  tempUrl,
  tempUrlSignedText,
} from '../../providers/openstack/tempurl.js';
import { serializeIgnition } from '../../src/render/ignition.js';
import { objectPointerConfig } from '../../src/render/object-pointer.js';
import { sha512Hex, userDataSize } from '../../src/render/pointer.js';
import {
  deleteStoredConfig,
  loadOrCreateTempUrlKey,
  planObjectDelivery,
} from '../../src/workflows/ignition-objects.js';
import { ignitionAvailable, validateIgnition } from '../helpers/ignition.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'nkd-swift-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** HMAC-SHA256 by openssl: an implementation independent of nkd's. */
function opensslHmac(key: string, text: string): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', key], { input: text }).toString();
  return out.trim().split(' ').at(-1)!;
}

const REQUEST = {
  method: 'GET' as const,
  storageUrl: 'https://swift.example:8080/v1/AUTH_demo',
  container: 'demo-ignition',
  object: 'demo-cp-1.ign',
  expires: 1_700_000_000,
  key: 'secret-key',
};

describe('Swift TempURL', () => {
  it('signs METHOD\\nEXPIRES\\nPATH with HMAC-SHA256 under the key, as openssl computes it', () => {
    const text = tempUrlSignedText('GET', 1_700_000_000, '/v1/AUTH_demo/demo-ignition/demo-cp-1.ign');
    expect(text).toBe('GET\n1700000000\n/v1/AUTH_demo/demo-ignition/demo-cp-1.ign');
    // Fixed vector: printf 'GET\n1700000000\n/v1/AUTH_demo/demo-ignition/demo-cp-1.ign' | openssl dgst -sha256 -hmac secret-key
    const fixed = 'd1ceb0a6ad5363b0ba081cafa217b7b596fb5b7d75852a8e318dc3cb6696e091';
    expect(opensslHmac('secret-key', text)).toBe(fixed);
    expect(tempUrl(REQUEST)).toBe(
      `https://swift.example:8080/v1/AUTH_demo/demo-ignition/demo-cp-1.ign?temp_url_sig=${fixed}&temp_url_expires=1700000000`,
    );
  });

  it('signs the method: a DELETE URL differs from the GET URL and matches openssl', () => {
    const url = configDeleteUrl(REQUEST, 'demo-cp-1', 'secret-key', 1_700_000_300);
    const sig = opensslHmac('secret-key', 'DELETE\n1700000300\n/v1/AUTH_demo/demo-ignition/demo-cp-1.ign');
    expect(url).toBe(
      `https://swift.example:8080/v1/AUTH_demo/demo-ignition/demo-cp-1.ign?temp_url_sig=${sig}&temp_url_expires=1700000300`,
    );
  });

  it('signs the path from /v1/ on when the endpoint sits behind a path prefix', () => {
    const url = tempUrl({ ...REQUEST, storageUrl: 'https://cloud.example/swift/v1/AUTH_demo' });
    const sig = opensslHmac('secret-key', 'GET\n1700000000\n/v1/AUTH_demo/demo-ignition/demo-cp-1.ign');
    expect(url).toBe(
      `https://cloud.example/swift/v1/AUTH_demo/demo-ignition/demo-cp-1.ign?temp_url_sig=${sig}&temp_url_expires=1700000000`,
    );
  });

  it('keeps a storage URL path with a trailing slash and refuses names it would have to escape', () => {
    expect(tempUrl({ ...REQUEST, storageUrl: 'https://swift.example/v1/AUTH_demo/' })).toContain(
      'https://swift.example/v1/AUTH_demo/demo-ignition/demo-cp-1.ign?',
    );
    expect(() => tempUrl({ ...REQUEST, object: 'a b.ign' })).toThrow(/not a plain container or object name/);
    expect(() => tempUrl({ ...REQUEST, storageUrl: 'https://s.example/v1/AUTH_%41' })).toThrow(/escaped/);
    expect(() => tempUrl({ ...REQUEST, expires: 1.5 })).toThrow(/Unix time/);
  });
});

describe("the object store's endpoint from the catalog", () => {
  const swift = (endpoints: { interface: string; region: string; url: string }[]) => [
    { type: 'identity', endpoints: [{ interface: 'public', region: 'R1', url: 'https://keystone.example' }] },
    { type: 'object-store', endpoints },
  ];
  it('takes the public endpoint of the region', () => {
    const catalog = swift([
      { interface: 'internal', region: 'R1', url: 'http://10.0.0.5:8080/v1/AUTH_p' },
      { interface: 'public', region: 'R1', url: 'https://swift.example/v1/AUTH_p' },
      { interface: 'public', region: 'R2', url: 'https://swift2.example/v1/AUTH_p' },
    ]);
    expect(objectStoreUrl(catalog, 'R2')).toEqual({ url: 'https://swift2.example/v1/AUTH_p' });
    expect(objectStoreUrl(catalog, undefined)).toEqual({
      problem: 'the object store has endpoints in regions R1, R2: set spec.platform.openstack.region',
    });
  });
  it('refuses a cloud without Swift, and a plain-HTTP endpoint', () => {
    expect(objectStoreUrl(swift([]), 'R1')).toMatchObject({
      problem: expect.stringMatching(/no public object-store/),
    });
    expect(
      objectStoreUrl(swift([{ interface: 'public', region: 'R1', url: 'http://s.example/v1/AUTH_p' }]), 'R1'),
    ).toMatchObject({ problem: expect.stringMatching(/not HTTPS/) });
  });
});

describe('the object pointer config', () => {
  const body = serializeIgnition({ ignition: { version: '3.3.0' } });
  const pointer = objectPointerConfig({
    url: tempUrl(REQUEST),
    sha512Hex: sha512Hex(body),
    hostname: 'demo-cp-1',
  });

  it('merges the TempURL with the hash, no token and no pinned CA, and names the node', () => {
    expect(pointer.ignition.config).toEqual({
      merge: [{ source: tempUrl(REQUEST), verification: { hash: `sha512-${sha512Hex(body)}` } }],
    });
    expect(pointer.ignition.security).toBeUndefined();
    expect(pointer.storage?.files?.[0]?.path).toBe('/etc/hostname');
    expect(userDataSize(serializeIgnition(pointer))).toBeLessThan(2048);
  });

  it('refuses plain HTTP and a malformed hash', () => {
    expect(() =>
      objectPointerConfig({ url: 'http://s.example/x', sha512Hex: sha512Hex(body), hostname: 'n' }),
    ).toThrow(/https/);
    expect(() => objectPointerConfig({ url: tempUrl(REQUEST), sha512Hex: 'abc', hostname: 'n' })).toThrow(
      /sha512Hex/,
    );
  });

  it.skipIf(!ignitionAvailable())('passes the real ignition-validate', async () => {
    const file = join(tempDir(), 'pointer.ign');
    writeFileSync(file, serializeIgnition(pointer));
    const result = await validateIgnition(file);
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  });
});

describe('what each deploy stores, and the kept key', () => {
  const delivery = openstackProvider.objectStoreDelivery!({
    ignitionDelivery: 'swift',
    swiftTempURLMinutes: 45,
  } as never)!;

  it('keeps one Temp-URL-Key per cluster, 0600, and stores only nodes not known to have fetched', () => {
    const dir = tempDir();
    const a = planObjectDelivery(delivery, {
      clusterDir: dir,
      nodes: ['demo-cp-1', 'demo-worker-1'],
      fetched: { 'demo-cp-1': '2026-12-07T10:00:00Z' },
      nowMs: 1_700_000_000_000,
    });
    expect(a).toEqual({
      tempUrlKey: expect.stringMatching(/^[0-9a-f]{64}$/),
      expires: 1_700_000_000 + 45 * 60,
      store: ['demo-worker-1'],
    });
    const file = join(dir, 'ignition-store', 'temp-url-key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateTempUrlKey(dir)).toBe(a.tempUrlKey);
    writeFileSync(file, 'junk\n');
    expect(() => loadOrCreateTempUrlKey(dir)).toThrow(/does not hold a Temp-URL-Key/);
    expect(readFileSync(file, 'utf8')).toBe('junk\n');
  });

  it('is not offered with ignitionDelivery callback', () => {
    expect(openstackProvider.objectStoreDelivery!({ ignitionDelivery: 'callback' } as never)).toBeUndefined();
  });

  it("deletes a joined node's object with a signed DELETE, and tolerates one already gone", async () => {
    const dir = tempDir();
    const key = loadOrCreateTempUrlKey(dir);
    const seen: { method: string; url: string }[] = [];
    // Loopback HTTP stands in for Swift's proxy here (no Swift can run); the signature is checked with openssl.
    const server = createServer((req, res) => {
      seen.push({ method: req.method!, url: req.url! });
      res.statusCode = seen.length === 1 ? 204 : 404;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const store = { storageUrl: `https://swift.example/v1/AUTH_p`, container: 'demo-ignition' };
    // The URL is signed for Swift's https endpoint; the request itself goes to the loopback stand-in.
    const toLoopback: typeof fetch = (url, init) =>
      fetch(String(url).replace('https://swift.example', `http://127.0.0.1:${port}`), init);
    const args = {
      outputs: { ignitionStore: store },
      clusterDir: dir,
      node: 'demo-worker-1',
      nowMs: 1_700_000_000_000,
      fetch: toLoopback,
    };
    expect(await deleteStoredConfig(delivery, args)).toBeUndefined();
    expect(await deleteStoredConfig(delivery, args)).toBeUndefined();
    server.close();
    const path = '/v1/AUTH_p/demo-ignition/demo-worker-1.ign';
    const sig = opensslHmac(key, `DELETE\n1700000300\n${path}`);
    expect(seen).toEqual([
      { method: 'DELETE', url: `${path}?temp_url_sig=${sig}&temp_url_expires=1700000300` },
      { method: 'DELETE', url: `${path}?temp_url_sig=${sig}&temp_url_expires=1700000300` },
    ]);
    expect(await deleteStoredConfig(delivery, { ...args, outputs: undefined })).toMatch(
      /until the next deploy/,
    );
    const refused = await deleteStoredConfig(delivery, {
      ...args,
      fetch: async () => new Response(null, { status: 401 }),
    });
    expect(refused).toMatch(/answered 401; the next deploy removes it/);
  });
});
