// `nkd wait` as a user runs it: a separate process working from the cluster state alone, against the
// in-process Kubernetes API fake (loopback) that presents a certificate from the cluster's own CA.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs, sandbox, writeConfig, type Sandbox } from '../helpers/cli.js';
import { configYaml } from '../helpers/configs.js';
import type { FakeKubeApi, FakeNode } from '../helpers/fake-kube-api.js';
import { servedCluster } from '../helpers/served-cluster.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});
afterAll(removeTempDirs);

const NODES = ['demo-cp-1', 'demo-worker-1', 'demo-worker-2'];

/** A rendered cluster whose provider reported its API on the fake's loopback port. */
async function provisionedCluster(options: {
  ready: boolean;
  nodes: FakeNode[];
}): Promise<{ sb: Sandbox; api: FakeKubeApi }> {
  const sb = sandbox();
  const { api } = await servedCluster(sb, {
    config: { controlPlane: { count: 1, cpus: 2, memoryMiB: 4096 }, workers: { count: 2 } },
    api: { readyAfterMs: options.ready ? 0 : Infinity, nodes: options.nodes },
    outputNodes: NODES.map((name) => ({
      name,
      role: 'worker',
      address: '192.0.2.1',
      providerId: name,
      consoleLog: `/var/log/${name}.log`,
    })),
  });
  cleanups.push(() => api.stop());
  return { sb, api };
}

describe('nkd wait', () => {
  it('waits for the API and every node, reports them as JSON lines and exits 0', async () => {
    const { sb } = await provisionedCluster({
      ready: true,
      nodes: NODES.map((name) => ({ name, ready: true })),
    });
    const r = await sb.run(['wait', 'demo', '--json', '--state-dir', sb.state]);
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({ type: 'result', cluster: 'demo' });
    expect(lines.filter((l) => l.type === 'node' && l.state === 'ready').map((l) => l.node)).toEqual(NODES);
  });

  it('times out at its deadline with diagnostics and exit code 7, naming the consoles', async () => {
    const { sb } = await provisionedCluster({ ready: true, nodes: [{ name: 'demo-cp-1', ready: true }] });
    const r = await sb.run(['wait', 'demo', '--nodes-timeout', '2s', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toMatch(/waiting up to 2s/);
    expect(r.stderr).toMatch(/never registered: demo-worker-1, demo-worker-2/);
    expect(r.stderr).toContain('serial console of demo-worker-1: /var/log/demo-worker-1.log');
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^nkd: timed out .*3 nodes to be Ready/);
  });

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
