// `nkd status` through the real binary where no API server is needed: an unreachable one, a missing
// state, usage errors. Against a real API server: test/cli/real-cluster.test.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClusterPlan } from '../../src/plan/types.js';
import { removeTempDirs, sandbox, writeConfig, type Sandbox } from '../helpers/cli.js';
import { configYaml } from '../helpers/configs.js';
import { freePorts } from '../helpers/real-api.js';

afterAll(removeTempDirs);

interface Prepared {
  sb: Sandbox;
  dir: string;
  plan: ClusterPlan;
  run(args: string[]): ReturnType<Sandbox['run']>;
}

/** A dry-run deployed cluster "demo" whose API endpoint is api.demo.test:6443. */
async function prepare(): Promise<Prepared> {
  const sb = sandbox();
  const config = writeConfig(
    sb.root,
    configYaml({ kubernetes: { controlPlaneEndpoint: 'api.demo.test:6443' } }),
  );
  const r = await sb.run(['deploy', '-f', config, '--dry-run', '--state-dir', sb.state]);
  expect(r.exitCode, r.stderr).toBe(0);
  const dir = join(sb.state, 'clusters', 'demo');
  const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as ClusterPlan;
  return { sb, dir, plan, run: (args) => sb.run([...args, '--state-dir', sb.state]) };
}

describe('nkd status', () => {
  it('an unreachable API: exit 0, says so in one line, still shows the certificate dates', async () => {
    const p = await prepare();
    // Nothing listens where the provider said the API server is.
    const [port] = await freePorts(1);
    writeFileSync(
      join(p.dir, 'outputs.json'),
      JSON.stringify({ apiEndpoint: `127.0.0.1:${port}`, nodes: [] }),
    );
    const started = Date.now();
    const r = await p.run(['status', 'demo', '--request-timeout', '2s']);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Cluster demo: NOT healthy$/m);
    expect(r.stdout).toMatch(
      /^API server {3}https:\/\/127\.0\.0\.1:\d+ \(verified as api\.demo\.test\): unreachable: connection refused \(ECONNREFUSED\)$/m,
    );
    expect(r.stdout).toMatch(/^Nodes {8}not read: the API server is unreachable$/m);
    expect(r.stdout).toMatch(/^ {2}etcd CA +\d{4}-\d\d-\d\d +36\d\d$/m);
    expect(r.stdout).toMatch(
      /^ {2}API server serving certificate: not read \(connection refused \(ECONNREFUSED\)\)$/m,
    );
  });

  it('a cluster without state: exit 4 in one line', async () => {
    const sb = sandbox();
    const r = await sb.run(['status', 'ghost', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(4);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(`nkd: no cluster named ghost in ${sb.state}`);
    const json = await sb.run(['status', 'ghost', '--json', '--state-dir', sb.state]);
    expect(json.exitCode).toBe(4);
    expect(JSON.parse(json.stdout).error).toMatchObject({ exitCode: 4 });
  });

  it('--request-timeout must be a positive duration (usage error)', async () => {
    const sb = sandbox();
    const r = await sb.run(['status', 'demo', '--request-timeout', '0', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--help shows the summary and examples', async () => {
    const r = await sandbox().run(['status', '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("Report a cluster's health");
    expect(r.stdout).toContain('$ nkd status demo --json | jq .healthy');
    expect(r.stdout).toContain('--request-timeout');
  });
});
