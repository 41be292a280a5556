// The Housekeeper image's entrypoint as the kubelet would start it, and the ties between the
// Containerfile, package.json and the install manifests (no container engine runs here to build it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { housekeeperManifests } from '../../src/addons/housekeeper/manifests.js';
import { assertBuilt, REPO_ROOT } from '../helpers/cli.js';

const ENTRY = join(REPO_ROOT, 'bin', 'housekeeper.js');

async function run(args: string[], env: Record<string, string> = {}) {
  assertBuilt();
  return execa(process.execPath, [ENTRY, ...args], {
    reject: false,
    env: { PATH: '/usr/bin:/bin', ...env },
    extendEnv: false,
    timeout: 20_000,
  });
}

describe('nkd-housekeeper entrypoint', () => {
  it('without a role prints its usage and exits 2', async () => {
    const r = await run([]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/usage: nkd-housekeeper operator\|agent/);
  });

  it('outside a pod says so in one line and exits 1', async () => {
    for (const role of ['operator', 'agent']) {
      const r = await run([role]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr.trim()).toMatch(/^nkd-housekeeper: not running in a Kubernetes pod/);
    }
  });

  it('is the command both workloads run, the package bin and the image entrypoint', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin['nkd-housekeeper']).toBe('./bin/housekeeper.js');
    const containerfile = readFileSync(join(REPO_ROOT, 'Containerfile'), 'utf8');
    expect(containerfile).toContain('ENTRYPOINT ["nkd-housekeeper"]');
    expect(containerfile).toContain('ln -s /app/bin/housekeeper.js /usr/local/bin/nkd-housekeeper');
    const workloads = housekeeperManifests({ image: 'x/y:z', nkdVersion: '0.1.0' }).filter((o) =>
      ['Deployment', 'DaemonSet'].includes(o.kind),
    ) as unknown as { kind: string; spec: { template: { spec: { containers: { command: string[] }[] } } } }[];
    const commands = workloads.map((w) => w.spec.template.spec.containers[0]!.command);
    expect(commands).toEqual(
      expect.arrayContaining([
        ['nkd-housekeeper', 'operator'],
        ['nkd-housekeeper', 'agent'],
      ]),
    );
  });
});
