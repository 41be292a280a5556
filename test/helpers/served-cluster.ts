// A cluster as the CLI sees it after a deploy: its state rendered by a real `deploy --dry-run`, its API
// served by the in-process fake with the cluster's own PKI on loopback, and outputs.json saying where.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { ProvisionedNode } from '../../providers/types.js';
import { loadPki } from '../../src/pki/index.js';
import type { ClusterPki } from '../../src/pki/types.js';
import { writeConfig, type Sandbox } from './cli.js';
import { configYaml, type ConfigOverrides } from './configs.js';
import { startFakeKubeApi, type FakeKubeApi, type FakeKubeApiOptions } from './fake-kube-api.js';

export const SERVED_ENDPOINT = 'api.demo.test';

export interface ServedCluster {
  dir: string;
  pki: ClusterPki;
  api: FakeKubeApi;
}

export async function servedCluster(
  sb: Sandbox,
  options: {
    config?: ConfigOverrides;
    api?: Omit<FakeKubeApiOptions, 'pki'>;
    outputNodes?: ProvisionedNode[];
  } = {},
): Promise<ServedCluster> {
  const config = writeConfig(
    sb.root,
    configYaml({
      ...options.config,
      kubernetes: { controlPlaneEndpoint: `${SERVED_ENDPOINT}:6443`, ...options.config?.kubernetes },
    }),
  );
  const dry = await sb.run(['deploy', '-f', config, '--dry-run', '--state-dir', sb.state]);
  expect(dry.exitCode, dry.stderr).toBe(0);
  const dir = join(sb.state, 'clusters', 'demo');
  const pki = await loadPki(join(dir, 'pki'));
  const api = await startFakeKubeApi({ pki, servingNames: [SERVED_ENDPOINT, '127.0.0.1'], ...options.api });
  const outputs = { apiEndpoint: `127.0.0.1:${api.port}`, nodes: options.outputNodes ?? [] };
  writeFileSync(join(dir, 'outputs.json'), JSON.stringify(outputs), { mode: 0o600 });
  return { dir, pki, api };
}
