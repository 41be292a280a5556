// What a node of a disconnected site does: containerd (Debian's), configured with the config.toml and
// hosts.toml nkd renders, pulls the mirror's pause image through its CRI from a plain-HTTP registry on
// 127.0.0.1 (crictl, as the kubelet and kubeadm do), and over TLS from one whose certificate a private CA
// signed, given as `ca`. The only edits: paths under a temporary directory
// instead of /etc and /var/lib, and the native snapshotter (no overlayfs inside a test container).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { planCluster } from '../../src/plan/plan.js';
import { renderCluster } from '../../src/render/node.js';
import { loadTemplates } from '../../src/render/templates.js';
import { validConfig } from '../helpers/configs.js';
import { FAKE_PKI } from '../helpers/fake-pki.js';
import { describeReal } from '../helpers/real.js';
import { startRegistry, type LoopbackRegistry } from '../helpers/registry.js';
import { allOf, toolEnv, toolRequirement } from '../helpers/tools.js';

const requirement = allOf(
  toolRequirement('NKD_REGISTRY_BIN'),
  toolRequirement('NKD_CRANE_BIN'),
  toolRequirement('NKD_KUBE_BIN', 'crictl'),
  {
    missing: () =>
      spawnSync('containerd', ['--version']).status !== 0
        ? 'containerd is not installed (apt-get install containerd)'
        : process.getuid?.() === 0
          ? undefined
          : 'needs root (containerd)',
  },
);

/** The node's files, rendered for a cluster whose mirror is `host`/k8s (plain HTTP unless told). */
function renderedFiles(
  host: string,
  access: Record<string, unknown> = { plainHTTP: true },
): Map<string, string> {
  const plan = planCluster(
    validConfig({
      controlPlane: { count: 1 },
      workers: { count: 0 },
      kubernetes: { imageRepository: `${host}/k8s` },
      registries: [{ host, ...access }],
    }),
  );
  const [node] = renderCluster({ plan, pki: FAKE_PKI, templates: loadTemplates() });
  return new Map(
    (node!.ignition.storage?.files ?? []).map((f) => [
      f.path,
      Buffer.from(f.contents.source.replace(/^data:;base64,/, ''), 'base64').toString('utf8'),
    ]),
  );
}

describeReal('containerd pulls from site registries with the rendered files', requirement, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nkd-ctr-'));
  const socket = join(dir, 'containerd.sock');
  let registry: LoopbackRegistry;
  let daemon: ChildProcess | undefined;
  let pauseImage: string;

  const crictl = (...args: string[]) =>
    spawnSync(join(toolEnv('NKD_KUBE_BIN')!, 'crictl'), ['--runtime-endpoint', `unix://${socket}`, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
    });

  /** Starts containerd with the rendered files, the hosts directory at `certsDir` (may be empty). */
  async function startContainerd(files: Map<string, string>, certsDir: string): Promise<void> {
    const config = files
      .get('/etc/containerd/config.toml')!
      .replace('config_path = "/etc/containerd/certs.d"', `config_path = ${JSON.stringify(certsDir)}`);
    expect(config).toContain(certsDir);
    const configPath = join(dir, 'config.toml');
    writeFileSync(
      configPath,
      `${config}\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  snapshotter = "native"\n`,
    );
    daemon = spawn(
      'containerd',
      [
        '--config',
        configPath,
        '--address',
        socket,
        '--root',
        join(dir, 'root'),
        '--state',
        join(dir, 'state'),
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100 && crictl('info').status !== 0; i++) await new Promise((r) => setTimeout(r, 200));
    expect(crictl('info').status).toBe(0);
  }

  async function stopContainerd(): Promise<void> {
    if (!daemon || daemon.exitCode !== null) return;
    const exited = new Promise((r) => daemon!.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
    rmSync(join(dir, 'root'), { recursive: true, force: true });
    rmSync(join(dir, 'state'), { recursive: true, force: true });
  }

  beforeAll(async () => {
    registry = await startRegistry(toolEnv('NKD_REGISTRY_BIN')!);
    pauseImage = renderedFiles(registry.host)
      .get('/etc/containerd/config.toml')!
      .match(/sandbox_image = "([^"]+)"/)![1]!;
    // A one-file image under the name the rendered sandbox_image gives.
    const layerDir = join(dir, 'layer');
    mkdirSync(layerDir);
    writeFileSync(join(layerDir, 'hello'), 'air gap\n');
    execFileSync('tar', ['-C', layerDir, '-cf', join(dir, 'layer.tar'), '.']);
    execFileSync(toolEnv('NKD_CRANE_BIN')!, [
      'append',
      '--insecure',
      '--platform',
      'linux/amd64',
      '-f',
      join(dir, 'layer.tar'),
      '-t',
      pauseImage,
    ]);
  }, 60_000);

  afterAll(async () => {
    await stopContainerd();
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes the rendered hosts.toml files into a fresh directory standing for /etc/containerd/certs.d. */
  function writeCertsDir(files: Map<string, string>, name: string, host = registry.host): string {
    const certsDir = join(dir, name);
    for (const [path, contents] of files) {
      if (!path.startsWith('/etc/containerd/certs.d/')) continue;
      const target = join(certsDir, path.slice('/etc/containerd/certs.d/'.length));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, contents);
    }
    expect(existsSync(join(certsDir, host, 'hosts.toml'))).toBe(true);
    return certsDir;
  }

  it('pulls over TLS from a registry whose certificate a private CA signed, given that CA as ca', async () => {
    // A CA and a server certificate for 127.0.0.1, and the same registry content served over TLS.
    const pki = join(dir, 'pki');
    mkdirSync(pki);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'ignore' });
    ssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=nkd test site CA',
    );
    ssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=127.0.0.1',
    );
    writeFileSync(join(pki, 'san.ext'), 'subjectAltName = IP:127.0.0.1\n');
    ssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '2',
      '-extfile',
      'san.ext',
    );
    const tlsRegistry = await startRegistry(toolEnv('NKD_REGISTRY_BIN')!, {
      tls: { certFile: join(pki, 'server.pem'), keyFile: join(pki, 'server.key') },
    });
    try {
      const image = pauseImage.replace(registry.host, tlsRegistry.host);
      // Filled through crane with the CA trusted for that one command (SSL_CERT_FILE).
      execFileSync(toolEnv('NKD_CRANE_BIN')!, ['copy', '--insecure', pauseImage, image], {
        env: { ...process.env, SSL_CERT_FILE: join(pki, 'ca.pem') },
      });
      const ca = readFileSync(join(pki, 'ca.pem'), 'utf8');
      const withCa = renderedFiles(tlsRegistry.host, { ca });
      expect(withCa.get(`/etc/containerd/certs.d/${tlsRegistry.host}/ca.crt`)).toBe(ca);
      // The hosts.toml names /etc/containerd/certs.d/<host>/ca.crt: point it at the test's copy.
      const certsDir = writeCertsDir(withCa, 'certs-ca.d', tlsRegistry.host);
      const hostsFile = join(certsDir, tlsRegistry.host, 'hosts.toml');
      writeFileSync(hostsFile, readFileSync(hostsFile, 'utf8').replace('/etc/containerd/certs.d', certsDir));
      await startContainerd(withCa, certsDir);
      try {
        const pull = crictl('pull', image);
        expect(pull.status, pull.stderr).toBe(0);
      } finally {
        await stopContainerd();
      }
      // Without the CA the same pull fails on the certificate.
      const without = renderedFiles(tlsRegistry.host, {});
      await startContainerd(without, writeCertsDir(without, 'certs-noca.d', tlsRegistry.host));
      try {
        const pull = crictl('pull', image);
        expect(pull.status).not.toBe(0);
        expect(pull.stderr).toMatch(/certificate signed by unknown authority/);
      } finally {
        await stopContainerd();
      }
    } finally {
      await tlsRegistry.stop();
    }
  }, 180_000);

  it('pulls the mirror pause image over plain HTTP through the hosts.toml nkd rendered', async () => {
    const files = renderedFiles(registry.host);
    await startContainerd(files, writeCertsDir(files, 'certs.d'));
    try {
      const pull = crictl('pull', pauseImage);
      expect(pull.status, pull.stderr).toBe(0);
      expect(crictl('images', '-q', pauseImage).stdout.trim()).toMatch(/^sha256:/);
    } finally {
      await stopContainerd();
    }
  }, 120_000);

  // containerd falls back to plain HTTP for loopback registries on its own, so a missing hosts.toml
  // would go unnoticed here; a rendered one that says HTTPS must make the same pull fail.
  it('obeys the rendered hosts.toml: the same registry declared TLS (insecureSkipVerify) fails the pull', async () => {
    const files = renderedFiles(registry.host, { insecureSkipVerify: true });
    await startContainerd(files, writeCertsDir(files, 'certs-tls.d'));
    try {
      const pull = crictl('pull', pauseImage);
      expect(pull.status).not.toBe(0);
      expect(pull.stderr).toMatch(/HTTP response to HTTPS client/);
    } finally {
      await stopContainerd();
    }
  }, 120_000);
});
