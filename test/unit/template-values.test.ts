// Values reach the node templates unescaped (shell, systemd units, TOML): the config refuses what could
// break out of them, and rendering refuses anything that slipped through.
import { describe, expect, it } from 'vitest';
import { parseClusterConfig } from '../../src/config/load.js';
import { loadTemplates, renderTemplate } from '../../src/render/templates.js';
import { configYaml } from '../helpers/configs.js';

const INJECTION = "registry.k8s.io\nExecStartPre=/bin/sh -c 'touch /pwned'\n#";

function problemsFor(imageRepository: string) {
  const { errors } = parseClusterConfig(configYaml({ kubernetes: { imageRepository } }), 'c.yaml');
  return errors.filter((e) => String(e.path) === 'spec.kubernetes.imageRepository');
}

describe('kubernetes.imageRepository', () => {
  it.each([
    INJECTION,
    'registry.k8s.io"\nsandbox_image = "evil',
    'registry.k8s.io $(id)',
    'registry.k8s.io/pause:3.9',
    'registry.k8s.io/',
    'https://registry.k8s.io',
    'reg%istry',
    'a'.repeat(256),
  ])('%j is refused at its line, in one line, as a registry and path', (value) => {
    const problems = problemsFor(value);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/must be host\[:port\]\[\/path\]/);
    expect(problems[0]!.message).not.toContain('\n');
    expect(problems[0]!.line).toBeGreaterThan(0);
  });

  it.each([
    'registry.k8s.io',
    'registry.example:5000',
    'registry.example:5000/k8s',
    'registry.aliyuncs.com/google_containers',
    'docker.io/library',
    'localhost:5000/a-b/c.d',
  ])('%j is accepted', (value) => {
    expect(problemsFor(value)).toEqual([]);
  });
});

describe('renderTemplate', () => {
  const templates = loadTemplates();

  it.each([
    ['runtime/containerd/etc/containerd/config.toml', { pauseImage: 'registry.k8s.io/pause:3.9"\n[x]' }],
    [
      'runtime/docker/etc/systemd/system/cri-docker.service.d/20-nkd.conf',
      { pauseImage: `${INJECTION}/pause:3.9` },
    ],
    ['common/usr/local/bin/nkd-rebase', { image: 'registry.example/nestos:1 ; rm -rf /' }],
    ['common/etc/systemd/system/nkd-rebase.service', { image: 'registry.example/nestos:%n' }],
  ])('refuses a value unsafe in %s (a bug: validation must have refused it)', (key, context) => {
    expect(() => renderTemplate(templates, key, context)).toThrow(/has characters unsafe there/);
  });

  it('renders validated values as they are', () => {
    const text = renderTemplate(templates, 'runtime/containerd/etc/containerd/config.toml', {
      pauseImage: 'registry.example:5000/k8s/pause:3.9',
      certsDir: '/etc/containerd/certs.d',
    });
    expect(text).toContain('sandbox_image = "registry.example:5000/k8s/pause:3.9"');
  });
});
