// The init phases nkd-kubeadm runs when it resumes a failed `kubeadm init` (templates/common/usr/local/
// bin/nkd-kubeadm.hbs) are idempotent against a real API server: the real kubeadm runs them with the
// first control plane's rendered config against the real kube-apiserver + etcd (test/helpers/real-api.ts)
// twice, as a resume after a run that got part of the way would, and both runs succeed. Not here:
// mark-control-plane and kubelet-finalize, which read the host's /etc/kubernetes and kubelet files (no
// --kubeconfig flag); the script-level decisions are test/unit/kubeadm-script.test.ts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadPki } from '../../src/pki/index.js';
import type { ClusterPlan } from '../../src/plan/types.js';
import { renderCluster } from '../../src/render/node.js';
import { loadTemplates } from '../../src/render/templates.js';
import { describeReal } from '../helpers/real.js';
import { dryRunState, realApiRequirement, startRealCluster, type RealCluster } from '../helpers/real-api.js';
import { toolEnv } from '../helpers/tools.js';

/** The phases of the resume that talk to the API server, in the script's order. */
const PHASES = [['upload-config', 'all'], ['bootstrap-token'], ['addon', 'all']];

describeReal('kubeadm init phases of a resume, real API server', realApiRequirement(), () => {
  let cluster: RealCluster;
  let state: Awaited<ReturnType<typeof dryRunState>>;
  let config: string;
  const dir = mkdtempSync(join(tmpdir(), 'nkd-kubeadm-resume-'));

  beforeAll(async () => {
    state = await dryRunState({ controlPlane: { count: 1 }, workers: { count: 1 } });
    cluster = await startRealCluster({
      clusterDir: state.clusterDir,
      controllerManager: false,
      scheduler: false,
      kwok: false,
    });
    const plan = JSON.parse(readFileSync(join(state.clusterDir, 'plan.json'), 'utf8')) as ClusterPlan;
    const pki = await loadPki(join(state.clusterDir, 'pki'));
    const init = renderCluster({ plan, pki, templates: loadTemplates() }).find(
      (r) => r.node.bootstrap === 'init',
    );
    config = join(dir, 'kubeadm.yaml');
    writeFileSync(config, init!.kubeadmText);
  }, 180_000);
  afterAll(async () => {
    await cluster?.stop();
    state?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  async function resume(): Promise<void> {
    const kubeadm = join(toolEnv('NKD_KUBE_BIN')!, 'kubeadm');
    for (const phase of PHASES) {
      const r = await execa(
        kubeadm,
        ['init', 'phase', ...phase, '--config', config, '--kubeconfig', cluster.kubeconfig],
        { reject: false, all: true },
      );
      expect(r.exitCode, `${phase.join(' ')}: ${r.all}`).toBe(0);
    }
  }

  it('runs them twice: the second run finds everything in place and succeeds', async () => {
    await resume();
    await resume();
    const cm = JSON.parse(
      await cluster.kubectl(['-n', 'kube-system', 'get', 'configmap', 'kubeadm-config', '-o', 'json']),
    ) as {
      data: { ClusterConfiguration: string };
    };
    expect(cm.data.ClusterConfiguration).toContain('kubernetesVersion: v1.37.2');
    await cluster.kubectl(['-n', 'kube-public', 'get', 'configmap', 'cluster-info']);
    await cluster.kubectl(['-n', 'kube-system', 'get', 'deployment', 'coredns']);
    await cluster.kubectl(['-n', 'kube-system', 'get', 'daemonset', 'kube-proxy']);
    const secrets = await cluster.kubectl(['-n', 'kube-system', 'get', 'secrets', '-o', 'name']);
    expect(secrets.split('\n').filter((s) => s.startsWith('secret/bootstrap-token-'))).toHaveLength(1);
  }, 120_000);
});
