// `nkd diff` as users run it: what a config edit would change in the deployed cluster. The live drift
// read from a real API server: test/cli/real-cluster.test.ts.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, sandbox, writeConfig } from '../helpers/cli.js';
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
    expect(r.stderr).toMatch(/✖ spec\.runtime: containerd → crio: existing nodes keep the runtime/);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      'nkd: 1 change(s) cannot be made to the deployed cluster demo',
    );
  });
});
