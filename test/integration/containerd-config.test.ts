// The containerd files nkd renders, read by a real containerd (Debian's package): config.toml must
// parse and carry the mirror's pause image and the hosts.toml directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { planCluster } from '../../src/plan/plan.js';
import { renderCluster } from '../../src/render/node.js';
import { loadTemplates } from '../../src/render/templates.js';
import { validConfig } from '../helpers/configs.js';
import { FAKE_PKI } from '../helpers/fake-pki.js';
import { describeReal } from '../helpers/real.js';

const CA = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'registries', 'ca.pem'), 'utf8');

const containerd = {
  missing: () =>
    spawnSync('containerd', ['--version']).status === 0
      ? undefined
      : 'containerd is not installed (apt-get install containerd)',
};

function renderedFile(path: string): string {
  const plan = planCluster(
    validConfig({
      controlPlane: { count: 1 },
      workers: { count: 0 },
      kubernetes: { imageRepository: '10.0.0.1:5000/k8s' },
      registries: [
        { host: '10.0.0.1:5000', plainHTTP: true },
        { host: 'registry.corp.example', ca: CA },
      ],
    }),
  );
  const [node] = renderCluster({ plan, pki: FAKE_PKI, templates: loadTemplates() });
  const file = node!.ignition.storage?.files?.find((f) => f.path === path);
  if (!file) throw new Error(`no ${path} rendered`);
  return Buffer.from(file.contents.source.replace(/^data:;base64,/, ''), 'base64').toString('utf8');
}

describeReal('containerd reads the rendered config.toml', containerd, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nkd-containerd-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parses it and keeps the mirror pause image and the hosts.toml directory', () => {
    const config = join(dir, 'config.toml');
    writeFileSync(config, renderedFile('/etc/containerd/config.toml'));
    const dump = execFileSync('containerd', ['--config', config, 'config', 'dump'], { encoding: 'utf8' });
    expect(dump).toMatch(/sandbox_image = "10\.0\.0\.1:5000\/k8s\/pause:3\.10\.2"/);
    expect(dump).toMatch(/config_path = "\/etc\/containerd\/certs\.d"/);
    expect(dump).toMatch(/SystemdCgroup = true/);
  });

  it('refuses a config whose string was not quoted for TOML (the check can fail)', () => {
    const config = join(dir, 'broken.toml');
    writeFileSync(config, 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "a"b"\n');
    const result = spawnSync('containerd', ['--config', config, 'config', 'dump'], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/failed to load TOML/);
  });
});
