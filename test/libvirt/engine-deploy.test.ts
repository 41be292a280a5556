// `nkd deploy` and `nkd destroy` through the REAL Pulumi engine on a real libvirtd (helpers/real-engine.ts).
// The base image is blank, so the API server never answers: every deploy provisions, then ends with
// exit 7 after a short --api-timeout.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TEST_SSH_KEY } from '../helpers/configs.js';
import { describeReal } from '../helpers/real.js';
import {
  realEngineRequirement,
  startRealEngineWorld,
  type RealEngineWorld,
} from '../helpers/libvirt-world.js';

const CLUSTER = `nkdre-${randomBytes(3).toString('hex')}`;
const SECOND_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFnKu1NcmdsGR8QHf0D0rPnHTjd2Y8cqwPkbAL5jmRkm second@nkd';

describeReal('deploy and destroy through the real Pulumi engine on libvirt', realEngineRequirement, () => {
  let w: RealEngineWorld;
  let first: Record<string, string> = {};
  const deploy = async (label: string, timeout = '5s', env: Record<string, string> = {}) =>
    w.run(['deploy', '-f', w.configFile(CLUSTER), '--yes', '--api-timeout', timeout], label, env);

  beforeAll(async () => {
    w = await startRealEngineWorld(`nkd-real-engine-${CLUSTER}`);
    await w.writeConfig(CLUSTER, { workers: 1 });
  }, 120_000);

  afterAll(async () => w && (await w.close([CLUSTER])), 120_000);

  it('provisions pool, volumes, network and running domains, then times out waiting for the API (exit 7)', async () => {
    const r = await deploy('first deploy (1+1)', '15s');
    expect(r.exitCode, r.out).toBe(7);
    expect(r.out).toMatch(/timed out after 15s waiting for the API server/);
    first = await w.objects(CLUSTER);
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
      expect((await w.virsh('domstate', `${CLUSTER}-${d}`)).trim()).toBe('running');
  }, 600_000);

  it('re-run with nothing changed: the engine finds nothing to change and every object stays as it was', async () => {
    const r = await deploy('unchanged re-run');
    expect(r.exitCode, r.out).toBe(7);
    expect(r.out).toMatch(/provision: done earlier .*verified/);
    expect(r.out).not.toMatch(/^\S+\s+(create|update|replace|delete) /m);
    expect(await w.objects(CLUSTER)).toEqual(first);
  }, 600_000);

  it('a new SSH key changes the control plane’s Ignition: rewritten in place, no machine replaced or restarted', async () => {
    await w.writeConfig(CLUSTER, { workers: 1, keys: [TEST_SSH_KEY, SECOND_KEY] });
    const ign = join(w.work, `pool-${CLUSTER}`, `${CLUSTER}-cp-1.ign`);
    const before = readFileSync(ign, 'utf8');
    const r = await deploy('Ignition change');
    expect(r.exitCode, r.out).toBe(7);
    expect(r.out).toMatch(new RegExp(`update \\S+IgnitionVolume ${CLUSTER}-cp-1\\.ign`));
    expect(r.out).not.toMatch(/(replace|create|delete) \S+Domain/);
    expect(readFileSync(ign, 'utf8')).not.toBe(before);
    expect(readFileSync(ign, 'utf8')).toContain('second@nkd');
    expect(await w.objects(CLUSTER)).toEqual(first);
  }, 600_000);

  it('adding a worker creates exactly its objects; removing it deletes only those', async () => {
    await w.writeConfig(CLUSTER, { workers: 2, keys: [TEST_SSH_KEY, SECOND_KEY] });
    const grow = await deploy('add a worker');
    expect(grow.exitCode, grow.out).toBe(7);
    const grown = await w.objects(CLUSTER);
    const added = Object.keys(grown).filter((k) => !(k in first));
    expect(added.sort()).toEqual(
      [
        `domain ${CLUSTER}-worker-2`,
        `volume ${CLUSTER}-worker-2.ign`,
        `volume ${CLUSTER}-worker-2.qcow2`,
      ].sort(),
    );
    for (const [key, identity] of Object.entries(first)) expect(grown[key]).toBe(identity);

    await w.writeConfig(CLUSTER, { workers: 1, keys: [TEST_SSH_KEY, SECOND_KEY] });
    const shrink = await deploy('remove a worker');
    expect(shrink.exitCode, shrink.out).toBe(7);
    expect(shrink.out).toMatch(/never answered: no node ever joined, nothing to drain/);
    expect(await w.objects(CLUSTER)).toEqual(first);
  }, 900_000);

  it('PULUMI_BACKEND_URL pointing elsewhere does not split the cluster’s state', async () => {
    const elsewhere = join(w.work, 'other-backend');
    mkdirSync(elsewhere);
    const r = await deploy('with PULUMI_BACKEND_URL set', '5s', {
      PULUMI_BACKEND_URL: `file://${elsewhere}`,
    });
    expect(r.exitCode, r.out).toBe(7);
    expect(r.out).toMatch(/provision: done earlier .*verified/);
    expect((await execa('find', [elsewhere, '-type', 'f'])).stdout).toBe('');
    expect(await w.objects(CLUSTER)).toEqual(first);
  }, 600_000);

  it('a domain deleted by hand is noticed (refresh) and re-created by the next deploy', async () => {
    await w.virsh('destroy', `${CLUSTER}-worker-1`);
    await w.virsh('undefine', `${CLUSTER}-worker-1`);
    const r = await deploy('repair a deleted domain');
    expect(r.exitCode, r.out).toBe(7);
    expect(r.out).toMatch(/differs from the config in 1 object/);
    expect(r.out).toMatch(new RegExp(`create \\S+Domain ${CLUSTER}-worker-1`));
    expect((await w.virsh('domstate', `${CLUSTER}-worker-1`)).trim()).toBe('running');
  }, 600_000);

  it('destroy works from the state alone after the nkd installation moved, and leaves nothing', async () => {
    w.moveInstall();
    const r = await w.run(['destroy', CLUSTER, '--yes'], 'destroy (moved install)');
    expect(r.exitCode, r.out).toBe(0);
    expect(await w.objects(CLUSTER)).toEqual({});
  }, 600_000);
});
