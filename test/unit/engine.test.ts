import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolvePassphrase } from '../../src/engine/passphrase.js';
import { engineError } from '../../src/engine/errors.js';
import { findPulumiCli } from '../../src/engine/pulumi-cli.js';
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

describe('resolvePassphrase', () => {
  it('uses NKD_PASSPHRASE, then NKD_PASSPHRASE_FILE, else generates one kept 0600 and reused', () => {
    const dir = temp();
    expect(resolvePassphrase(dir, { NKD_PASSPHRASE: 'team-secret' })).toBe('team-secret');
    const file = join(dir, 'pp');
    writeFileSync(file, 'from-file\n');
    expect(resolvePassphrase(dir, { NKD_PASSPHRASE_FILE: file })).toBe('from-file');
    const engineDir = join(dir, 'engine');
    const generated = resolvePassphrase(engineDir, {});
    expect(generated).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(statSync(join(engineDir, 'passphrase')).mode & 0o777).toBe(0o600);
    expect(resolvePassphrase(engineDir, {})).toBe(generated);
    expect(readFileSync(join(engineDir, 'passphrase'), 'utf8').trim()).toBe(generated);
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
