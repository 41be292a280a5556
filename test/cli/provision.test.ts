// The provisioning entry points as far as they can run here: there is no Pulumi CLI on these machines
// (and none can be downloaded), so these tests pin what users get without it, and that nothing is
// written before the engine and the user's confirmation are there.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, removeTempDirs, sandbox, tempDir } from '../helpers/cli.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'libvirt.yaml');
/** A PATH with the system tools but certainly no pulumi. */
const NO_PULUMI_PATH = '/usr/bin:/bin';

afterAll(removeTempDirs);

/** A stand-in `pulumi` that exists but fails every call, as a broken installation would. */
function brokenPulumiRoot(): string {
  const root = tempDir('nkd-fake-pulumi-');
  mkdirSync(join(root, 'bin'));
  const bin = join(root, 'bin', 'pulumi');
  writeFileSync(bin, '#!/bin/sh\necho "pulumi: cannot run here" >&2\nexit 1\n');
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

  it('destroy of an unknown cluster exits 4 naming it', async () => {
    const sb = sandbox();
    const r = await sb.run(['destroy', 'nope', '--yes', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/no cluster named nope/);
  });

  it('destroy without the CLI exits 5 and keeps the cluster state', async () => {
    const sb = sandbox();
    expect((await sb.run(['deploy', '-f', EXAMPLE, '--dry-run', '--state-dir', sb.state])).exitCode).toBe(0);
    const r = await sb.run(['destroy', 'demo', '--yes', '--state-dir', sb.state], {
      env: { PATH: NO_PULUMI_PATH },
    });
    expect(r.exitCode).toBe(5);
    expect(existsSync(join(sb.state, 'clusters', 'demo', 'pki', 'ca.key'))).toBe(true);
  });
});
