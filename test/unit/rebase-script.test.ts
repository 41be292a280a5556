/**
 * The first-boot rebase script (templates/common/usr/local/bin/nkd-rebase.hbs), rendered and run by the
 * real bash against a scripted rpm-ostree and systemctl on PATH. Its state directory is moved into a
 * scratch directory (the one line that names it is replaced); everything else runs as rendered.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadTemplates, renderTemplate } from '../../src/render/templates.js';

const IMAGE = 'registry.example.com/nestos/kubernetes:1.30';
const REF = `ostree-unverified-registry:${IMAGE}`;

/** `rpm-ostree status --booted` as rpm-ostree prints it: the origin on the boot-marker line. */
function statusText(origin: string): string {
  return [
    'State: idle',
    'Deployments:',
    `● ${origin}`,
    '                   Digest: sha256:0f7c9a3e2d1b',
    '                  Version: 24.03.20250601 (2025-06-01T08:00:00Z)',
    '',
  ].join('\n');
}

let dir: string;
let state: string;
let script: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nkd-rebase-'));
  state = join(dir, 'state');
  const bin = join(dir, 'bin');
  const rendered = renderTemplate(loadTemplates(), 'common/usr/local/bin/nkd-rebase', { image: IMAGE });
  const stateLine = 'STATE=/var/lib/nkd\n';
  expect(rendered.split(stateLine)).toHaveLength(2);
  script = join(dir, 'nkd-rebase');
  writeFileSync(script, rendered.replace(stateLine, `STATE=${state}\n`), { mode: 0o755 });
  mkdirSync(bin);
  // rpm-ostree: `status --booted` prints the scripted status; `rebase` is recorded.
  writeFileSync(
    join(bin, 'rpm-ostree'),
    `#!/bin/bash\nif [ "$1" = status ]; then cat "${dir}/status"; else echo "$*" >>"${dir}/calls"; fi\n`,
  );
  writeFileSync(join(bin, 'systemctl'), `#!/bin/bash\necho "systemctl $*" >>"${dir}/calls"\n`);
  chmodSync(join(bin, 'rpm-ostree'), 0o755);
  chmodSync(join(bin, 'systemctl'), 0o755);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function boot(origin: string): Promise<{ exitCode: number; calls: string[] }> {
  writeFileSync(join(dir, 'status'), statusText(origin));
  rmSync(join(dir, 'calls'), { force: true });
  const result = await execa('bash', [script], {
    reject: false,
    env: { PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`, LC_ALL: 'C' },
  });
  const calls = existsSync(join(dir, 'calls'))
    ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n')
    : [];
  return { exitCode: result.exitCode ?? -1, calls };
}

describe('nkd-rebase (first-boot rebase)', () => {
  it('rebases a node booted on another image and reboots, failing this start', async () => {
    const first = await boot('ostree-unverified-registry:quay.io/nestos/nestos:24.03');
    expect(first.exitCode).toBe(1);
    expect(first.calls).toEqual([`rebase --experimental ${REF}`, 'systemctl --no-block reboot']);
  });

  it('marks itself done once the node booted the release image', async () => {
    await boot('ostree-unverified-registry:quay.io/nestos/nestos:24.03');
    const second = await boot(REF);
    expect(second).toEqual({ exitCode: 0, calls: [] });
    expect(existsSync(join(state, 'rebase.done'))).toBe(true);
  });

  it('never rebases back after Housekeeper upgraded the OS to a newer image', async () => {
    await boot(REF);
    const upgraded = await boot('ostree-unverified-registry:registry.example.com/nestos/kubernetes:1.31');
    expect(upgraded).toEqual({ exitCode: 0, calls: [] });
  });

  it('compares the image exactly: a longer tag that starts with the release tag is another image', async () => {
    const other = await boot(`${REF}.4`);
    expect(other.exitCode).toBe(1);
    expect(other.calls).toEqual([`rebase --experimental ${REF}`, 'systemctl --no-block reboot']);
    expect(existsSync(join(state, 'rebase.done'))).toBe(false);
  });

  it('stops rebooting after three boots that did not come up on the image', async () => {
    const old = 'ostree-unverified-registry:quay.io/nestos/nestos:24.03';
    for (let i = 0; i < 3; i++) expect((await boot(old)).calls).toHaveLength(2);
    const gaveUp = await boot(old);
    expect(gaveUp).toEqual({ exitCode: 1, calls: [] });
  });
});
