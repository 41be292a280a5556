// The real kubeadm (`npm run tools` builds it: NKD_KUBE_BIN) validates the kubeadm files nkd renders for
// every bootstrap kind, as nodes do before `kubeadm init`/`join` (`kubeadm config validate`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { planCluster } from '../../src/plan/plan.js';
import { kubeadmDocuments, serializeKubeadm } from '../../src/render/kubeadm.js';
import { tempDir } from '../helpers/cli.js';
import { validConfig } from '../helpers/configs.js';
import { describeReal } from '../helpers/real.js';
import { toolEnv, toolRequirement } from '../helpers/tools.js';

const SECRETS = { bootstrapToken: 'abcdef.0123456789abcdef', caCertHash: `sha256:${'cd'.repeat(32)}` };

describeReal(
  'kubeadm config validate on the files nkd renders',
  toolRequirement('NKD_KUBE_BIN', 'kubeadm'),
  () => {
    it('accepts the init, control-plane join and worker join files for the kubeadm version built here', async () => {
      const kubeadm = join(toolEnv('NKD_KUBE_BIN')!, 'kubeadm');
      const version = (await execa(kubeadm, ['version', '-o', 'short'])).stdout.trim();
      const plan = planCluster(
        validConfig({
          version,
          controlPlane: { count: 3 },
          kubernetes: { controlPlaneEndpoint: 'api.demo:6443' },
        }),
      );
      const dir = tempDir('nkd-kubeadm-validate-');
      const kinds = new Set<string>();
      for (const node of plan.nodes) {
        if (kinds.has(node.bootstrap)) continue;
        kinds.add(node.bootstrap);
        const file = join(dir, `${node.name}.yaml`);
        writeFileSync(file, serializeKubeadm(kubeadmDocuments(plan, node, SECRETS)));
        const r = await execa(kubeadm, ['config', 'validate', '--config', file], {
          reject: false,
          all: true,
        });
        expect(r.exitCode, `${node.bootstrap}: ${r.all}`).toBe(0);
      }
      expect([...kinds].sort()).toEqual(['init', 'join', 'join-control-plane']);
    });
  },
);
