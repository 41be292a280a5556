// `nkd diff` as users run it: what a config edit would change in the deployed cluster. The live drift
// read from a real API server: test/cli/real-cluster.test.ts.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nonEmptyLines, removeTempDirs, sandbox, writeConfig } from '../helpers/cli.js';
import { configYaml } from '../helpers/configs.js';

afterAll(removeTempDirs);

/** A cluster whose infrastructure was provisioned for this config (its plan recorded as deployed). */
async function deployed() {
  const sb = sandbox();
  const config = writeConfig(sb.root, configYaml({ workers: { count: 2 } }));
  expect((await sb.run(['deploy', '-f', config, '--dry-run', '--state-dir', sb.state])).exitCode).toBe(0);
  const dir = join(sb.state, 'clusters', 'demo');
  copyFileSync(join(dir, 'plan.json'), join(dir, 'deployed-plan.json'));
  return { sb, config };
}

describe('nkd diff', () => {
  it('says a cluster with no state is new', async () => {
    const sb = sandbox();
    const config = writeConfig(sb.root, configYaml());
    const r = await sb.run(['diff', '-f', config, '--state-dir', sb.state]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('Cluster demo is new: creates 3 control-plane and 2 worker node(s).');
  });

  it('says "nothing to do" for the deployed config, and lists added workers for a bigger one', async () => {
    const { sb, config } = await deployed();
    const same = await sb.run(['diff', '-f', config, '--state-dir', sb.state]);
    expect(same.stdout.trim()).toBe('Cluster demo: nothing to do, the deployed cluster matches the config.');
    const bigger = writeConfig(sb.root, configYaml({ workers: { count: 3 } }), 'bigger.yaml');
    const r = await sb.run(['diff', '-f', bigger, '--json', '--state-dir', sb.state]);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { add: { name: string }[]; unchanged: boolean };
    expect(out.add.map((n) => n.name)).toEqual(['demo-worker-3']);
    expect(out.unchanged).toBe(false);
  });

  it('refuses a change that cannot be made in place: exit 3, naming the key', async () => {
    const { sb } = await deployed();
    const other = writeConfig(sb.root, configYaml({ workers: { count: 2 }, runtime: 'crio' }), 'crio.yaml');
    const r = await sb.run(['diff', '-f', other, '--state-dir', sb.state]);
    expect(r.exitCode).toBe(3);
    // The listing is the output (stdout), refused changes included; stderr has the one error line.
    expect(r.stdout).toMatch(/✖ spec\.runtime: containerd → crio: existing nodes keep the runtime/);
    expect(nonEmptyLines(r.stderr).filter((l) => !l.startsWith('warning: '))).toEqual([
      'nkd: 1 change(s) cannot be made to the deployed cluster demo',
    ]);
  });

  it('on OpenStack, refuses an availability zone edit (exit 3) and reports a flavor edit as for new nodes only', async () => {
    const sb = sandbox();
    const openstack = (extra: Record<string, unknown>) =>
      configYaml({
        platform: {
          openstack: {
            image: 'nestos',
            flavor: 'm1.large',
            externalNetwork: 'public',
            apiAllowedCIDRs: ['203.0.113.0/24'],
            ignitionService: { advertise: '203.0.113.10:22623' },
            ...extra,
          },
        },
      });
    const config = writeConfig(sb.root, openstack({}));
    const dry = await sb.run(['deploy', '-f', config, '--dry-run', '--state-dir', sb.state]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const dir = join(sb.state, 'clusters', 'demo');
    copyFileSync(join(dir, 'plan.json'), join(dir, 'deployed-plan.json'));

    const zone = writeConfig(sb.root, openstack({ availabilityZone: 'az2' }), 'zone.yaml');
    const refused = await sb.run(['diff', '-f', zone, '--offline', '--state-dir', sb.state]);
    expect(refused.exitCode).toBe(3);
    // The listing is the output (stdout), also when a change is refused.
    expect(refused.stdout).toMatch(
      /spec\.platform\.openstack\.availabilityZone: \(default\) → az2: Nova replaces an instance/,
    );

    const flavor = writeConfig(sb.root, openstack({ flavor: 'm1.xlarge' }), 'flavor.yaml');
    const noted = await sb.run(['diff', '-f', flavor, '--offline', '--state-dir', sb.state]);
    expect(noted.exitCode, noted.stderr).toBe(0);
    expect(noted.stdout).toMatch(
      /spec\.platform\.openstack\.flavor m1\.large\/m1\.large → m1\.xlarge\/m1\.xlarge: .*new flavor/,
    );
    expect(noted.stdout).not.toMatch(/~ resize/);
  });
});
