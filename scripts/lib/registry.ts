// A real OCI registry (the distribution registry `npm run tools -- registry` builds) on 127.0.0.1, with
// its storage in a temporary directory: the mirror a disconnected site runs, for tests. The end-to-end
// harness starts it inside a network namespace instead, on every address there, where guests reach it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LoopbackRegistry {
  /** host:port, e.g. 127.0.0.1:41234 */
  host: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Inside a network namespace: does something listen on 127.0.0.1:port there? */
function acceptsIn(netnsPath: string, port: number): boolean {
  const probe = `exec 3<>/dev/tcp/127.0.0.1/${port}`;
  return (
    spawnSync('nsenter', [`--net=${netnsPath}`, '--', 'bash', '-c', probe], { stdio: 'ignore' }).status === 0
  );
}

export interface RegistryOptions {
  tls?: { certFile: string; keyFile: string };
  timeoutMs?: number;
  /**
   * Serve inside this network namespace (a path such as /run/netns/NAME), on every address there and
   * on `port`: a namespace of one's own has nothing else listening. `host` is then 127.0.0.1:port,
   * as seen from inside the namespace.
   */
  netns?: { path: string; port: number };
}

/** Starts `registry serve` on a free loopback port and resolves once it accepts connections. */
export async function startRegistry(
  registryBin: string,
  options: RegistryOptions = {},
): Promise<LoopbackRegistry> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const dir = mkdtempSync(join(tmpdir(), 'nkd-registry-'));
  const port = options.netns?.port ?? (await freePort());
  const addr = options.netns ? `0.0.0.0:${port}` : `127.0.0.1:${port}`;
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: warn }',
      `storage: { filesystem: { rootdirectory: ${JSON.stringify(join(dir, 'data'))} } }`,
      options.tls
        ? `http: { addr: "${addr}", tls: { certificate: ${JSON.stringify(options.tls.certFile)}, key: ${JSON.stringify(options.tls.keyFile)} } }`
        : `http: { addr: "${addr}" }`,
      '',
    ].join('\n'),
  );
  const [file, args] = options.netns
    ? ['nsenter', [`--net=${options.netns.path}`, '--', registryBin, 'serve', config]]
    : [registryBin, ['serve', config]];
  const child: ChildProcess = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  const up = async () => (options.netns ? acceptsIn(options.netns.path, port) : accepts(port));
  while (!(await up())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the registry did not start on ${addr}: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host: `127.0.0.1:${port}`, stop };
}
