import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolvePassphrase } from '../../src/engine/passphrase.js';
import { engineError } from '../../src/engine/errors.js';
import { cliVersionProblem, findPulumiCli, parseCliVersion } from '../../src/engine/pulumi-cli.js';
import { pluginFileNames } from '../../src/engine/plugins.js';
import { stackPaths } from '../../src/engine/stack.js';
import { ExitCode, NkdError } from '../../src/errors.js';

const dirs: string[] = [];
function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nkd-engine-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function fakeCli(dir: string): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  const bin = join(dir, 'bin', 'pulumi');
  writeFileSync(bin, '#!/bin/sh\nexit 0\n');
  chmodSync(bin, 0o755);
  return bin;
}

describe('findPulumiCli', () => {
  it('prefers an explicit root, then PATH, then ~/.pulumi/bin', () => {
    const root = temp();
    const bin = fakeCli(root);
    expect(findPulumiCli(root, { PATH: '' })).toEqual({ root, binary: bin });
    expect(findPulumiCli(undefined, { PATH: `/nonexistent:${join(root, 'bin')}` })).toEqual({
      root: undefined,
      binary: bin,
    });
    const home = temp();
    const homeBin = fakeCli(join(home, '.pulumi'));
    expect(findPulumiCli(undefined, { PATH: '/nonexistent', HOME: home })).toEqual({
      root: join(home, '.pulumi'),
      binary: homeBin,
    });
  });

  it('says what to install, with the prerequisite exit code, when there is none', () => {
    let caught: unknown;
    try {
      findPulumiCli(undefined, { PATH: '/nonexistent', HOME: temp() });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NkdError);
    expect((caught as NkdError).exitCode).toBe(ExitCode.Prerequisite);
    expect((caught as NkdError).message).toMatch(/Pulumi CLI was not found.*pulumi\.com.*NKD_PULUMI_ROOT/);
  });
});

describe('stackPaths', () => {
  it('keeps the stack and a file:// backend inside the cluster state unless a backend URL is given', () => {
    expect(stackPaths('/s/clusters/demo', undefined)).toEqual({
      engineDir: '/s/clusters/demo/engine',
      workDir: '/s/clusters/demo/engine/workspace',
      backendUrl: 'file:///s/clusters/demo/engine/backend',
    });
    expect(stackPaths('/s/clusters/demo', 's3://bucket/nkd').backendUrl).toBe('s3://bucket/nkd');
  });
});

describe('the Pulumi CLI version check', () => {
  it('parses what `pulumi version` prints, release or pre-release', () => {
    expect(parseCliVersion('v3.248.0\n')).toEqual([3, 248, 0]);
    expect(parseCliVersion('v3.181.1-alpha.1734+gabc')).toEqual([3, 181, 1]);
    expect(parseCliVersion('')).toBeUndefined();
  });

  it('accepts 3.181.0 and newer, refuses older or unversioned CLIs (exit 5) naming found and needed', () => {
    expect(cliVersionProblem('/p/bin/pulumi', 'v3.181.0')).toBeUndefined();
    expect(cliVersionProblem('/p/bin/pulumi', 'v4.0.0')).toBeUndefined();
    const old = cliVersionProblem('/p/bin/pulumi', 'v3.180.9\n');
    expect(old?.exitCode).toBe(ExitCode.Prerequisite);
    expect(old?.message).toMatch(
      /^the Pulumi CLI at \/p\/bin\/pulumi is v3\.180\.9; nkd needs v3\.181\.0 or newer: .*npm run tools/,
    );
    expect(cliVersionProblem('/p/bin/pulumi', '')?.message).toMatch(/reports no usable version/);
  });
});

describe('plugin files in a --plugin-dir', () => {
  it("are Pulumi's release tarball for this OS and CPU, then a bare binary", () => {
    expect(pluginFileNames({ name: 'openstack', version: '3.15.2' }, 'linux', 'x64')).toEqual([
      'pulumi-resource-openstack-v3.15.2-linux-amd64.tar.gz',
      'pulumi-resource-openstack-v3.15.2.tar.gz',
      'pulumi-resource-openstack-v3.15.2',
      'pulumi-resource-openstack',
    ]);
  });
});

describe('resolvePassphrase', () => {
  it('uses NKD_PASSPHRASE, then NKD_PASSPHRASE_FILE, else generates one kept 0600 and reused', () => {
    const dir = temp();
    expect(resolvePassphrase(dir, undefined, { NKD_PASSPHRASE: 'team-secret' })).toBe('team-secret');
    const file = join(dir, 'pp');
    writeFileSync(file, 'from-file\n');
    expect(resolvePassphrase(dir, undefined, { NKD_PASSPHRASE_FILE: file })).toBe('from-file');
    const engineDir = join(dir, 'engine');
    const generated = resolvePassphrase(engineDir, undefined, {});
    expect(generated).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(statSync(join(engineDir, 'passphrase')).mode & 0o777).toBe(0o600);
    expect(resolvePassphrase(engineDir, undefined, {})).toBe(generated);
    expect(readFileSync(join(engineDir, 'passphrase'), 'utf8').trim()).toBe(generated);
  });

  it("ignores Pulumi's own variables for nkd's local backend (the generated passphrase stays the stack's)", () => {
    const engineDir = join(temp(), 'engine');
    const generated = resolvePassphrase(engineDir, undefined, {});
    expect(resolvePassphrase(engineDir, undefined, { PULUMI_CONFIG_PASSPHRASE: 'other' })).toBe(generated);
  });

  it("takes a shared backend's passphrase from the environment only: NKD_* first, then PULUMI_CONFIG_*", () => {
    const dir = temp();
    const file = join(dir, 'team');
    writeFileSync(file, 'team-from-file\n');
    const shared = 'file:///shared/backend';
    expect(resolvePassphrase(dir, shared, { NKD_PASSPHRASE: 'a', PULUMI_CONFIG_PASSPHRASE: 'b' })).toBe('a');
    expect(resolvePassphrase(dir, shared, { PULUMI_CONFIG_PASSPHRASE: 'b' })).toBe('b');
    expect(resolvePassphrase(dir, shared, { PULUMI_CONFIG_PASSPHRASE_FILE: file })).toBe('team-from-file');
    expect(existsSync(join(dir, 'passphrase'))).toBe(false);
  });

  it('refuses a shared backend without a passphrase in the environment (exit 2), never generating one', () => {
    const engineDir = join(temp(), 'engine');
    const err = (() => {
      try {
        resolvePassphrase(engineDir, 's3://team/nkd', {});
      } catch (e) {
        return e as NkdError;
      }
      return undefined;
    })();
    expect(err?.exitCode).toBe(ExitCode.Usage);
    expect(err?.message).toMatch(/shared Pulumi backend .* set NKD_PASSPHRASE_FILE/);
    expect(existsSync(join(engineDir, 'passphrase'))).toBe(false);
  });

  it('points at the passphrase generated earlier when a shared backend now needs one given', () => {
    const engineDir = join(temp(), 'engine');
    resolvePassphrase(engineDir, undefined, {});
    expect(() => resolvePassphrase(engineDir, 's3://team/nkd', {})).toThrow(
      `this cluster's generated one is in ${join(engineDir, 'passphrase')}`,
    );
  });
});

describe('engineError', () => {
  it.each([
    ['error: the stack is currently locked by 1 lock(s)', ExitCode.State, /locked by another update/],
    [
      "error: no resource plugin 'pulumi-resource-openstack' found in the workspace at version v3.15.2",
      ExitCode.Prerequisite,
      /resource plugin openstack 3\.15\.2 is missing/,
    ],
    [
      'error: 1 error occurred: creating server: quota exceeded',
      ExitCode.Provisioning,
      /^provisioning failed: 1 error occurred: creating server: quota exceeded$/,
    ],
  ])('maps "%s" to exit %i with one clear line', (text, code, message) => {
    const err = engineError(new Error(`${text}\n  at stack trace line`), 'provisioning');
    expect(err.exitCode).toBe(code);
    expect(err.message).toMatch(message);
    expect(err.message).not.toMatch(/\n/);
  });
});
