// Recovery on the REAL Pulumi engine and libvirtd (helpers/real-engine.ts): Ctrl-C in the middle of
// `up` then the same command again, and destroy after a first deploy that failed half-way.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeReal } from '../helpers/real.js';
import {
  realEngineRequirement,
  startRealEngineWorld,
  type RealEngineWorld,
} from '../helpers/libvirt-world.js';

const id = randomBytes(3).toString('hex');
const INTERRUPTED = `nkdint-${id}`;
const HALF = `nkdhalf-${id}`;

describeReal('recovery on the real Pulumi engine on libvirt', realEngineRequirement, () => {
  let w: RealEngineWorld;

  beforeAll(async () => {
    w = await startRealEngineWorld(`nkd-real-recovery-${id}`);
  }, 120_000);

  afterAll(async () => w && (await w.close([INTERRUPTED, HALF])), 120_000);

  it('Ctrl-C (SIGINT to the whole process group, as a terminal sends it) during up: the engine finishes in-flight steps, nkd exits 130, and the same command completes with nothing duplicated or orphaned', async () => {
    const config = await w.writeConfig(INTERRUPTED, { workers: 2 });
    const args = ['deploy', '-f', config, '--yes', '--api-timeout', '5s'];
    const child = w.spawn(args, {}, true);
    let seen = '';
    await new Promise<void>((resolve) => {
      child.all!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        // The engine has started creating: interrupt it mid-way.
        if (/create \S+(Pool|Network|IgnitionVolume)/.test(seen)) resolve();
      });
      void child.then(() => resolve());
    });
    process.kill(-child.pid!, 'SIGINT');
    const interrupted = await child;
    const out = String(interrupted.all ?? '');
    expect(interrupted.exitCode, out).toBe(130);
    expect(out).toMatch(/interrupted; run the same command again to resume/);

    const again = await w.run(args, 'deploy after Ctrl-C');
    expect(again.exitCode, again.out).toBe(7);
    const objects = await w.objects(INTERRUPTED);
    const domains = Object.keys(objects).filter((k) => k.startsWith('domain '));
    expect(domains.sort()).toEqual(
      ['cp-1', 'worker-1', 'worker-2'].map((n) => `domain ${INTERRUPTED}-${n}`).sort(),
    );
    for (const d of domains) expect((await w.virsh('domstate', d.slice(7))).trim()).toBe('running');

    // Nothing orphaned: everything that exists is in the engine's state, so destroy removes it all.
    const destroyed = await w.run(['destroy', INTERRUPTED, '--yes'], 'destroy after Ctrl-C');
    expect(destroyed.exitCode, destroyed.out).toBe(0);
    expect(await w.objects(INTERRUPTED)).toEqual({});
  }, 900_000);

  it('a first deploy that fails half-way exits 6 with the engine’s own reason, and destroy removes what it made', async () => {
    // Disks (10 GiB) smaller than the base image (20 GiB): the node volumes fail after the rest exists.
    const big = join(w.work, 'big.qcow2');
    await execa('qemu-img', ['create', '-f', 'qcow2', big, '20G']);
    const config = await w.writeConfig(HALF, { workers: 1, image: big });
    const r = await w.run(['deploy', '-f', config, '--yes', '--api-timeout', '5s'], 'half-failed deploy');
    expect(r.exitCode, r.out).toBe(6);
    expect(r.out).toMatch(/smaller than the base image/);
    expect(Object.keys(await w.objects(HALF)).length).toBeGreaterThan(0);

    const destroyed = await w.run(['destroy', HALF, '--yes'], 'destroy after a half-failed deploy');
    expect(destroyed.exitCode, destroyed.out).toBe(0);
    expect(await w.objects(HALF)).toEqual({});
  }, 900_000);
});
