import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { edit, REPO_ROOT, removeTempDirs, sandbox, writeConfig } from '../helpers/cli.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'libvirt.yaml');

afterAll(removeTempDirs);

describe.concurrent('errors and state handling', () => {
  it('an unknown command is a usage error (exit 2) with one line listing the commands', async () => {
    const r = await sandbox().run(['deploi']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown command "deploi".*deploy/);
  });

  it('deploy --json on an invalid config gives structured problems with positions', async () => {
    const sb = sandbox();
    const file = writeConfig(
      sb.root,
      edit(readFileSync(EXAMPLE, 'utf8'), 'runtime: containerd', 'runtime: rkt'),
    );
    const r = await sb.run(['deploy', '-f', file, '--dry-run', '--json', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(3);
    const { error } = JSON.parse(r.stdout);
    expect(error.exitCode).toBe(3);
    expect(error.problems).toContainEqual(
      expect.objectContaining({
        path: 'spec.runtime',
        severity: 'error',
        file,
        line: expect.any(Number),
        col: expect.any(Number),
      }),
    );
    expect(existsSync(sb.state)).toBe(false);
  });

  it('deploy --json reports the cluster directory', async () => {
    const sb = sandbox();
    const r = await sb.run(['deploy', '-f', EXAMPLE, '--dry-run', '--json', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).clusterDir).toBe(join(sb.state, 'clusters', 'demo'));
  });

  it('refuses to regenerate a PKI with files missing: exit 4, naming them, CA untouched', async () => {
    const sb = sandbox();
    const args = ['deploy', '-f', EXAMPLE, '--dry-run', '--state-dir', sb.state];
    expect((await sb.run(args)).exitCode).toBe(0);
    const pki = join(sb.state, 'clusters', 'demo', 'pki');
    const caKey = readFileSync(join(pki, 'ca.key'));
    rmSync(join(pki, 'sa.key'));
    const r = await sb.run(args);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/incomplete, missing: sa\.key/);
    expect(readFileSync(join(pki, 'ca.key'))).toEqual(caKey);
    expect(existsSync(join(sb.state, 'clusters', 'demo', '.lock'))).toBe(false);
  });

  it('refuses while another live nkd holds the cluster lock (exit 4)', async () => {
    const sb = sandbox();
    const args = ['deploy', '-f', EXAMPLE, '--dry-run', '--state-dir', sb.state];
    expect((await sb.run(args)).exitCode).toBe(0);
    // PID 1 always exists: it stands for another nkd still running.
    writeFileSync(join(sb.state, 'clusters', 'demo', '.lock'), '1\n');
    const r = await sb.run(args);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/another nkd \(pid 1\) is working on cluster demo/);
  });

  it('keeps the debug log bounded by rotating it past 1 MiB', async () => {
    const sb = sandbox();
    const args = ['deploy', '-f', EXAMPLE, '--dry-run', '--state-dir', sb.state];
    expect((await sb.run(args)).exitCode).toBe(0);
    const log = join(sb.state, 'clusters', 'demo', 'logs', 'nkd-debug.log');
    writeFileSync(log, 'x'.repeat(1024 * 1024 + 1));
    expect((await sb.run(args)).exitCode).toBe(0);
    expect(statSync(`${log}.1`).size).toBe(1024 * 1024 + 1);
    expect(statSync(log).size).toBeLessThan(100_000);
  });
});

describe('nkd kubeconfig', () => {
  it('prints the admin kubeconfig, and merges it into a kubeconfig file kept 0600', async () => {
    const sb = sandbox();
    expect((await sb.run(['deploy', '-f', EXAMPLE, '--dry-run', '--state-dir', sb.state])).exitCode).toBe(0);
    const printed = await sb.run(['kubeconfig', 'demo', '--state-dir', sb.state]);
    expect(printed.exitCode).toBe(0);
    expect(printed.stdout).toContain('current-context: nkd-admin@demo');
    const target = join(sb.root, 'kube', 'config');
    const merged = await sb.run([
      'kubeconfig',
      'demo',
      '--merge',
      '--kubeconfig',
      target,
      '--state-dir',
      sb.state,
    ]);
    expect(merged.exitCode, merged.stderr).toBe(0);
    expect(merged.stdout).toMatch(/Added context nkd-admin@demo/);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readFileSync(target, 'utf8')).toContain('server: https://192.168.132.2:6443');
  });

  it('says when the cluster has no kubeconfig (exit 4)', async () => {
    const sb = sandbox();
    const r = await sb.run(['kubeconfig', 'ghost', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/no kubeconfig for cluster ghost/);
  });
});

describe.concurrent('stdin and argument errors', () => {
  it('validates a config piped on stdin with -f -, naming it <stdin>', async () => {
    const sb = sandbox();
    const text = readFileSync(EXAMPLE, 'utf8');
    const ok = await sb.run(['validate', '-f', '-'], { input: text });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toMatch(/<stdin> is valid/);
    const bad = await sb.run(['validate', '-f', '-'], {
      input: edit(text, 'runtime: containerd', 'runtime: rkt'),
    });
    expect(bad.exitCode).toBe(3);
    expect(bad.stderr).toMatch(/^<stdin>:\d+:\d+: spec\.runtime: must be one of/m);
  });

  it('names a missing argument in one readable line', async () => {
    const r = await sandbox().run(['destroy']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe('nkd: Missing 1 required arg: name Cluster name (see --help)');
  });
});

describe('flag values', () => {
  it('an out-of-range flag value is a one-line usage error, not an internal one', async () => {
    const sb = sandbox();
    const r = await sb.run(['deploy', '-f', EXAMPLE, '--fetch-timeout', '0', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--fetch-timeout.*must be longer than zero/);
    expect(existsSync(sb.state)).toBe(false);
  });
});
