// The provisioning entry points as far as they can run here: there is no Pulumi CLI on these machines
// (and none can be downloaded), so these tests pin what users get without it, and that nothing is
// written before the engine and the user's confirmation are there.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, removeTempDirs, sandbox, tempDir } from '../helpers/cli.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'libvirt.yaml');
/** A PATH with the system tools but certainly no pulumi. */
const NO_PULUMI_PATH = '/usr/bin:/bin';

afterAll(removeTempDirs);

/**
 * A stand-in `pulumi` that reports a supported version (so the preflight's version check passes) but
 * fails every other call, as a broken installation would.
 */
function brokenPulumiRoot(): string {
  const root = tempDir('nkd-fake-pulumi-');
  mkdirSync(join(root, 'bin'));
  const bin = join(root, 'bin', 'pulumi');
  writeFileSync(
    bin,
    '#!/bin/sh\n[ "$1" = version ] && { echo v3.248.0; exit 0; }\necho "pulumi: cannot run here" >&2\nexit 1\n',
  );
  chmodSync(bin, 0o755);
  return root;
}

describe.concurrent('deploy and destroy without a usable Pulumi CLI', () => {
  it('deploy exits 5 within seconds, naming the missing CLI and how to install it, writing nothing', async () => {
    const sb = sandbox();
    const started = Date.now();
    const r = await sb.run(['deploy', '-f', EXAMPLE, '--state-dir', sb.state], {
      env: { PATH: NO_PULUMI_PATH },
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.exitCode).toBe(5);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Pulumi CLI was not found.*install.*NKD_PULUMI_ROOT/);
    expect(existsSync(sb.state)).toBe(false);
  });

  it('names the exact path when NKD_PULUMI_ROOT points at a directory without the CLI', async () => {
    const sb = sandbox();
    const empty = tempDir('nkd-no-pulumi-');
    const r = await sb.run(['deploy', '-f', EXAMPLE, '--state-dir', sb.state], {
      env: { NKD_PULUMI_ROOT: empty },
    });
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toContain(join(empty, 'bin', 'pulumi'));
    expect(existsSync(sb.state)).toBe(false);
  });

  it('refuses to provision without --yes when not on a terminal, after showing the plan, writing nothing', async () => {
    const sb = sandbox();
    const r = await sb.run(['deploy', '-f', EXAMPLE, '--state-dir', sb.state], {
      env: { NKD_PULUMI_ROOT: brokenPulumiRoot() },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toMatch(/demo-cp-1/);
    expect(r.stderr).toMatch(/not a terminal; pass --yes/);
    expect(existsSync(sb.state)).toBe(false);
  });

  it('destroy of a cluster with no state says there is nothing to destroy, exits 0 and creates nothing', async () => {
    const sb = sandbox();
    const r = await sb.run(['destroy', 'nope', '--yes', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/No cluster named nope in .*nothing to destroy/);
    expect(existsSync(join(sb.state, 'clusters', 'nope'))).toBe(false);
  });

  it('destroy of a provisioned cluster without the CLI exits 5 and keeps the cluster state', async () => {
    const sb = sandbox();
    expect((await sb.run(['deploy', '-f', EXAMPLE, '--dry-run', '--state-dir', sb.state])).exitCode).toBe(0);
    mkdirSync(join(sb.state, 'clusters', 'demo', 'engine')); // as a provisioning leaves it
    const r = await sb.run(['destroy', 'demo', '--yes', '--state-dir', sb.state], {
      env: { PATH: NO_PULUMI_PATH },
    });
    expect(r.exitCode).toBe(5);
    expect(existsSync(join(sb.state, 'clusters', 'demo', 'pki', 'ca.key'))).toBe(true);
  });

  it('a shared --backend without a passphrase in the environment exits 2 before any engine work, naming the passphrase generated earlier', async () => {
    const sb = sandbox();
    expect((await sb.run(['deploy', '-f', EXAMPLE, '--dry-run', '--state-dir', sb.state])).exitCode).toBe(0);
    const engineDir = join(sb.state, 'clusters', 'demo', 'engine');
    mkdirSync(engineDir);
    writeFileSync(join(engineDir, 'passphrase'), 'generated-on-this-machine\n', { mode: 0o600 });
    const backend = `file://${join(sb.root, 'team-backend')}`;
    const r = await sb.run(['destroy', 'demo', '--yes', '--state-dir', sb.state, '--backend', backend], {
      env: {
        NKD_PULUMI_ROOT: brokenPulumiRoot(),
        PULUMI_CONFIG_PASSPHRASE: undefined,
        PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
      },
    });
    expect(r.exitCode, r.stderr).toBe(2);
    const line = r.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(/shared Pulumi backend .*set NKD_PASSPHRASE_FILE/);
    expect(line).toContain(`generated one is in ${join(engineDir, 'passphrase')}`);
    expect(r.stderr).not.toContain('generated-on-this-machine');
    expect(existsSync(join(sb.root, 'team-backend'))).toBe(false);
  });

  it('destroy of a cluster that was only rendered needs no Pulumi CLI and removes its state', async () => {
    const sb = sandbox();
    expect((await sb.run(['deploy', '-f', EXAMPLE, '--dry-run', '--state-dir', sb.state])).exitCode).toBe(0);
    const r = await sb.run(['destroy', 'demo', '--yes', '--state-dir', sb.state], {
      env: { PATH: NO_PULUMI_PATH },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/never provisioned/);
    expect(existsSync(join(sb.state, 'clusters', 'demo'))).toBe(false);
  });

  it('destroy without --yes off a terminal refuses and keeps the state', async () => {
    const sb = sandbox();
    expect((await sb.run(['deploy', '-f', EXAMPLE, '--dry-run', '--state-dir', sb.state])).exitCode).toBe(0);
    const r = await sb.run(['destroy', 'demo', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/pass --yes/);
    expect(existsSync(join(sb.state, 'clusters', 'demo', 'pki', 'ca.key'))).toBe(true);
  });
});

describe('OpenStack dry-run', () => {
  it('writes each node\u2019s pointer config (its user data), 0600 and far under Nova\u2019s limit', async () => {
    const sb = sandbox();
    const example = join(REPO_ROOT, 'examples', 'openstack.yaml');
    const r = await sb.run(['deploy', '-f', example, '--dry-run', '--state-dir', sb.state]);
    expect(r.exitCode, r.stderr).toBe(0);
    const dir = join(sb.state, 'clusters', 'prod', 'assets', 'pointer');
    expect(r.stdout).toContain(dir);
    const files = readdirSync(dir).sort();
    expect(files).toEqual([
      'prod-cp-1.ign',
      'prod-cp-2.ign',
      'prod-cp-3.ign',
      'prod-worker-1.ign',
      'prod-worker-2.ign',
      'prod-worker-3.ign',
    ]);
    for (const file of files) {
      const text = readFileSync(join(dir, file), 'utf8');
      expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
      expect(Buffer.from(text).toString('base64').length).toBeLessThan(65_535 / 4);
      const merge = JSON.parse(text).ignition.config.merge[0];
      expect(merge.source).toBe(`https://203.0.113.10:22623/ignition/${file.replace(/\.ign$/, '')}`);
      expect(text).not.toContain('PRIVATE KEY');
    }
  });
});

describe('OpenStack deploy preflight', () => {
  it('refuses before asking or writing anything when the Ignition service address is not set', async () => {
    const sb = sandbox();
    const text = readFileSync(join(REPO_ROOT, 'examples', 'openstack.yaml'), 'utf8').replace(
      /\n\s+ignitionService:\n\s+advertise: [^\n]*/,
      '',
    );
    expect(text).not.toContain('advertise');
    const file = join(sb.root, 'openstack.yaml');
    writeFileSync(file, text);
    const r = await sb.run(['deploy', '-f', file, '--yes', '--state-dir', sb.state], {
      env: { NKD_PULUMI_ROOT: brokenPulumiRoot() },
    });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/spec\.platform\.openstack\.ignitionService\.advertise is not set/);
    // ...at its place in the file, as validate reports it.
    expect(r.stderr).toMatch(
      /^.*openstack\.yaml:\d+:\d+: spec\.platform\.openstack\.ignitionService\.advertise: is not set/m,
    );
    expect(existsSync(sb.state)).toBe(false);
  });
});

describe('OpenStack deploy preflight on a malformed address', () => {
  it('names an advertise address without a port before asking or writing anything', async () => {
    const sb = sandbox();
    const text = readFileSync(join(REPO_ROOT, 'examples', 'openstack.yaml'), 'utf8').replace(
      'advertise: 203.0.113.10:22623',
      'advertise: 203.0.113.10',
    );
    const file = join(sb.root, 'openstack.yaml');
    writeFileSync(file, text);
    const r = await sb.run(['deploy', '-f', file, '--yes', '--state-dir', sb.state], {
      env: { NKD_PULUMI_ROOT: brokenPulumiRoot() },
    });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(
      /openstack\.yaml:\d+:\d+: spec\.platform\.openstack\.ignitionService\.advertise: "203\.0\.113\.10" must be host:port/,
    );
    expect(existsSync(sb.state)).toBe(false);
  });
});
