// The real kubeadm of the newest supported minor (NKD_KUBE_BIN, built by `npm run tools`) accepts the
// kubeadm configuration nkd renders for every node role, as each node checks it with `kubeadm config
// validate` before init/join; and refuses the v1beta3 API that nkd no longer writes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';
import { DEFAULT_KUBE_VERSION } from '../../src/config/versions.js';
import { planCluster } from '../../src/plan/plan.js';
import { renderCluster } from '../../src/render/node.js';
import { loadTemplates } from '../../src/render/templates.js';
import { validConfig } from '../helpers/configs.js';
import { FAKE_PKI } from '../helpers/fake-pki.js';
import { describeReal } from '../helpers/real.js';
import { toolEnv, toolRequirement } from '../helpers/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'nkd-kubeadm-validate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function validate(text: string, name: string): Promise<{ exitCode: number; output: string }> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, text);
  const kubeadm = join(toolEnv('NKD_KUBE_BIN')!, 'kubeadm');
  const r = await execa(kubeadm, ['config', 'validate', '--config', file], { reject: false, all: true });
  return { exitCode: r.exitCode ?? -1, output: r.all ?? '' };
}

describeReal('real kubeadm config validate', toolRequirement('NKD_KUBE_BIN', 'kubeadm'), () => {
  it('reports the version nkd defaults to', async () => {
    const r = await execa(join(toolEnv('NKD_KUBE_BIN')!, 'kubeadm'), ['version', '-o', 'short']);
    expect(r.stdout.trim()).toBe(DEFAULT_KUBE_VERSION);
  });

  const configs = {
    'containerd, 3 control planes + 2 workers, load-balanced endpoint': validConfig({
      runtime: 'containerd',
      kubernetes: { controlPlaneEndpoint: 'api.demo.example:6443' },
    }),
    'containerd, 3 control planes + 1 worker, probe tolerance 4 (patches, longer timeouts)': validConfig({
      runtime: 'containerd',
      workers: { count: 1 },
      kubernetes: { probeTolerance: 4 },
    }),
    'crio, 1 control plane, no workers': validConfig({
      runtime: 'crio',
      controlPlane: { count: 1 },
      workers: { count: 0 },
    }),
  };
  for (const [what, config] of Object.entries(configs)) {
    const rendered = renderCluster({ plan: planCluster(config), pki: FAKE_PKI, templates: loadTemplates() });
    it.each(rendered.map((r) => [r.node.name, r.node.bootstrap, r.kubeadmText] as const))(
      `${what}: %s (%s) passes`,
      async (name, _bootstrap, text) => {
        const r = await validate(text, name);
        expect(r.output).not.toMatch(/deprecat|unknown field|strict decoding/i);
        expect(r.exitCode, r.output).toBe(0);
      },
    );
  }

  it('refuses kubeadm.k8s.io/v1beta3, which nkd no longer writes', async () => {
    const [init] = renderCluster({
      plan: planCluster(validConfig({ controlPlane: { count: 1 }, workers: { count: 0 } })),
      pki: FAKE_PKI,
      templates: loadTemplates(),
    });
    const r = await validate(
      init!.kubeadmText.replaceAll('kubeadm.k8s.io/v1beta4', 'kubeadm.k8s.io/v1beta3'),
      'old',
    );
    expect(r.exitCode).not.toBe(0);
    expect(r.output).toMatch(/old API spec: "kubeadm\.k8s\.io\/v1beta3"/);
  });
});
