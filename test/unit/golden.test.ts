// Golden files pin the exact rendered output for two reference clusters. A change in rendering shows
// up as a readable diff of the decoded view; refresh deliberately with:
//   UPDATE_GOLDEN=1 npx vitest run test/unit/golden.test.ts
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planCluster } from '../../src/plan/plan.js';
import type { IgnitionConfig } from '../../src/render/ignition-types.js';
import { renderCluster } from '../../src/render/node.js';
import { loadTemplates } from '../../src/render/templates.js';
import { validConfig, type ConfigOverrides } from '../helpers/configs.js';
import { FAKE_PKI } from '../helpers/fake-pki.js';

const GOLDEN_DIR = join(import.meta.dirname, '..', 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const REGISTRY_CA = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'registries', 'ca.pem'), 'utf8');

const CASES: Record<string, ConfigOverrides> = {
  'containerd-1.36-ha': { version: 'v1.36.3', runtime: 'containerd' },
  'crio-1.37-single-rebase': {
    version: 'v1.37.2',
    runtime: 'crio',
    controlPlane: { count: 1 },
    workers: { count: 1 },
    releaseImage: 'registry.example/nestos-k8s:1.37.2',
    kubernetes: { controlPlaneEndpoint: 'api.demo.example:6443' },
  },
  // The API on a keepalived VIP: control planes get keepalived, its health check and the VRRP password.
  'containerd-1.37-vip': {
    version: 'v1.37.2',
    runtime: 'containerd',
    workers: { count: 1 },
    platform: {
      libvirt: {
        image: '/var/lib/libvirt/images/nestos.qcow2',
        network: { cidr: '192.168.132.0/24' },
        apiEndpoint: { type: 'vip' },
      },
    },
  },
  // A disconnected site: every image from one mirror, reached over plain HTTP, plus a registry behind
  // a private CA and one with a self-signed certificate.
  'containerd-1.37-airgap': {
    version: 'v1.37.2',
    runtime: 'containerd',
    controlPlane: { count: 1 },
    workers: { count: 1 },
    kubernetes: { imageRepository: '10.0.0.1:5000/k8s' },
    registries: [
      { host: '10.0.0.1:5000', plainHTTP: true },
      { host: 'registry.corp.example', ca: REGISTRY_CA },
      { host: 'lab.example:8443', insecureSkipVerify: true },
    ],
  },
};

/** A reviewable view of a config: the JSON without data URLs, then every file decoded. */
function decodedView(config: IgnitionConfig): string {
  const files = config.storage?.files ?? [];
  const skeleton = {
    ...config,
    storage: { ...config.storage, files: files.map((f) => ({ ...f, contents: { source: '(below)' } })) },
  };
  const parts = [JSON.stringify(skeleton, null, 2)];
  for (const file of files) {
    const body = Buffer.from(file.contents.source.replace(/^data:;base64,/, ''), 'base64').toString('utf8');
    parts.push(`===== ${file.path} (mode ${file.mode.toString(8)}) =====\n${body}`);
  }
  return `${parts.join('\n')}\n`;
}

function compare(path: string, actual: string): void {
  if (UPDATE) {
    writeFileSync(path, actual);
    return;
  }
  expect(existsSync(path), `missing golden file ${path}; run with UPDATE_GOLDEN=1`).toBe(true);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

describe.each(Object.entries(CASES))('golden rendering: %s', (name, overrides) => {
  const dir = join(GOLDEN_DIR, name);
  const rendered = renderCluster({
    plan: planCluster(validConfig(overrides)),
    pki: FAKE_PKI,
    templates: loadTemplates(),
  });
  if (UPDATE) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }

  it('renders exactly the golden set of nodes', () => {
    const expected = rendered
      .flatMap((r) => [`${r.node.name}.ign`, `${r.node.name}.kubeadm.yaml`, `${r.node.name}.view.txt`])
      .sort();
    if (!UPDATE) expect(readdirSync(dir).sort()).toEqual(expected);
  });

  it.each(rendered.map((r) => [r.node.name, r]))(
    '%s matches its golden Ignition, kubeadm and decoded view',
    (_n, r) => {
      compare(join(dir, `${r.node.name}.ign`), r.ignitionText);
      compare(join(dir, `${r.node.name}.kubeadm.yaml`), r.kubeadmText);
      compare(join(dir, `${r.node.name}.view.txt`), decodedView(r.ignition));
    },
  );
});
