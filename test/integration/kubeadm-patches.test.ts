// The real kubeadm (NKD_KUBE_BIN) applies the probe patches nkd renders for `probeTolerance`: it writes
// the four control-plane static pods (dry run, into a scratch directory) from nkd's rendered init config
// and patch files, and their probes are kubeadm's own values times the tolerance. The same run without
// patches pins kubeadm's defaults that src/render/kubeadm-patches.ts multiplies.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { planCluster } from '../../src/plan/plan.js';
import { KUBEADM_PATCHES_DIR, kubeadmPatchFiles } from '../../src/render/kubeadm-patches.js';
import { renderCluster } from '../../src/render/node.js';
import { loadTemplates } from '../../src/render/templates.js';
import { validConfig } from '../helpers/configs.js';
import { FAKE_PKI } from '../helpers/fake-pki.js';
import { describeReal } from '../helpers/real.js';
import { toolEnv, toolRequirement } from '../helpers/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'nkd-kubeadm-patches-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

interface Probe {
  failureThreshold: number;
  timeoutSeconds: number;
}

/** Writes the static pods `kubeadm init` would write for the first control plane of this config. */
async function staticPods(tolerance: number): Promise<Map<string, { liveness: Probe; startup: Probe }>> {
  const plan = planCluster(
    validConfig({
      controlPlane: { count: 1 },
      workers: { count: 0 },
      kubernetes: { probeTolerance: tolerance },
    }),
  );
  const [init] = renderCluster({ plan, pki: FAKE_PKI, templates: loadTemplates() });
  const work = join(dir, `t${tolerance}`);
  const patches = join(work, 'patches');
  const out = join(work, 'out');
  mkdirSync(patches, { recursive: true });
  mkdirSync(out);
  for (const patch of kubeadmPatchFiles(plan)) writeFileSync(join(patches, patch.name), patch.contents);
  const config = join(work, 'kubeadm.yaml');
  // Only the directory moves into the scratch space; the rest of the config is what the node gets.
  writeFileSync(config, init!.kubeadmText.replace(KUBEADM_PATCHES_DIR, patches));
  const kubeadm = join(toolEnv('NKD_KUBE_BIN')!, 'kubeadm');
  for (const phase of [
    ['etcd', 'local'],
    ['control-plane', 'all'],
  ]) {
    const r = await execa(kubeadm, ['init', 'phase', ...phase, '--config', config, '--dry-run'], {
      reject: false,
      all: true,
      env: { KUBEADM_INIT_DRYRUN_DIR: out },
    });
    expect(r.exitCode, r.all).toBe(0);
    if (tolerance > 1) expect(r.all).toMatch(/\[patches\] Applied patch of type/);
    else expect(r.all).not.toContain('[patches]');
  }
  const pods = new Map<string, { liveness: Probe; startup: Probe }>();
  for (const component of COMPONENTS) {
    const pod = parse(readFileSync(join(out, `${component}.yaml`), 'utf8')) as {
      spec: { containers: { name: string; livenessProbe: Probe; startupProbe: Probe }[] };
    };
    const container = pod.spec.containers.find((c) => c.name === component)!;
    pods.set(component, { liveness: container.livenessProbe, startup: container.startupProbe });
  }
  return pods;
}

describeReal('real kubeadm applies the probe patches', toolRequirement('NKD_KUBE_BIN', 'kubeadm'), () => {
  it("keeps kubeadm's defaults at tolerance 1 and multiplies them at 3, for all four static pods", async () => {
    const defaults = await staticPods(1);
    const patched = await staticPods(3);
    for (const component of COMPONENTS) {
      const d = defaults.get(component)!;
      expect(d.liveness, component).toMatchObject({ failureThreshold: 8, timeoutSeconds: 15 });
      // kubeadm sizes the startup probe from the health-check timeout: nkd's 10 minutes, 10 s apart.
      expect(d.startup, component).toMatchObject({ failureThreshold: 60, timeoutSeconds: 15 });
      const p = patched.get(component)!;
      expect(p.liveness, component).toMatchObject({ failureThreshold: 24, timeoutSeconds: 45 });
      expect(p.startup, component).toMatchObject({ failureThreshold: 180, timeoutSeconds: 45 });
      // Only the thresholds and timeouts change: what is probed and how often stays kubeadm's.
      expect({ ...p.liveness, failureThreshold: 0, timeoutSeconds: 0 }).toEqual({
        ...d.liveness,
        failureThreshold: 0,
        timeoutSeconds: 0,
      });
    }
  });
});
