// `nkd deploy` and `nkd destroy` through the REAL Pulumi engine (the CLI `npm run tools` builds) on a
// real libvirtd, in a network namespace of the test's own. The base image is blank, so the guests find
// no OS and the API server never answers: every deploy provisions, then ends with exit 7 after a short
// --api-timeout. nkd itself runs inside the namespace, so its API wait only ever targets guests there.
// The nkd package is run from a copy that the test moves, as an installation that moved would be.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO_ROOT, assertBuilt, tempDir } from '../helpers/cli.js';
import { TEST_SSH_KEY } from '../helpers/configs.js';
import {
  cleanupLibvirtObjects,
  freeTestCidr,
  libvirtRequirement,
  startLibvirtd,
  virshText,
  type LibvirtDaemon,
} from '../helpers/libvirtd.js';
import { describeReal } from '../helpers/real.js';
import { allOf, toolEnv, toolRequirement } from '../helpers/tools.js';

const RUN_ID = randomBytes(3).toString('hex');
const CLUSTER = `nkdre-${RUN_ID}`;
const requirement = allOf(libvirtRequirement, toolRequirement('NKD_PULUMI_ROOT', 'bin/pulumi'));

/** A copy of the built nkd package (its node_modules linked), as an installation somewhere else. */
function installCopy(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const entry of ['bin', 'dist', 'templates', 'package.json', 'oclif.manifest.json'])
    cpSync(join(REPO_ROOT, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

interface Run {
  exitCode: number;
  out: string;
  ms: number;
}

describeReal('deploy and destroy through the real Pulumi engine on libvirt', requirement, () => {
  let daemon: LibvirtDaemon;
  let work = '';
  let install = '';
  let config = '';
  let state = '';
  let cidr = '';
  const timings: string[] = [];
  const virsh = (...args: string[]) => virshText(daemon.uri, args);

  function writeConfig(workers: number, keys: string[] = [TEST_SSH_KEY]): void {
    const yaml = [
      'apiVersion: nkd.nestos.io/v1alpha1',
      'kind: Cluster',
      `metadata: { name: ${CLUSTER} }`,
      'spec:',
      '  kubernetes: { version: v1.30.4 }',
      '  controlPlane: { count: 1, cpus: 2, memoryMiB: 1700, diskGiB: 10 }',
      `  workers: { count: ${workers}, cpus: 1, memoryMiB: 512, diskGiB: 10 }`,
      '  access:',
      '    sshAuthorizedKeys:',
      ...keys.map((k) => `      - ${k}`),
      '  platform:',
      '    libvirt:',
      `      image: ${join(work, 'blank.qcow2')}`,
      '      domainType: qemu',
      `      poolPath: ${join(work, 'pool')}`,
      `      network: { cidr: ${cidr} }`,
    ].join('\n');
    writeFileSync(config, `${yaml}\n`);
  }

  async function nkd(args: string[], env: Record<string, string> = {}, label = args[0]!): Promise<Run> {
    const started = Date.now();
    const { file, args: argv } = daemon.inNetns(process.execPath, [join(install, 'bin', 'run.js'), ...args]);
    const r = await execa(file, argv, {
      reject: false,
      all: true,
      timeout: 8 * 60_000,
      stdin: 'ignore',
      env: {
        NKD_PULUMI_ROOT: toolEnv('NKD_PULUMI_ROOT')!,
        PULUMI_HOME: join(work, 'pulumi-home'),
        HOME: join(work, 'home'),
        NKD_STATE_DIR: state,
        NODE_ENV: 'production',
        ...env,
      },
    });
    const ms = Date.now() - started;
    timings.push(`${label}: ${(ms / 1000).toFixed(1)} s`);
    return { exitCode: r.exitCode ?? -1, out: String(r.all ?? ''), ms };
  }

  /** Every libvirt object of the cluster, with the identity a re-creation would change. */
  async function objects(): Promise<Record<string, string>> {
    const found: Record<string, string> = {};
    const names = async (...args: string[]) =>
      (await virsh(...args))
        .split('\n')
        .map((n) => n.trim())
        .filter((n) => n.includes(CLUSTER));
    for (const d of await names('list', '--all', '--name'))
      found[`domain ${d}`] = `${(await virsh('domuuid', d)).trim()} id ${(await virsh('domid', d)).trim()}`;
    for (const n of await names('net-list', '--all', '--name'))
      found[`network ${n}`] = (await virsh('net-uuid', n)).trim();
    for (const p of await names('pool-list', '--all', '--name')) {
      found[`pool ${p}`] = (await virsh('pool-uuid', p)).trim();
      for (const line of (await virsh('vol-list', '--pool', p)).split('\n')) {
        const [name, path] = line.trim().split(/\s+/);
        if (name) found[`volume ${name}`] = path ?? '';
      }
    }
    return found;
  }

  beforeAll(async () => {
    assertBuilt();
    daemon = await startLibvirtd();
    work = tempDir(`nkd-real-engine-${RUN_ID}-`);
    install = installCopy(join(work, 'nkd-a'));
    config = join(work, 'cluster.yaml');
    state = join(work, 'state');
    cidr = await freeTestCidr(daemon.uri);
    await execa('qemu-img', ['create', '-f', 'qcow2', join(work, 'blank.qcow2'), '1G']);
    writeConfig(1);
  }, 120_000);

  afterAll(async () => {
    console.log(`real engine timings (${CLUSTER}):\n  ${timings.join('\n  ')}`);
    if (daemon) {
      await cleanupLibvirtObjects(daemon.uri, CLUSTER);
      await daemon.stop();
    }
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  let first: Record<string, string> = {};

  it('provisions pool, volumes, network and running domains, then times out waiting for the API (exit 7)', async () => {
    const r = await nkd(['deploy', '-f', config, '--yes', '--api-timeout', '15s'], {}, 'first deploy (1+1)');
    expect(r.exitCode, r.out).toBe(7);
    expect(r.out).toMatch(/timed out after 15s waiting for the API server/);
    first = await objects();
    const keys = Object.keys(first);
    expect(keys.filter((k) => !k.startsWith('volume base-image-')).sort()).toEqual(
      [
        `domain ${CLUSTER}-cp-1`,
        `domain ${CLUSTER}-worker-1`,
        `network nkd-${CLUSTER}`,
        `pool nkd-${CLUSTER}`,
        `volume ${CLUSTER}-cp-1.ign`,
        `volume ${CLUSTER}-cp-1.qcow2`,
        `volume ${CLUSTER}-worker-1.ign`,
        `volume ${CLUSTER}-worker-1.qcow2`,
      ].sort(),
    );
    // One base image volume, named after the image's content.
    expect(keys.filter((k) => /^volume base-image-[0-9a-f]{12}$/.test(k))).toHaveLength(1);
    for (const d of ['cp-1', 'worker-1'])
      expect((await virsh('domstate', `${CLUSTER}-${d}`)).trim()).toBe('running');
  }, 600_000);

  it('re-run with nothing changed: the engine finds nothing to change and every object stays as it was', async () => {
    const r = await nkd(['deploy', '-f', config, '--yes', '--api-timeout', '5s'], {}, 'unchanged re-run');
    expect(r.exitCode, r.out).toBe(7);
    expect(r.out).toMatch(/provision: done earlier .*verified/);
    expect(r.out).not.toMatch(/^\S+\s+(create|update|replace|delete) /m);
    expect(await objects()).toEqual(first);
  }, 600_000);

  it('a new SSH key changes the control plane’s Ignition: rewritten in place, no machine replaced or restarted', async () => {
    writeConfig(1, [
      TEST_SSH_KEY,
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFnKu1NcmdsGR8QHf0D0rPnHTjd2Y8cqwPkbAL5jmRkm second@nkd',
    ]);
    const before = readFileSync(join(work, 'pool', `${CLUSTER}-cp-1.ign`), 'utf8');
    const r = await nkd(['deploy', '-f', config, '--yes', '--api-timeout', '5s'], {}, 'Ignition change');
    expect(r.exitCode, r.out).toBe(7);
    expect(r.out).toMatch(new RegExp(`update \\S+IgnitionVolume ${CLUSTER}-cp-1\\.ign`));
    expect(r.out).not.toMatch(/(replace|create|delete) \S+Domain/);
    expect(readFileSync(join(work, 'pool', `${CLUSTER}-cp-1.ign`), 'utf8')).not.toBe(before);
    expect(await objects()).toEqual(first);
  }, 600_000);

  it('adding a worker creates exactly its objects; removing it deletes only those', async () => {
    writeConfig(2);
    const grow = await nkd(['deploy', '-f', config, '--yes', '--api-timeout', '5s'], {}, 'add a worker');
    expect(grow.exitCode, grow.out).toBe(7);
    const grown = await objects();
    const added = Object.keys(grown).filter((k) => !(k in first));
    expect(added.sort()).toEqual(
      [
        `domain ${CLUSTER}-worker-2`,
        `volume ${CLUSTER}-worker-2.ign`,
        `volume ${CLUSTER}-worker-2.qcow2`,
      ].sort(),
    );
    for (const [key, identity] of Object.entries(first)) expect(grown[key]).toBe(identity);

    writeConfig(1);
    const shrink = await nkd(['deploy', '-f', config, '--yes', '--api-timeout', '5s'], {}, 'remove a worker');
    expect(shrink.exitCode, shrink.out).toBe(7);
    expect(shrink.out).toMatch(/never answered: no node ever joined, nothing to drain/);
    expect(await objects()).toEqual(first);
  }, 900_000);

  it('PULUMI_BACKEND_URL pointing elsewhere does not split the cluster’s state', async () => {
    const elsewhere = join(work, 'other-backend');
    mkdirSync(elsewhere);
    const r = await nkd(
      ['deploy', '-f', config, '--yes', '--api-timeout', '5s'],
      { PULUMI_BACKEND_URL: `file://${elsewhere}` },
      'with PULUMI_BACKEND_URL set',
    );
    expect(r.exitCode, r.out).toBe(7);
    expect(r.out).toMatch(/provision: done earlier .*verified/);
    expect(await execa('find', [elsewhere, '-type', 'f']).then((f) => f.stdout)).toBe('');
    expect(await objects()).toEqual(first);
  }, 600_000);

  it('destroy works from the state alone after the nkd installation moved, and leaves nothing', async () => {
    const moved = installCopy(join(work, 'nkd-b'));
    rmSync(install, { recursive: true, force: true });
    install = moved;
    const r = await nkd(['destroy', CLUSTER, '--yes'], {}, 'destroy (moved install)');
    expect(r.exitCode, r.out).toBe(0);
    expect(await objects()).toEqual({});
  }, 600_000);
});
