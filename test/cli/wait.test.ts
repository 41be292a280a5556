// `nkd wait` as a user runs it, where no API server is involved. Waiting on a real API server (nodes
// joining, a timeout naming the consoles): test/cli/real-cluster.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, sandbox, writeConfig } from '../helpers/cli.js';
import { configYaml } from '../helpers/configs.js';

afterAll(removeTempDirs);

describe('nkd wait', () => {
  it('refuses a cluster that was never provisioned, exit 4', async () => {
    const sb = sandbox();
    const config = writeConfig(sb.root, configYaml({ controlPlane: { count: 1, cpus: 2, memoryMiB: 4096 } }));
    expect((await sb.run(['deploy', '-f', config, '--dry-run', '--state-dir', sb.state])).exitCode).toBe(0);
    const r = await sb.run(['wait', 'demo', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/never provisioned/);
  });

  it('rejects a malformed duration as a usage error', async () => {
    const sb = sandbox();
    const r = await sb.run(['wait', 'demo', '--api-timeout', 'soon', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/not a duration/);
  });
});
