// A world for tests of nkd (the CLI) on the REAL Pulumi engine (the CLI `npm run tools` builds) and a real
// libvirtd in a network namespace of the test's own: a copy of the built nkd package (so a test can move
// the installation), a blank base image, and nkd runs inside the namespace, so its API waits only ever
// target guests there. Guests find no OS on a blank image: the API never answers.
import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';

type NkdProcess = ResultPromise<{ all: true; stdin: 'ignore'; reject: false }>;
import { REPO_ROOT, assertBuilt, tempDir } from './cli.js';
import { TEST_SSH_KEY } from './configs.js';
import {
  cleanupLibvirtObjects,
  freeTestCidr,
  libvirtRequirement,
  startLibvirtd,
  virshText,
  type LibvirtDaemon,
} from './libvirtd.js';
import { allOf, toolEnv, toolRequirement } from './tools.js';

export const realEngineRequirement = allOf(
  libvirtRequirement,
  toolRequirement('NKD_PULUMI_ROOT', 'bin/pulumi'),
);

/** A copy of the built nkd package (its node_modules linked), as an installation somewhere else. */
export function installCopy(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const entry of ['bin', 'dist', 'templates', 'package.json', 'oclif.manifest.json'])
    cpSync(join(REPO_ROOT, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

export interface Run {
  exitCode: number;
  out: string;
  ms: number;
}

export interface ClusterShape {
  workers: number;
  keys?: string[];
  /** The base image, default the world's blank 1 GiB image. */
  image?: string;
  /** spec.kubernetes.version, default v1.30.4. */
  kubernetesVersion?: string;
  /** More lines of `spec` (two-space indented), e.g. `  runtime: containerd`. */
  extraSpec?: string[];
}

export interface RealEngineWorld {
  daemon: LibvirtDaemon;
  work: string;
  /** The nkd installation in use; `moveInstall` replaces it. */
  install: string;
  state: string;
  timings: string[];
  configFile(cluster: string): string;
  writeConfig(cluster: string, shape: ClusterShape): Promise<string>;
  /**
   * Starts nkd inside the namespace; `run` awaits it. `ownGroup` starts it as a terminal would (a process
   * group of its own), so a test can send Ctrl-C's SIGINT to that whole group.
   */
  spawn(args: string[], env?: Record<string, string>, ownGroup?: boolean): NkdProcess;
  run(args: string[], label: string, env?: Record<string, string>): Promise<Run>;
  moveInstall(): void;
  /** Every libvirt object of the cluster, with the identity a re-creation would change. */
  objects(cluster: string): Promise<Record<string, string>>;
  virsh(...args: string[]): Promise<string>;
  close(clusters: string[]): Promise<void>;
}

export async function startRealEngineWorld(prefix: string): Promise<RealEngineWorld> {
  assertBuilt();
  const daemon = await startLibvirtd();
  const work = tempDir(`${prefix}-`);
  const cidrs = new Map<string, string>();
  await execa('qemu-img', ['create', '-f', 'qcow2', join(work, 'blank.qcow2'), '1G']);
  const virsh = (...args: string[]) => virshText(daemon.uri, args);
  const names = async (...args: string[]) =>
    (await virsh(...args))
      .split('\n')
      .map((n) => n.trim())
      .filter(Boolean);

  const world: RealEngineWorld = {
    daemon,
    work,
    install: installCopy(join(work, 'nkd-a')),
    state: join(work, 'state'),
    timings: [],
    configFile: (cluster) => join(work, `${cluster}.yaml`),
    async writeConfig(cluster, shape) {
      const cidr = cidrs.get(cluster) ?? (await freeTestCidr(daemon.uri));
      cidrs.set(cluster, cidr);
      const keys = shape.keys ?? [TEST_SSH_KEY];
      const yaml = [
        'apiVersion: nkd.nestos.io/v1alpha1',
        'kind: Cluster',
        `metadata: { name: ${cluster} }`,
        'spec:',
        `  kubernetes: { version: ${shape.kubernetesVersion ?? 'v1.37.2'} }`,
        '  controlPlane: { count: 1, cpus: 2, memoryMiB: 2048, diskGiB: 10 }',
        `  workers: { count: ${shape.workers}, cpus: 1, memoryMiB: 512, diskGiB: 10 }`,
        '  access:',
        '    sshAuthorizedKeys:',
        ...keys.map((k) => `      - ${k}`),
        '  platform:',
        '    libvirt:',
        `      image: ${shape.image ?? join(work, 'blank.qcow2')}`,
        '      domainType: qemu',
        `      poolPath: ${join(work, `pool-${cluster}`)}`,
        `      network: { cidr: ${cidr} }`,
        ...(shape.extraSpec ?? []),
      ].join('\n');
      writeFileSync(world.configFile(cluster), `${yaml}\n`);
      return world.configFile(cluster);
    },
    spawn(args, env = {}, ownGroup = false) {
      const { file, args: argv } = daemon.inNetns(process.execPath, [
        join(world.install, 'bin', 'run.js'),
        ...args,
      ]);
      return execa(file, argv, {
        reject: false,
        all: true,
        timeout: 10 * 60_000,
        stdin: 'ignore' as const,
        detached: ownGroup,
        env: {
          NKD_PULUMI_ROOT: toolEnv('NKD_PULUMI_ROOT')!,
          PULUMI_HOME: join(work, 'pulumi-home'),
          HOME: join(work, 'home'),
          NKD_STATE_DIR: world.state,
          NODE_ENV: 'production',
          ...env,
        },
      });
    },
    async run(args, label, env = {}) {
      const started = Date.now();
      const r = await world.spawn(args, env);
      const ms = Date.now() - started;
      world.timings.push(`${label}: ${(ms / 1000).toFixed(1)} s`);
      return { exitCode: r.exitCode ?? -1, out: String(r.all ?? ''), ms };
    },
    moveInstall() {
      const moved = installCopy(join(work, `nkd-${Date.now()}`));
      rmSync(world.install, { recursive: true, force: true });
      world.install = moved;
    },
    async objects(cluster) {
      const found: Record<string, string> = {};
      const mine = (n: string) => n.includes(cluster);
      for (const d of (await names('list', '--all', '--name')).filter(mine))
        found[`domain ${d}`] = `${(await virsh('domuuid', d)).trim()} id ${(await virsh('domid', d)).trim()}`;
      for (const n of (await names('net-list', '--all', '--name')).filter(mine))
        found[`network ${n}`] = (await virsh('net-uuid', n)).trim();
      for (const p of (await names('pool-list', '--all', '--name')).filter(mine)) {
        found[`pool ${p}`] = (await virsh('pool-uuid', p)).trim();
        for (const line of (await virsh('vol-list', '--pool', p)).split('\n')) {
          const [name, path] = line.trim().split(/\s+/);
          if (name) found[`volume ${name}`] = path ?? '';
        }
      }
      return found;
    },
    virsh,
    async close(clusters) {
      console.log(`real engine timings (${prefix}):\n  ${world.timings.join('\n  ')}`);
      for (const cluster of clusters) await cleanupLibvirtObjects(daemon.uri, cluster);
      await daemon.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
  return world;
}
