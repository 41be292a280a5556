// nkd's cluster commands as a user runs them (the built binary, a separate process working from the
// cluster state alone) against a real control plane from NKD_KUBE_BIN that runs on the PKI of the
// cluster's `nkd deploy --dry-run`: outputs.json says where the provider's endpoint is, the server
// presents a certificate from the cluster CA for the planned name api.demo.test, kwok runs the nodes.
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { removeTempDirs, sandbox, writeConfig, type Sandbox } from '../helpers/cli.js';
import { configYaml } from '../helpers/configs.js';
import { describeReal } from '../helpers/real.js';
import {
  bootNodes,
  DRY_RUN_ENDPOINT,
  plannedNodes,
  realApiRequirement,
  startRealCluster,
  type RealCluster,
} from '../helpers/real-api.js';

afterAll(removeTempDirs);

// No pods here: the controllers and the scheduler are left out (lighter on a shared machine).
const COMPONENTS = { controllerManager: false, scheduler: false } as const;

describeReal(
  'nkd status, wait, kubeconfig and diff against a real API server',
  realApiRequirement(COMPONENTS),
  () => {
    let sb: Sandbox;
    let config: string;
    let dir: string;
    let cluster: RealCluster;
    const run = (args: string[]) => sb.run([...args, '--state-dir', sb.state]);

    beforeAll(async () => {
      sb = sandbox();
      config = writeConfig(
        sb.root,
        configYaml({ kubernetes: { controlPlaneEndpoint: `${DRY_RUN_ENDPOINT}:6443` } }),
      );
      const dry = await run(['deploy', '-f', config, '--dry-run']);
      expect(dry.exitCode, dry.stderr).toBe(0);
      dir = join(sb.state, 'clusters', 'demo');
      cluster = await startRealCluster({ clusterDir: dir, ...COMPONENTS });
      // As a provisioned cluster's state: the provider's endpoint and the machines' consoles.
      const consoles = cluster.plan.nodes.map((n) => ({
        name: n.name,
        role: n.role,
        address: n.address,
        providerId: n.name,
        consoleLog: `/var/log/${n.name}.log`,
      }));
      writeFileSync(
        join(dir, 'outputs.json'),
        JSON.stringify({ apiEndpoint: cluster.endpoint, nodes: consoles }),
      );
      // Rendering again, as deploy does once provisioned, points admin.conf at the reachable endpoint.
      const again = await run(['deploy', '-f', config, '--dry-run']);
      expect(again.exitCode, again.stderr).toBe(0);
      copyFileSync(join(dir, 'plan.json'), join(dir, 'deployed-plan.json'));
    }, 180_000);
    afterAll(() => cluster?.stop());
    beforeEach(() => cluster.deleteAllNodes());

    it('nkd wait follows the machines booting: every node joins, turns Ready, exit 0 with JSON lines', async () => {
      const booting = bootNodes(cluster, plannedNodes(cluster.plan), 200);
      const r = await run(['wait', 'demo', '--json', '--nodes-timeout', '60s']);
      await booting;
      expect(r.exitCode, r.stderr).toBe(0);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.at(-1)).toMatchObject({ type: 'result', cluster: 'demo' });
      expect(lines.filter((l) => l.type === 'node' && l.state === 'ready').map((l) => l.node)).toEqual(
        cluster.plan.nodes.map((n) => n.name),
      );
    });

    it('nkd wait times out at its deadline with exit 7, naming the nodes never registered and their consoles', async () => {
      await cluster.addNodes(plannedNodes(cluster.plan).slice(0, 3));
      const r = await run(['wait', 'demo', '--nodes-timeout', '3s']);
      expect(r.exitCode).toBe(7);
      expect(r.stderr).toMatch(/never registered: demo-worker-1, demo-worker-2/);
      expect(r.stderr).toContain('serial console of demo-worker-1: /var/log/demo-worker-1.log');
      expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^nkd: timed out .*5 nodes to be Ready/);
    });

    it('nkd status reports a healthy cluster: API verified as the planned name, nodes, certificates', async () => {
      await cluster.addNodes(plannedNodes(cluster.plan));
      await cluster.nodesReady(cluster.plan.nodes.map((n) => n.name));
      const r = await run(['status', 'demo']);
      expect(r.exitCode, r.stderr).toBe(0);
      const out = r.stdout;
      expect(out).toMatch(/^Cluster demo: healthy$/m);
      expect(out).toContain(`API server   ${cluster.server} (verified as ${DRY_RUN_ENDPOINT}): ready`);
      expect(out).toMatch(/^Nodes {8}5\/5 Ready$/m);
      expect(out).toMatch(
        /^ {2}demo-cp-1 +control-plane +Ready +v1\.37\.2 +NestOS For Container 24\.03-LTS$/m,
      );
      expect(out).toMatch(/^ {2}demo-worker-2 +- +Ready /m);
      expect(out).toMatch(/^Housekeeper {2}not installed$/m);
      expect(out).toMatch(/^ {2}cluster CA +\d{4}-\d\d-\d\d +36\d\d$/m);
      // The harness's serving certificate lives a year, like kubeadm's.
      expect(out).toMatch(/^ {2}API server serving certificate +\d{4}-\d\d-\d\d +36\d$/m);
      expect(r.stderr).toBe('');
      // Every request nkd made was authenticated as nkd's admin by the real server.
      const users = new Set((await cluster.requests()).map((e) => e.user.username));
      expect(users).toEqual(new Set(['nkd-admin']));
    });

    it("nkd status --json: a NotReady node with the kubelet's reason, one never registered; exit 0", async () => {
      const [cp, ...rest] = plannedNodes(cluster.plan);
      await cluster.addNodes([{ ...cp!, ready: false }, ...rest.slice(0, 3)]);
      // What a kubelet without a CNI reports.
      await cluster.api(
        'PATCH',
        '/api/v1/nodes/demo-cp-1/status',
        {
          status: {
            conditions: [
              {
                type: 'Ready',
                status: 'False',
                reason: 'KubeletNotReady',
                message: 'container runtime network not ready: cni plugin not initialized',
                lastHeartbeatTime: new Date().toISOString(),
                lastTransitionTime: new Date().toISOString(),
              },
            ],
          },
        },
        'application/merge-patch+json',
      );
      const r = await run(['status', 'demo', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      const status = JSON.parse(r.stdout);
      expect(status).toMatchObject({
        cluster: 'demo',
        healthy: false,
        api: { ready: true, reachable: true, httpStatus: 200 },
        nodes: { listed: true },
        housekeeper: { state: 'not-installed' },
      });
      expect(status.nodes.items[0]).toMatchObject({
        name: 'demo-cp-1',
        registered: true,
        ready: false,
        notReadyReason: 'KubeletNotReady: container runtime network not ready: cni plugin not initialized',
      });
      expect(status.nodes.items.at(-1)).toMatchObject({ name: 'demo-worker-2', registered: false });
    });

    it('nkd kubeconfig prints a kubeconfig the real kubectl uses as is, verifying the planned name', async () => {
      await cluster.addNodes(plannedNodes(cluster.plan).slice(0, 1));
      const printed = await run(['kubeconfig', 'demo']);
      expect(printed.exitCode, printed.stderr).toBe(0);
      const file = join(sb.root, 'printed.kubeconfig');
      writeFileSync(file, printed.stdout, { mode: 0o600 });
      const nodes = await cluster.kubectl(['--kubeconfig', file, 'get', 'nodes', '-o', 'name']);
      expect(nodes.trim()).toBe('node/demo-cp-1');
      const whoami = await cluster.kubectl([
        '--kubeconfig',
        file,
        'auth',
        'whoami',
        '-o',
        'jsonpath={.status.userInfo.username}',
      ]);
      expect(whoami).toBe('nkd-admin');
    });

    it('nkd diff adds what the live cluster says: planned nodes not registered, nodes nkd did not plan', async () => {
      await cluster.addNodes([...plannedNodes(cluster.plan).slice(0, 4), { name: 'stray-1' }]);
      const r = await run(['diff', '-f', config]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain('Cluster demo: nothing to do, the deployed cluster matches the config.');
      expect(r.stdout).toContain('  ? registered but not planned by nkd: stray-1');
      expect(r.stdout).toContain('  ? planned but not registered: demo-worker-2');
    });
  },
);
