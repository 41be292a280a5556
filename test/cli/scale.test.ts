// `nkd scale` as far as it runs here (no Pulumi CLI): it needs a provisioned cluster and the engine,
// and says so before anything happens.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, sandbox, writeConfig } from '../helpers/cli.js';
import { configYaml } from '../helpers/configs.js';

afterAll(removeTempDirs);

describe('nkd scale', () => {
  it('refuses a cluster that was never provisioned (exit 4), naming the command to run first', async () => {
    const sb = sandbox();
    const config = writeConfig(sb.root, configYaml());
    expect((await sb.run(['deploy', '-f', config, '--dry-run', '--state-dir', sb.state])).exitCode).toBe(0);
    const r = await sb.run(['scale', 'demo', '--workers', '4', '--yes', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(4);
    expect(r.stderr.trim()).toMatch(
      /^nkd: cluster demo in .* was never provisioned: run `nkd deploy -f <config>` first$/,
    );
    expect(existsSync(join(sb.state, 'clusters', 'demo', 'join-tokens.json'))).toBe(false);
  });

  it('requires --workers', async () => {
    const r = await sandbox().run(['scale', 'demo']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toMatch(/^nkd: Missing required flag workers/);
  });
});
