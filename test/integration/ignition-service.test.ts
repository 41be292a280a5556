/**
 * The deployer's Ignition service, end to end on loopback: plain HTTPS clients for the protocol, then the
 * real Ignition 2.14 binary fetching each node's config through its pointer config (bearer token, pinned
 * CA, sha512) and refusing a wrong token, a tampered body and an untrusted serving certificate.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { connect, createServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  generateServiceCa,
  IgnitionService,
  issueServingCert,
  loadOrCreateServiceCa,
  newNodeToken,
  type FetchRecord,
  type NodeConfig,
  type RunningService,
} from '../../src/ignition-service/index.js';
import type { CertAndKey } from '../../src/pki/types.js';
import { serializeIgnition } from '../../src/render/ignition.js';
import { pointerConfig, sha512Hex, type PointerOptions } from '../../src/render/pointer.js';
import { applyIgnition, ignitionAvailable, type AppliedRoot } from '../helpers/ignition.js';

const HOST = '127.0.0.1';
const NODES = ['demo-cp-1', 'demo-worker-1'] as const;

/** A small full config: writes a marker naming its node, so a test can tell whose config was applied. */
function fullConfig(node: string): string {
  const marker = Buffer.from(`config of ${node}\n`).toString('base64');
  return serializeIgnition({
    ignition: { version: '3.3.0' },
    storage: {
      files: [
        { path: `/etc/nkd/marker-${node}`, mode: 0o644, contents: { source: `data:;base64,${marker}` } },
      ],
    },
  });
}

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(
  url: string,
  opts: { ca?: string; token?: string; method?: string; agent?: Agent; servername?: string } = {},
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'User-Agent': 'nkd-test' };
    if (opts.token !== undefined) headers.Authorization = `Bearer ${opts.token}`;
    const req = request(
      url,
      { method: opts.method ?? 'GET', headers, ca: opts.ca, agent: opts.agent },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

let ca: CertAndKey;
let otherCa: CertAndKey;
const tokens = new Map<string, string>(NODES.map((node) => [node, newNodeToken()]));
const configs = (bodies?: Partial<Record<string, string>>): Map<string, NodeConfig> =>
  new Map(
    NODES.map((node) => [node, { body: bodies?.[node] ?? fullConfig(node), token: tokens.get(node)! }]),
  );

const running: RunningService[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((service) => service.stop()));
});

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([generateServiceCa(), generateServiceCa()]);
});

async function startService(
  opts: { bodies?: Partial<Record<string, string>>; port?: number; addresses?: string[] } = {},
): Promise<{ service: IgnitionService; run: RunningService; logs: string[]; fetched: FetchRecord[] }> {
  const logs: string[] = [];
  const fetched: FetchRecord[] = [];
  const service = new IgnitionService({
    ca,
    log: (line) => logs.push(line),
    onFetch: (r) => fetched.push(r),
  });
  const run = await service.start({
    host: HOST,
    port: opts.port ?? 0,
    configs: configs(opts.bodies),
    addresses: opts.addresses,
  });
  running.push(run);
  return { service, run, logs, fetched };
}

describe('ignition service over HTTPS', () => {
  it('serves a node its own config for its token, and records the fetch', async () => {
    const { service, run, fetched } = await startService();
    expect(run.url).toBe(`https://${HOST}:${run.port}`);
    expect(run.caCertPem).toBe(ca.certPem);
    const res = await get(run.nodeUrl('demo-cp-1'), { ca: run.caCertPem, token: tokens.get('demo-cp-1') });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/vnd.coreos.ignition+json');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toBe(fullConfig('demo-cp-1'));
    expect(sha512Hex(res.body)).toBe(sha512Hex(fullConfig('demo-cp-1')));
    expect(service.fetchedNodes()).toEqual([
      { node: 'demo-cp-1', at: expect.any(Date), remoteAddress: HOST, userAgent: 'nkd-test' },
    ]);
    expect(fetched.map((r) => r.node)).toEqual(['demo-cp-1']);
    expect(service.unfetchedNodes()).toEqual(['demo-worker-1']);
  });

  it('answers 401 alike for a missing token, a wrong token, another node’s token and an unknown node', async () => {
    const { service, run } = await startService();
    const url = run.nodeUrl('demo-cp-1');
    const missing = await get(url, { ca: run.caCertPem });
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="nkd-ignition"');

    const wrong = await get(url, { ca: run.caCertPem, token: newNodeToken() });
    const otherNodes = await get(url, { ca: run.caCertPem, token: tokens.get('demo-worker-1') });
    const unknown = await get(run.nodeUrl('no-such-node'), { ca: run.caCertPem, token: newNodeToken() });
    const unknownWithRealToken = await get(run.nodeUrl('no-such-node'), {
      ca: run.caCertPem,
      token: tokens.get('demo-cp-1'),
    });
    const shape = (r: Response) => ({
      status: r.status,
      body: r.body,
      auth: r.headers['www-authenticate'],
      type: r.headers['content-type'],
    });
    expect(shape(wrong).status).toBe(401);
    expect(shape(wrong).auth).toContain('invalid_token');
    for (const r of [otherNodes, unknown, unknownWithRealToken]) expect(shape(r)).toEqual(shape(wrong));
    expect(service.fetchedNodes()).toEqual([]);
  });

  it('answers 404 for any other path, 405 for other methods, and HEAD without a body or a fetch record', async () => {
    const { service, run } = await startService();
    const token = tokens.get('demo-cp-1');
    for (const path of [
      '/',
      '/ignition',
      '/ignition/',
      '/ignition/demo-cp-1/x',
      '/config/demo-cp-1',
      '/%zz',
    ]) {
      expect((await get(`${run.url}${path}`, { ca: run.caCertPem, token })).status, path).toBe(404);
    }
    const post = await get(run.nodeUrl('demo-cp-1'), { ca: run.caCertPem, token, method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');

    const head = await get(run.nodeUrl('demo-cp-1'), { ca: run.caCertPem, token, method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(fullConfig('demo-cp-1')));
    expect((await get(run.nodeUrl('demo-cp-1'), { ca: run.caCertPem, method: 'HEAD' })).status).toBe(401);
    expect(service.fetchedNodes()).toEqual([]);
  });

  it('is only trusted through its own CA, with the caller’s addresses as SANs', async () => {
    const { run } = await startService({ addresses: [HOST, 'localhost'] });
    await expect(get(run.nodeUrl('demo-cp-1'), { ca: otherCa.certPem })).rejects.toThrow(/certificate/i);
    await expect(get(run.nodeUrl('demo-cp-1'))).rejects.toThrow(/certificate/i);
    const viaName = await get(`https://localhost:${run.port}/`, { ca: run.caCertPem });
    expect(viaName.status).toBe(404);

    const serving = await issueServingCert(ca, ['10.0.0.5', 'deployer.example', '::1']);
    const cert = new X509Certificate(serving.certPem);
    expect(cert.subjectAltName).toBe('IP Address:10.0.0.5, DNS:deployer.example, IP Address:0:0:0:0:0:0:0:1');
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(new X509Certificate(ca.certPem).subject).toBe('CN=nkd ignition service CA');
  });

  it('stop() releases the port at once, even with keep-alive and half-open connections', async () => {
    const { run } = await startService();
    const agent = new Agent({ keepAlive: true, ca: run.caCertPem });
    expect((await get(run.nodeUrl('demo-cp-1'), { agent, token: tokens.get('demo-cp-1') })).status).toBe(200);
    const idle = connect(run.port, HOST); // a raw TCP connection that never starts TLS
    await new Promise((resolve) => idle.once('connect', resolve));

    const started = Date.now();
    await run.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    await run.stop(); // idempotent
    await expect(get(run.nodeUrl('demo-cp-1'), { ca: run.caCertPem })).rejects.toThrow(/ECONNREFUSED/);
    agent.destroy();
    idle.destroy();
  });

  it('never logs tokens or config bodies', async () => {
    const { run, logs } = await startService();
    await get(run.nodeUrl('demo-cp-1'), { ca: run.caCertPem, token: tokens.get('demo-cp-1') });
    await get(run.nodeUrl('demo-worker-1'), { ca: run.caCertPem, token: tokens.get('demo-cp-1') });
    await run.stop();
    const text = logs.join('\n');
    expect(text).toContain('node demo-cp-1 fetched its config');
    expect(text).toContain('401');
    for (const token of tokens.values()) expect(text).not.toContain(token);
    expect(text).not.toContain('config of');
    expect(text).not.toContain(Buffer.from('config of demo-cp-1\n').toString('base64'));
  });

  it('refuses a wildcard listen address without the addresses nodes use', async () => {
    const service = new IgnitionService({ ca });
    await expect(service.start({ host: '0.0.0.0', port: 0, configs: configs() })).rejects.toThrow(
      /addresses/,
    );
  });

  it('persists its CA 0600 and reuses it; refuses a half-present CA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nkd-ign-ca-'));
    try {
      const caDir = join(dir, 'ignition-service');
      const first = await loadOrCreateServiceCa(caDir);
      expect(first.created).toBe(true);
      expect(statSync(caDir).mode & 0o777).toBe(0o700);
      expect(statSync(join(caDir, 'ca.key')).mode & 0o777).toBe(0o600);
      expect(statSync(join(caDir, 'ca.crt')).mode & 0o777).toBe(0o600);
      const second = await loadOrCreateServiceCa(caDir);
      expect(second).toEqual({ ca: first.ca, created: false });
      rmSync(join(caDir, 'ca.crt'));
      await expect(loadOrCreateServiceCa(caDir)).rejects.toThrow(/incomplete/);
      writeFileSync(join(caDir, 'ca.crt'), otherCa.certPem);
      await expect(loadOrCreateServiceCa(caDir)).rejects.toThrow(/does not match/);
      expect(readFileSync(join(caDir, 'ca.key'), 'utf8')).toBe(first.ca.keyPem);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ignition service hardening', () => {
  async function hardened(opts: { handshakeTimeoutMs?: number; maxConnections?: number } = {}) {
    const service = new IgnitionService({ ca, ...opts });
    const run = await service.start({ host: HOST, port: 0, configs: configs() });
    running.push(run);
    return { service, run };
  }
  /** Resolves with how long the server took to close a raw TCP connection that never speaks. */
  const closedAfter = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const socket = connect(port, HOST);
      socket.on('error', reject);
      socket.on('close', () => resolve(Date.now() - started));
    });

  it("serves each node's config once: a second fetch with the same token is refused", async () => {
    const { service, run } = await hardened();
    const token = tokens.get('demo-cp-1');
    expect((await get(run.nodeUrl('demo-cp-1'), { ca: run.caCertPem, token })).status).toBe(200);
    const again = await get(run.nodeUrl('demo-cp-1'), { ca: run.caCertPem, token });
    expect(again.status).toBe(401);
    expect(again.body).not.toContain('config of');
    expect(service.fetchedNodes().map((r) => r.node)).toEqual(['demo-cp-1']);
    expect(
      (await get(run.nodeUrl('demo-worker-1'), { ca: run.caCertPem, token: tokens.get('demo-worker-1') }))
        .status,
    ).toBe(200);
  });

  it('speaks TLS 1.3 only: a TLS 1.2 client is refused', async () => {
    const { run } = await hardened();
    const outcome = await new Promise<string>((resolve) => {
      const socket = tlsConnect({
        host: HOST,
        port: run.port,
        ca: run.caCertPem,
        maxVersion: 'TLSv1.2',
        servername: HOST,
      });
      socket.once('secureConnect', () => {
        resolve(`connected with ${socket.getProtocol() ?? '?'}`);
        socket.destroy();
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(`refused: ${err.code ?? err.message}`));
    });
    expect(outcome).toMatch(/^refused/);
  });

  it('closes a connection that never starts TLS after the handshake timeout', async () => {
    const { run } = await hardened({ handshakeTimeoutMs: 300 });
    const ms = await closedAfter(run.port);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(3000);
  });

  it('refuses connections beyond its cap at once', async () => {
    const { run } = await hardened({ maxConnections: 2 });
    const held = [connect(run.port, HOST), connect(run.port, HOST)];
    await Promise.all(held.map((s) => new Promise((resolve) => s.once('connect', resolve))));
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the server account for both
    expect(await closedAfter(run.port)).toBeLessThan(1000);
    for (const s of held) s.destroy();
  });
});

describe.skipIf(!ignitionAvailable() || process.getuid?.() !== 0)(
  'real Ignition through a pointer config',
  () => {
    let dir: string;
    const applied: AppliedRoot[] = [];
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'nkd-ign-svc-'));
    });
    afterEach(() => {
      for (const a of applied.splice(0)) a.cleanup();
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    let counter = 0;
    /** Writes node's pointer config (by default exactly what deploy would build) and returns its path. */
    const writePointer = (run: RunningService, node: string, overrides: Partial<PointerOptions> = {}) => {
      const path = join(dir, `pointer-${++counter}.ign`);
      const options: PointerOptions = {
        url: run.nodeUrl(node),
        caCertPem: run.caCertPem,
        token: tokens.get(node)!,
        sha512Hex: sha512Hex(fullConfig(node)),
        hostname: node,
        ...overrides,
      };
      writeFileSync(path, serializeIgnition(pointerConfig(options)));
      return path;
    };
    const apply = async (path: string): Promise<AppliedRoot> => {
      // Safety net only: every negative case below ends on its own well before this.
      const a = await applyIgnition(path, { stageTimeoutMs: 30_000 });
      applied.push(a);
      return a;
    };

    it('each node fetches and applies its own config, and the service records it', async () => {
      const { service, run } = await startService();
      for (const node of NODES) {
        const other = NODES.find((n) => n !== node)!;
        const root = await apply(writePointer(run, node));
        expect(root.log).toContain('resource requires networking'); // fetch-offline handed over to fetch
        expect(root.log).toMatch(/GET result: OK/);
        expect(root.readFile(`/etc/nkd/marker-${node}`)).toBe(`config of ${node}\n`);
        expect(root.exists(`/etc/nkd/marker-${other}`)).toBe(false);
        expect(root.readFile('/etc/hostname')).toBe(`${node}\n`);
      }
      const records = service.fetchedNodes();
      expect(records.map((r) => r.node)).toEqual([...NODES]);
      for (const record of records) {
        expect(record.userAgent).toMatch(/^Ignition\//);
        expect(record.remoteAddress).toBe(HOST);
      }
      expect(service.unfetchedNodes()).toEqual([]);
    });

    it('fails at once on a wrong token, and the service records no fetch', async () => {
      const { service, run } = await startService();
      const started = Date.now();
      const err = await apply(writePointer(run, 'demo-cp-1', { token: newNodeToken() })).catch(
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/Ignition stage fetch failed/);
      expect((err as Error).message).toMatch(/GET result: Unauthorized/);
      expect((err as Error).message).toMatch(/attempt #1\b/);
      expect((err as Error).message).not.toMatch(/attempt #2\b/); // 4xx is final: Ignition does not retry it
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(service.fetchedNodes()).toEqual([]);
    });

    it('refuses a tampered body with a hash mismatch', async () => {
      const tampered = fullConfig('demo-cp-1').replace('marker-demo-cp-1', 'marker-evil');
      const { run } = await startService({ bodies: { 'demo-cp-1': tampered } });
      const err = await apply(writePointer(run, 'demo-cp-1')).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(
        /hash verification failed \(calculated [0-9a-f]{128} but expected/,
      );
      expect((err as Error).message).toContain(sha512Hex(fullConfig('demo-cp-1')));
    });

    it('refuses a serving certificate from a CA other than the pinned one', async () => {
      const { service, run, logs } = await startService();
      // TLS errors are retried like connection errors until httpTotal; keep it short here.
      const path = writePointer(run, 'demo-cp-1', { caCertPem: otherCa.certPem, timeouts: { httpTotal: 2 } });
      const err = await apply(path).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/x509: certificate signed by unknown authority/);
      expect((err as Error).message).toMatch(/unable to fetch resource in time/);
      expect(service.fetchedNodes()).toEqual([]);
      expect(logs.some((line) => /TLS handshake from 127\.0\.0\.1 failed/.test(line))).toBe(true);
    });

    it('a node that boots before the service listens gets its config once it starts', async () => {
      const port = await freePort();
      const url = `https://${HOST}:${port}/ignition/demo-cp-1`;
      const path = writePointer(
        { nodeUrl: () => url, caCertPem: ca.certPem } as unknown as RunningService,
        'demo-cp-1',
      );
      const node = apply(path);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // Ignition is retrying "connection refused"
      const { service } = await startService({ port });
      const root = await node;
      expect(root.log).toMatch(/connect: connection refused/);
      expect(root.readFile('/etc/nkd/marker-demo-cp-1')).toBe('config of demo-cp-1\n');
      expect(service.fetchedNodes().map((r) => r.node)).toEqual(['demo-cp-1']);
    });
  },
);

/** A loopback port nothing listens on right now (the service binds it a moment later). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
