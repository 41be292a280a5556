/**
 * The NestOS stand-in's rpm-ostree (scripts/testnode/upgrade/rpm-ostree, docs/testnode.md), run by the
 * real bash and curl under a scratch root (NKD_TESTNODE_ROOT) that carries two fake Kubernetes versions,
 * against a registry on 127.0.0.1 that serves one manifest. What it prints is read with the agent's
 * own parser, and the boot-time finalization and nkd's first-boot rebase script run against it too.
 */
import {
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseOsStatus } from '../../src/housekeeper/agent/host.js';
import { loadTemplates, renderTemplate } from '../../src/render/templates.js';

const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'testnode', 'upgrade', 'rpm-ostree');
const BOOTED = 'v1.37.1';
const NEXT = 'v1.37.2';
const BINARIES = ['kubeadm', 'kubelet', 'kubectl'];

let server: Server;
let registry: string;
const accepts: string[] = [];

beforeAll(async () => {
  // The registry holds nestos/testnode:v1.37.2 only (also v1.37.1's manifest is missing on purpose).
  server = createServer((req, res) => {
    accepts.push(String(req.headers.accept));
    res.writeHead(req.url === `/v2/k8s/nestos/testnode/manifests/${NEXT}` ? 200 : 404).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registry = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let root: string;
let bin: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nkd-standin-'));
  bin = mkdtempSync(join(tmpdir(), 'nkd-standin-bin-'));
  for (const version of [BOOTED, NEXT]) {
    const dir = join(root, 'usr', 'lib', 'nkd-testnode', version);
    mkdirSync(dir, { recursive: true });
    for (const b of BINARIES)
      writeFileSync(join(dir, b), `#!/bin/sh\necho ${b} ${version}\n`, { mode: 0o755 });
  }
  mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
  for (const b of BINARIES) symlinkSync(`../lib/nkd-testnode/${BOOTED}/${b}`, join(root, 'usr', 'bin', b));
  // The boot unit runs the same script under this name.
  symlinkSync(SCRIPT, join(bin, 'nkd-testnode-finalize'));
  symlinkSync(SCRIPT, join(bin, 'rpm-ostree'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(bin, { recursive: true, force: true });
});

const image = (version: string) => `${registry}/k8s/nestos/testnode:${version}`;
const ref = (version: string) => `ostree-unverified-registry:${image(version)}`;

async function run(file: string, args: string[]) {
  const r = await execa(file, args, {
    reject: false,
    env: { NKD_TESTNODE_ROOT: root, PATH: `${bin}:${process.env.PATH ?? ''}`, LC_ALL: 'C' },
  });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const rpmOstree = (...args: string[]) => run(join(bin, 'rpm-ostree'), args);

async function status() {
  const r = await rpmOstree('status', '--json');
  expect(r.exitCode).toBe(0);
  return parseOsStatus(r.stdout);
}

/** What a binary under the scratch root prints (its links followed as the host would follow them). */
async function binaryAt(path: string): Promise<string> {
  return (await execa(join(root, path), [])).stdout;
}

describe('the stand-in rpm-ostree', () => {
  it('reports the image it was built as: booted, not from a container image, nothing pending', async () => {
    expect(await status()).toEqual({ booted: '' });
  });

  it('stages a carried version whose image is in the registry, as the agent reads it', async () => {
    const r = await rpmOstree('rebase', '--experimental', ref(NEXT));
    expect(r.exitCode).toBe(0);
    const os = await status();
    expect(os.booted).toBe('');
    expect(os.pending).toBe(image(NEXT));
    expect(os.pendingRoot).toMatch(/^\/ostree\/deploy\/testnode\/deploy\/[0-9a-f]{64}\.0$/);
    // The agent runs the staged kubeadm before rebooting; the booted one is untouched.
    expect(await binaryAt(`${os.pendingRoot!}/usr/bin/kubeadm`)).toBe(`kubeadm ${NEXT}`);
    expect(await binaryAt('usr/bin/kubeadm')).toBe(`kubeadm ${BOOTED}`);
    expect(accepts.at(-1)).toContain('application/vnd.oci.image.manifest.v1+json');
  });

  it('refuses a version the image does not carry, staging nothing', async () => {
    const r = await rpmOstree('rebase', '--experimental', ref('v1.38.0'));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('this image carries no Kubernetes v1.38.0');
    expect(await status()).toEqual({ booted: '' });
  });

  it('refuses an image its registry does not have, staging nothing', async () => {
    const r = await rpmOstree('rebase', '--experimental', ref(BOOTED));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`the image ${image(BOOTED)} is not in its registry`);
    expect(r.stderr).toContain('404');
    expect(await status()).toEqual({ booted: '' });
    expect(existsSync(join(root, 'ostree', 'deploy', 'testnode', 'deploy'))).toBe(false);
  });

  it('drops the staged deployment on cleanup --pending', async () => {
    await rpmOstree('rebase', '--experimental', ref(NEXT));
    const { pendingRoot } = await status();
    const r = await rpmOstree('cleanup', '--pending');
    expect(r.exitCode).toBe(0);
    expect(await status()).toEqual({ booted: '' });
    expect(existsSync(join(root, pendingRoot!))).toBe(false);
  });

  it('boots the staged version at finalization: links switched, booted from the image', async () => {
    await rpmOstree('rebase', '--experimental', ref(NEXT));
    const { pendingRoot } = await status();
    const r = await run(join(bin, 'nkd-testnode-finalize'), []);
    expect(r.exitCode).toBe(0);
    for (const b of BINARIES) {
      expect(readlinkSync(join(root, 'usr', 'bin', b))).toBe(`../lib/nkd-testnode/${NEXT}/${b}`);
    }
    expect(await binaryAt('usr/bin/kubelet')).toBe(`kubelet ${NEXT}`);
    expect(await status()).toEqual({ booted: image(NEXT) });
    // Its deployment directory stays (it is the booted root now); nothing else is left.
    expect(readdirSync(join(root, 'ostree', 'deploy', 'testnode', 'deploy'))).toEqual([
      pendingRoot!.split('/').at(-1),
    ]);
  });

  it('finalizes nothing when nothing is staged', async () => {
    const r = await run(join(bin, 'nkd-testnode-finalize'), []);
    expect(r.exitCode).toBe(0);
    expect(realpathSync(join(root, 'usr', 'bin', 'kubeadm'))).toContain(`/${BOOTED}/`);
  });

  it('replaces an earlier staged deployment with a new rebase', async () => {
    await rpmOstree('rebase', '--experimental', ref(NEXT));
    const first = (await status()).pendingRoot!;
    await rpmOstree('cleanup', '--pending');
    await rpmOstree('rebase', `ostree-unverified-registry:${registry}/k8s/nestos/testnode:${NEXT}`);
    expect((await status()).pendingRoot).toBe(first);
    await rpmOstree('rebase', '--experimental', ref(NEXT));
    expect(readdirSync(join(root, 'ostree', 'deploy', 'testnode', 'deploy'))).toHaveLength(1);
  });

  it('says clearly what it does not implement', async () => {
    for (const args of [
      ['upgrade'],
      ['rollback'],
      ['cleanup', '--rollback'],
      ['rebase', '--bypass-driver', 'x'],
    ]) {
      const r = await rpmOstree(...args);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('the nkd stand-in does not implement');
    }
    const digest = await rpmOstree(
      'rebase',
      `ostree-unverified-registry:${registry}/x@sha256:${'0'.repeat(64)}`,
    );
    expect(digest.stderr).toContain('does not implement the image name');
  });

  it("carries nkd's first-boot rebase through: rebase and reboot, then done after finalization", async () => {
    const state = join(root, 'var', 'lib', 'nkd');
    const rendered = renderTemplate(loadTemplates(), 'common/usr/local/bin/nkd-rebase', {
      image: image(NEXT),
    });
    const script = join(bin, 'nkd-rebase');
    writeFileSync(script, rendered.replace('STATE=/var/lib/nkd\n', `STATE=${state}\n`), { mode: 0o755 });
    writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\necho "$*" >>"${root}/reboots"\n`, { mode: 0o755 });

    const first = await run(script, []);
    expect(first.exitCode).toBe(1);
    expect((await status()).pending).toBe(image(NEXT));
    await run(join(bin, 'nkd-testnode-finalize'), []);
    const second = await run(script, []);
    expect(second.exitCode).toBe(0);
    expect(existsSync(join(state, 'rebase.done'))).toBe(true);
    expect(await binaryAt('usr/bin/kubeadm')).toBe(`kubeadm ${NEXT}`);
  });
});
