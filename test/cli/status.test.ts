// `nkd status` through the real binary, against the in-process fake API (loopback only): the state comes
// from `deploy --dry-run` plus an outputs.json pointing at the fake, which serves with the cluster's own
// PKI a certificate for the planned endpoint name, api.demo.test, as a reachable-elsewhere endpoint would.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadPki } from '../../src/pki/index.js';
import type { ClusterPlan } from '../../src/plan/types.js';
import { removeTempDirs, sandbox, writeConfig, type Sandbox } from '../helpers/cli.js';
import { configYaml } from '../helpers/configs.js';
import { startFakeKubeApi, type FakeKubeApi, type FakeNode } from '../helpers/fake-kube-api.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});
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

/** The fake with the cluster's PKI, reachable at 127.0.0.1:<port> as outputs.json says. */
async function serve(p: Prepared, nodes: FakeNode[]): Promise<FakeKubeApi> {
  const api = await startFakeKubeApi({
    pki: await loadPki(join(p.dir, 'pki')),
    servingNames: ['api.demo.test', '127.0.0.1'],
    nodes,
  });
  cleanups.push(() => api.stop());
  writeFileSync(
    join(p.dir, 'outputs.json'),
    JSON.stringify({ apiEndpoint: `127.0.0.1:${api.port}`, nodes: [] }),
  );
  return api;
}

describe('nkd status', () => {
  it('reports a healthy cluster: API, nodes, Housekeeper, certificates; verified as the planned name', async () => {
    const p = await prepare();
    const api = await serve(
      p,
      p.plan.nodes.map((n) => ({
        name: n.name,
        ready: true,
        roles: n.role === 'control-plane' ? ['control-plane'] : [],
      })),
    );
    const r = await p.run(['status', 'demo']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/^Cluster demo: healthy$/m);
    expect(out).toContain(`API server   https://127.0.0.1:${api.port} (verified as api.demo.test): ready`);
    expect(out).toMatch(/^Nodes {8}5\/5 Ready$/m);
    expect(out).toMatch(/^ {2}NAME +ROLES +STATUS +VERSION +OS IMAGE$/m);
    expect(out).toMatch(/^ {2}demo-cp-1 +control-plane +Ready +v1\.31\.1 +NestOS For Container 24\.03-LTS$/m);
    expect(out).toMatch(/^ {2}demo-worker-2 +- +Ready /m);
    expect(out).toMatch(/^Housekeeper {2}not installed$/m);
    expect(out).toMatch(/^ {2}cluster CA +\d{4}-\d\d-\d\d +36\d\d$/m);
    expect(out).toMatch(/^ {2}admin client certificate +\d{4}-\d\d-\d\d +36\d$/m);
    // The fake's serving certificate lives a week: warned about.
    expect(out).toMatch(/^ {2}API server serving certificate +\d{4}-\d\d-\d\d +[67]$/m);
    expect(out).toMatch(/^warning: the API server serving certificate expires in [67] days/m);
    expect(r.stderr).toBe('');
    // SNI carried the planned name; every request authenticated as nkd's admin.
    expect(new Set(api.requests.map((q) => q.sni))).toEqual(new Set(['api.demo.test']));
    expect(new Set(api.requests.map((q) => q.client.cn))).toEqual(new Set(['nkd-admin']));
  });

  it('--json: the status object for scripts; exit 0 even when not healthy', async () => {
    const p = await prepare();
    await serve(p, [{ name: 'demo-cp-1', ready: false, message: 'cni plugin not initialized' }]);
    const r = await p.run(['status', 'demo', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout);
    expect(status).toMatchObject({
      cluster: 'demo',
      healthy: false,
      api: { ready: true, reachable: true, httpStatus: 200 },
      nodes: { listed: true },
      housekeeper: { state: 'not-installed', namespace: 'housekeeper-system' },
    });
    expect(status.nodes.items).toHaveLength(5);
    expect(status.nodes.items[0]).toMatchObject({
      name: 'demo-cp-1',
      registered: true,
      ready: false,
      notReadyReason: 'KubeletNotReady: cni plugin not initialized',
    });
    expect(status.nodes.items.slice(1).every((n: { registered: boolean }) => !n.registered)).toBe(true);
    expect(status.certificates.map((c: { name: string }) => c.name)).toEqual([
      'cluster CA',
      'etcd CA',
      'front-proxy CA',
      'admin client certificate',
    ]);
  });

  it('an unreachable API: exit 0, says so in one line, still shows the certificate dates', async () => {
    const p = await prepare();
    const api = await serve(p, []);
    await api.stop();
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
