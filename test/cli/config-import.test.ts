// `nkd config import` through the real binary: every fixture converts (exit 0) into a config that
// `nkd validate` accepts, warnings are `warning: FILE:LINE:COL: key: message` lines on stderr, and the usual
// usage errors (missing input, existing output) exit 2 with one line.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  lineOf,
  nonEmptyLines,
  REPO_ROOT,
  removeTempDirs,
  sandbox,
  writeConfig,
  type RunResult,
  type Sandbox,
} from '../helpers/cli.js';

afterAll(removeTempDirs);

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'nkd-original');
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOr0p0VZ7Qv4Jm6a8bq2L9t3Kc5d1XyWnE0sUfHgRiTj ops@example';

/** The HA fixture copied into the sandbox next to the public key file it names. */
function haFixture(sb: Sandbox): string {
  const file = join(sb.root, 'cluster_config.yaml');
  copyFileSync(join(FIXTURES, 'libvirt-ha.yaml'), file);
  writeFileSync(join(sb.root, 'id_ed25519.pub'), `${KEY}\n`);
  mkdirSync(join(sb.root, 'manifests')); // its postHookYaml directory, which validate checks exists
  return file;
}

function singleErrorLine(r: RunResult): string {
  const lines = nonEmptyLines(r.stderr);
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stdout).toBe('');
  return lines[0]!;
}

const WARNING_LINE = /^warning: (\S+): (\S+): (.+)$/;

describe.concurrent('nkd config import', () => {
  it.each(['libvirt-template.yaml', 'openstack-template.yaml', 'libvirt-ha.yaml'])(
    '%s converts (exit 0) into a config that nkd validate accepts, from a file and from stdin',
    async (name) => {
      const sb = sandbox();
      const source = name === 'libvirt-ha.yaml' ? haFixture(sb) : join(FIXTURES, name);
      const r = await sb.run(['config', 'import', source]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(
        `# Converted by \`nkd config import\` from the NKD config ${source}.`,
      );
      expect(r.stdout).toContain('kind: Cluster');
      for (const line of nonEmptyLines(r.stderr)) expect(line).toMatch(WARNING_LINE);

      const file = writeConfig(sb.root, r.stdout, 'converted.yaml');
      const [fromFile, fromStdin] = await Promise.all([
        sb.run(['validate', '-f', file]),
        sb.run(['validate', '-f', '-'], { input: r.stdout }),
      ]);
      expect(fromFile.exitCode, fromFile.stderr).toBe(0);
      expect(fromStdin.exitCode, fromStdin.stderr).toBe(0);
    },
  );

  it('warns once per dropped secret, on stderr, and never prints the secret', async () => {
    const source = join(FIXTURES, 'openstack-template.yaml');
    const r = await sandbox().run(['config', 'import', source]);
    expect(r.exitCode, r.stderr).toBe(0);
    const warnings = nonEmptyLines(r.stderr).map((l) => WARNING_LINE.exec(l)!);
    const paths = warnings.map((m) => m[2]);
    for (const key of [
      'password',
      'kubernetes.certificateKey',
      'infraPlatform.password',
      'infraPlatform.authURL',
    ]) {
      expect(
        paths.filter((p) => p === key),
        key,
      ).toHaveLength(1);
    }
    expect(warnings.every((m) => m[1]!.startsWith(`${source}:`))).toBe(true);
    expect(r.stdout + r.stderr).not.toContain('dummy-not-a-real-password');
  });

  it('carries the public key file over into sshAuthorizedKeys', async () => {
    const sb = sandbox();
    const r = await sb.run(['config', 'import', haFixture(sb)]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`- ${KEY}\n`);
  });

  it('-o FILE writes exactly what stdout gets, and the file validates', async () => {
    const sb = sandbox();
    const source = join(FIXTURES, 'libvirt-template.yaml');
    const out = join(sb.root, 'cluster.yaml');
    const [printed, written] = await Promise.all([
      sb.run(['config', 'import', source]),
      sb.run(['config', 'import', source, '-o', out]),
    ]);
    expect(written.exitCode, written.stderr).toBe(0);
    expect(written.stdout).toBe('');
    expect(written.stderr).toContain(`Wrote ${out}`);
    expect(readFileSync(out, 'utf8')).toBe(printed.stdout);
    const v = await sb.run(['validate', '-f', out]);
    expect(v.exitCode, v.stderr).toBe(0);
  });

  it('-o refuses to overwrite an existing file (exit 2, file unchanged) unless --force', async () => {
    const sb = sandbox();
    const source = join(FIXTURES, 'libvirt-template.yaml');
    const out = writeConfig(sb.root, 'keep me\n', 'existing.yaml');
    const refused = await sb.run(['config', 'import', source, '-o', out]);
    expect(refused.exitCode).toBe(2);
    expect(singleErrorLine(refused)).toMatch(/already exists.*--force/);
    expect(readFileSync(out, 'utf8')).toBe('keep me\n');

    const forced = await sb.run(['config', 'import', source, '-o', out, '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('kind: Cluster');
  });

  it('a missing file exits 2 with one line', async () => {
    const sb = sandbox();
    const r = await sb.run(['config', 'import', join(sb.root, 'nope.yaml')]);
    expect(r.exitCode).toBe(2);
    expect(singleErrorLine(r)).toBe(`nkd: cannot read ${join(sb.root, 'nope.yaml')}: no such file`);
  });

  it('refuses pxe (exit 3) naming the key, and writes nothing', async () => {
    const sb = sandbox();
    const text = readFileSync(join(FIXTURES, 'libvirt-template.yaml'), 'utf8').replace(
      'platform: libvirt',
      'platform: pxe',
    );
    const source = writeConfig(sb.root, text, 'cluster_config.yaml');
    const out = join(sb.root, 'out.yaml');
    const r = await sb.run(['config', 'import', source, '-o', out]);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('');
    // Only what stops the import is printed: the problem line and the summary.
    // At the value, FILE:LINE:COL like validate.
    const line = lineOf(text, 'platform: pxe');
    const col = text.split('\n')[line - 1]!.indexOf('pxe') + 1;
    expect(nonEmptyLines(r.stderr)).toEqual([
      `${source}:${line}:${col}: platform: pxe is not supported: nkd deploys on libvirt or openstack only (it has no bare-metal PXE/iPXE install)`,
      `nkd: cannot import ${source} (1 problem)`,
    ]);
    expect(() => readFileSync(out)).toThrow();
  });

  it('--json prints the config and the warnings as one JSON document', async () => {
    const source = join(FIXTURES, 'libvirt-template.yaml');
    const r = await sandbox().run(['config', 'import', source, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const json = JSON.parse(r.stdout) as {
      source: string;
      output: string | null;
      config: string;
      warnings: { file: string; path: string; message: string }[];
    };
    expect(json.source).toBe(source);
    expect(json.output).toBeNull();
    expect(json.config).toContain('kind: Cluster');
    expect(json.warnings).toContainEqual(expect.objectContaining({ file: source, path: 'password' }));
  });

  it('--help shows the examples', async () => {
    const r = await sandbox().run(['config', 'import', '--help']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('$ nkd config import cluster_config.yaml -o cluster.yaml');
  });
});
