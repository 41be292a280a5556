import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateServiceCa, newNodeToken } from '../../src/ignition-service/index.js';
import { serializeIgnition } from '../../src/render/ignition.js';
import {
  assertUserDataFits,
  NOVA_USER_DATA_LIMIT,
  POINTER_TIMEOUTS,
  pointerConfig,
  sha512Hex,
  userDataSize,
  type PointerOptions,
} from '../../src/render/pointer.js';
import { ignitionAvailable, validateIgnition } from '../helpers/ignition.js';

const decodeDataUrl = (url: string): string => {
  expect(url).toMatch(/^data:;base64,/);
  return Buffer.from(url.slice('data:;base64,'.length), 'base64').toString('utf8');
};

let caCertPem: string;
let options: PointerOptions;
let dir: string;

beforeAll(async () => {
  caCertPem = (await generateServiceCa()).certPem;
  options = {
    url: 'https://203.0.113.10:8443/ignition/demo-cp-1',
    caCertPem,
    token: newNodeToken(),
    sha512Hex: sha512Hex('{"ignition":{"version":"3.3.0"}}'),
    hostname: 'demo-cp-1',
  };
  dir = mkdtempSync(join(tmpdir(), 'nkd-pointer-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pointerConfig', () => {
  it('merges the node config over HTTPS with the bearer token, the sha512 and the pinned CA', () => {
    const config = pointerConfig(options);
    expect(config.ignition.version).toBe('3.3.0');
    expect(config.ignition.config?.merge).toEqual([
      {
        source: options.url,
        httpHeaders: [{ name: 'Authorization', value: `Bearer ${options.token}` }],
        verification: { hash: `sha512-${options.sha512Hex}` },
      },
    ]);
    expect(config.ignition.config?.replace).toBeUndefined();
    const cas = config.ignition.security?.tls?.certificateAuthorities ?? [];
    expect(cas).toHaveLength(1);
    expect(decodeDataUrl(cas[0]!.source)).toBe(caCertPem);
    expect(config.ignition.timeouts).toEqual(POINTER_TIMEOUTS);
    // Generous: a node may boot while the deployer's service is still starting (Ignition retries meanwhile).
    expect(POINTER_TIMEOUTS.httpTotal).toBeGreaterThanOrEqual(600);
    expect(POINTER_TIMEOUTS.httpResponseHeaders).toBeGreaterThanOrEqual(30);
  });

  it('names the node through /etc/hostname only when asked', () => {
    const files = pointerConfig(options).storage?.files ?? [];
    expect(files.map((f) => [f.path, f.mode, f.overwrite])).toEqual([['/etc/hostname', 0o644, true]]);
    expect(decodeDataUrl(files[0]!.contents.source)).toBe('demo-cp-1\n');
    expect(pointerConfig({ ...options, hostname: undefined }).storage).toBeUndefined();
  });

  it('lets callers shorten the timeouts', () => {
    const config = pointerConfig({ ...options, timeouts: { httpTotal: 2 } });
    expect(config.ignition.timeouts).toEqual({ httpResponseHeaders: 60, httpTotal: 2 });
  });

  it('refuses plain HTTP and malformed hashes', () => {
    expect(() => pointerConfig({ ...options, url: 'http://203.0.113.10/ignition/x' })).toThrow(/https/);
    expect(() => pointerConfig({ ...options, sha512Hex: 'abc' })).toThrow(/sha512Hex/);
  });

  it.skipIf(!ignitionAvailable())(
    'passes the real ignition-validate, with and without a hostname',
    async () => {
      for (const [name, config] of [
        ['with-hostname', pointerConfig(options)],
        ['without-hostname', pointerConfig({ ...options, hostname: undefined })],
      ] as const) {
        const path = join(dir, `${name}.ign`);
        writeFileSync(path, serializeIgnition(config));
        const result = await validateIgnition(path);
        expect(result.output).toBe('');
        expect(result.ok).toBe(true);
      }
    },
  );
});

describe('sha512Hex', () => {
  it('is the hex SHA-512 of the UTF-8 bytes', () => {
    expect(sha512Hex('abc')).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a' +
        '2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
    expect(sha512Hex('é')).not.toBe(sha512Hex('e'));
  });
});

describe('user data size', () => {
  it('counts the base64 length Nova checks', () => {
    for (const text of ['', 'a', 'ab', 'abc', 'abcd', 'é', '{"x":1}\n'.repeat(37)]) {
      expect(userDataSize(text)).toBe(Buffer.from(text, 'utf8').toString('base64').length);
    }
  });

  it('a realistic pointer config is far under the limit', () => {
    const text = serializeIgnition(
      pointerConfig({
        ...options,
        url: 'https://ignition.deployer.example.internal:8443/ignition/production-cluster-control-plane-1',
        hostname: 'production-cluster-control-plane-1',
      }),
    );
    expect(() => assertUserDataFits(text, 'production-cluster-control-plane-1')).not.toThrow();
    expect(userDataSize(text)).toBeLessThan(NOVA_USER_DATA_LIMIT / 10);
  });

  it('names the node and the sizes when a config does not fit', () => {
    const oversized = JSON.stringify({ ignition: { version: '3.3.0' }, padding: 'x'.repeat(50_000) });
    const base64 = userDataSize(oversized);
    expect(base64).toBeGreaterThan(NOVA_USER_DATA_LIMIT);
    expect(() => assertUserDataFits(oversized, 'demo-cp-2')).toThrow(
      new RegExp(`demo-cp-2.*${base64} bytes base64.*${Buffer.byteLength(oversized)} bytes raw.*65535`),
    );
  });

  it('draws the line where base64 crosses 65,535 bytes', () => {
    // 49,149 raw bytes encode to 65,532; one byte more starts a new 4-byte block: 65,536.
    expect(userDataSize('x'.repeat(49_149))).toBe(65_532);
    expect(() => assertUserDataFits('x'.repeat(49_149), 'n')).not.toThrow();
    expect(userDataSize('x'.repeat(49_150))).toBe(65_536);
    expect(() => assertUserDataFits('x'.repeat(49_150), 'n')).toThrow(/node n/);
  });
});
