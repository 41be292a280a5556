// `npm run images`: the images a cluster of the pinned Kubernetes version pulls, built here without the
// internet and pushed to a real registry on 127.0.0.1 under the names kubeadm and nkd use with
// `kubernetes.imageRepository: MIRROR`. Checked against kubeadm's own list and by running what they hold.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  defaultNetworkVersion,
  FLANNEL_CNI_PLUGIN_IMAGE,
  FLANNEL_IMAGE,
  flannelRelease,
} from '../../src/addons/network/versions.js';
import { imageResolver } from '../../src/config/images.js';
import { describeReal } from '../helpers/real.js';
import { startRegistry, type LoopbackRegistry } from '../helpers/registry.js';
import { allOf, toolEnv, toolRequirement } from '../helpers/tools.js';

const REPO = join(import.meta.dirname, '..', '..');
const KUBE_VERSION = /^KUBE_VERSION=(\S+)$/m.exec(
  readFileSync(join(REPO, 'scripts', 'tools', 'versions.env'), 'utf8'),
)![1]!;
const FLANNEL = flannelRelease(defaultNetworkVersion('flannel'))!;
const NKD_VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string })
  .version;

// What a container gets: nothing of this machine's environment (NODE_OPTIONS, extra CA files, ...).
const CLEAN_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

const requirement = allOf(
  toolRequirement('NKD_KUBE_BIN', 'kubeadm'),
  toolRequirement('NKD_KUBE_BIN', 'etcd'),
  toolRequirement('NKD_REGISTRY_BIN'),
  toolRequirement('NKD_CRANE_BIN'),
  {
    missing: () => (process.getuid?.() === 0 ? undefined : 'needs root (the images are run with chroot)'),
  },
);

describeReal('npm run images: the air-gap images in a loopback registry', requirement, () => {
  let registry: LoopbackRegistry;
  let mirror: string;
  let pushed: string[];
  const crane = (...args: string[]) =>
    execFileSync(toolEnv('NKD_CRANE_BIN')!, [...args, '--insecure'], { encoding: 'utf8' });
  const kubeadmList = () =>
    execFileSync(
      join(toolEnv('NKD_KUBE_BIN')!, 'kubeadm'),
      ['config', 'images', 'list', '--kubernetes-version', KUBE_VERSION, '--image-repository', mirror],
      { encoding: 'utf8' },
    )
      .split('\n')
      .filter(Boolean);
  // The network plugin's images as nkd's default flannel manifest names them under the mirror.
  const flannelRefs = () => {
    const image = imageResolver(mirror);
    return {
      daemon: image(`${FLANNEL_IMAGE}:${FLANNEL.version}`),
      plugin: image(`${FLANNEL_CNI_PLUGIN_IMAGE}:${FLANNEL.cniPluginTag}`),
    };
  };
  const scratch = mkdtempSync(join(tmpdir(), 'nkd-images-'));

  /** The image's filesystem, unpacked into a fresh directory. */
  const unpack = (ref: string): string => {
    const root = mkdtempSync(join(scratch, 'root-'));
    execFileSync('bash', [
      '-c',
      `"$0" export --insecure "$1" - | tar -x -C "$2"`,
      toolEnv('NKD_CRANE_BIN')!,
      ref,
      root,
    ]);
    return root;
  };

  beforeAll(async () => {
    registry = await startRegistry(toolEnv('NKD_REGISTRY_BIN')!);
    mirror = `${registry.host}/k8s`;
    const out = execFileSync('bash', [join(REPO, 'scripts', 'images', 'build.sh'), mirror], {
      encoding: 'utf8',
      env: { ...process.env, NKD_KUBE_BIN: toolEnv('NKD_KUBE_BIN'), NKD_CRANE_BIN: toolEnv('NKD_CRANE_BIN') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    pushed = out.split('\n').filter(Boolean);
  }, 1_800_000);

  afterAll(async () => {
    await registry?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("holds exactly kubeadm's images of the pinned version, Housekeeper's and flannel's, under the mirror", () => {
    const { daemon, plugin } = flannelRefs();
    const expected = [...kubeadmList(), `${mirror}/nestos/nkd-housekeeper:v${NKD_VERSION}`, daemon, plugin];
    expect(pushed.sort()).toEqual([...expected].sort());
    const catalog = crane('catalog', registry.host).split('\n').filter(Boolean).sort();
    const repositories = expected.map((ref) => ref.slice(registry.host.length + 1).replace(/:[^:/]+$/, ''));
    expect(catalog).toEqual([...new Set(repositories)].sort());
    for (const ref of expected) expect(crane('digest', ref).trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('builds linux/amd64 images whose entrypoint is the component of the same name', () => {
    for (const ref of kubeadmList()) {
      const config = JSON.parse(crane('config', ref)) as {
        os: string;
        architecture: string;
        config: { Entrypoint: string[] };
      };
      expect(config.os).toBe('linux');
      expect(config.architecture).toBe('amd64');
      const name = ref.slice(mirror.length + 1).replace(/:.*$/, '');
      expect(config.config.Entrypoint[0]!.endsWith(`/${name}`)).toBe(true);
    }
  });

  it('runs the control-plane binaries at the pinned version', () => {
    const apiserver = kubeadmList().find((ref) => ref.includes('/kube-apiserver:'))!;
    const root = unpack(apiserver);
    const version = execFileSync('chroot', [root, '/usr/local/bin/kube-apiserver', '--version'], {
      encoding: 'utf8',
    });
    expect(version.trim()).toBe(`Kubernetes ${KUBE_VERSION}`);
  });

  it('gives kube-proxy an iptables that loads the extensions its rules use', () => {
    const root = unpack(kubeadmList().find((ref) => ref.includes('/kube-proxy:'))!);
    const help = spawnSync(
      'chroot',
      // statistic: a Service with several endpoints (it once lacked libm, and iptables-restore failed).
      [root, '/usr/sbin/iptables', '-m', 'comment', '-m', 'statistic', '-j', 'MASQUERADE', '--help'],
      {
        encoding: 'utf8',
        env: CLEAN_ENV,
      },
    );
    expect(help.stderr).toBe('');
    expect(help.stdout).toMatch(/comment match options/);
    expect(help.stdout).toMatch(/MASQUERADE target options/);
    expect(help.stdout).toMatch(/statistic match options/);
  });

  it('gives kube-proxy every library of every iptables extension, so none fails to load', () => {
    const root = unpack(kubeadmList().find((ref) => ref.includes('/kube-proxy:'))!);
    const xtables = execFileSync('find', [root, '-type', 'd', '-name', 'xtables'], { encoding: 'utf8' })
      .trim()
      .split('\n')[0]!;
    const missing: string[] = [];
    for (const so of readdirSync(xtables).filter((f) => f.endsWith('.so'))) {
      const needed =
        execFileSync('ldd', [join(xtables, so)], { encoding: 'utf8' }).match(/\/\S+\.so\S*/g) ?? [];
      for (const lib of needed) if (!existsSync(join(root, lib))) missing.push(`${so}: ${lib}`);
    }
    expect(missing).toEqual([]);
  });

  it('gives a pause process that holds until SIGTERM and then exits 0', async () => {
    const root = unpack(kubeadmList().find((ref) => ref.includes('/pause:'))!);
    const child = spawn(join(root, 'pause'), { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    expect(child.exitCode).toBeNull();
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // kubeadm upgrade's CreateJob check runs the pause image with -v and waits for it to complete.
    expect(spawnSync(join(root, 'pause'), ['-v'], { timeout: 10_000 }).status).toBe(0);
  });

  it('gives a Housekeeper image whose entrypoint starts and loads its dependencies', () => {
    const root = unpack(`${mirror}/nestos/nkd-housekeeper:v${NKD_VERSION}`);
    const usage = spawnSync(
      'chroot',
      [root, '/usr/bin/env', 'PATH=/usr/local/bin:/usr/bin', 'nkd-housekeeper'],
      { encoding: 'utf8', env: CLEAN_ENV },
    );
    expect(usage.stderr).toContain('usage: nkd-housekeeper operator|agent');
    expect(usage.status).toBe(2);
    const executor = spawnSync(
      'chroot',
      [
        root,
        '/usr/bin/node',
        '--input-type=module',
        '-e',
        "await import('/app/dist/src/housekeeper/agent/executor.js')",
      ],
      { encoding: 'utf8', env: CLEAN_ENV },
    );
    expect(executor.stderr).toBe('');
    expect(executor.status).toBe(0);
  });

  it('gives a flannel image whose flanneld is the manifest’s release, with iptables and cp', () => {
    const { daemon } = flannelRefs();
    const config = JSON.parse(crane('config', daemon)) as { config: { Entrypoint: string[] } };
    expect(config.config.Entrypoint).toEqual(['/opt/bin/flanneld']);
    const root = unpack(daemon);
    const version = spawnSync('chroot', [root, '/opt/bin/flanneld', '--version'], {
      encoding: 'utf8',
      env: CLEAN_ENV,
    });
    expect(`${version.stdout}${version.stderr}`.trim()).toBe(FLANNEL.version);
    const masq = spawnSync('chroot', [root, '/usr/sbin/iptables', '-j', 'MASQUERADE', '--help'], {
      encoding: 'utf8',
      env: CLEAN_ENV,
    });
    expect(masq.stdout).toMatch(/MASQUERADE target options/);
    // The install-cni init container copies the conflist with the image's own cp.
    expect(spawnSync('chroot', [root, 'cp', '--version'], { env: CLEAN_ENV }).status).toBe(0);
  });

  it('gives a CNI plugin image whose /flannel is nkd’s plugin and answers VERSION', () => {
    const root = unpack(flannelRefs().plugin);
    const version = spawnSync('chroot', [root, '/flannel'], {
      encoding: 'utf8',
      env: { ...CLEAN_ENV, CNI_COMMAND: 'VERSION' },
    });
    expect(version.status).toBe(0);
    expect((JSON.parse(version.stdout) as { supportedVersions: string[] }).supportedVersions).toContain(
      '0.3.1',
    );
    expect(spawnSync('chroot', [root, 'cp', '--version'], { env: CLEAN_ENV }).status).toBe(0);
  });
});
