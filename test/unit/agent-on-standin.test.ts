/**
 * Housekeeper's real node agent driving the NestOS stand-in's rpm-ostree (scripts/testnode/upgrade/,
 * docs/testnode.md) through a whole worker upgrade, as the end-to-end run will on a booted node. The host
 * is a scratch root (NKD_TESTNODE_ROOT) with two fake Kubernetes versions, reached by an executor that
 * runs each command the agent asks for there instead of through `chroot /host`; the registry is a
 * loopback server holding the new image; the API is the in-memory double. Only the reboot is played by
 * the test: the stand-in's finalization, then the new kubelet reporting.
 */
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { NodeAgent } from '../../src/housekeeper/agent/agent.js';
import type { HostExecutor, NodeTarget } from '../../src/housekeeper/types.js';
import { MemoryKube } from '../helpers/memory-kube.js';

const STANDIN = join(import.meta.dirname, '..', '..', 'scripts', 'testnode', 'upgrade', 'rpm-ostree');
const NODE = 'worker-1';
const FROM = 'v1.37.1';
const TO = 'v1.37.2';

let server: Server;
let registry: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    res.writeHead(req.url === `/v2/k8s/nestos/testnode/manifests/${TO}` ? 200 : 404).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registry = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nkd-agent-standin-'));
  // Each version's kubeadm reports its version and logs what else it is asked to do; kubelet reports.
  for (const v of [FROM, TO]) {
    const dir = join(root, 'usr', 'lib', 'nkd-testnode', v);
    mkdirSync(dir, { recursive: true });
    const kubeadm = `#!/bin/sh\nif [ "$*" = "version -o short" ]; then echo ${v}; else echo "kubeadm ${v} $*" >>"${root}/kubeadm.log"; fi\n`;
    writeFileSync(join(dir, 'kubeadm'), kubeadm, { mode: 0o755 });
    writeFileSync(join(dir, 'kubelet'), `#!/bin/sh\necho "Kubernetes ${v}"\n`, { mode: 0o755 });
    writeFileSync(join(dir, 'kubectl'), '#!/bin/sh\n', { mode: 0o755 });
  }
  mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
  for (const b of ['kubeadm', 'kubelet', 'kubectl'])
    symlinkSync(`../lib/nkd-testnode/${FROM}/${b}`, join(root, 'usr', 'bin', b));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const env = () => ({ NKD_TESTNODE_ROOT: root, PATH: process.env.PATH ?? '' });

/** The host as the agent sees it through `chroot /host`, with the scratch root as `/`. */
function standinHost(commands: string[]): HostExecutor {
  return {
    async run(command) {
      commands.push(command.join(' '));
      const [file, ...args] = command;
      if (file === 'systemctl') {
        appendFileSync(join(root, 'systemctl.log'), `${args.join(' ')}\n`);
        return { exitCode: 0, stdout: '', stderr: '' };
      }
      // The host's cat reads the host's files: here, the scratch root's (a worker has no kubeadm patches).
      if (file === 'cat') {
        const files = args.map((a) => join(root, a));
        const r = await execa('cat', files, { reject: false });
        return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
      }
      const path =
        file === 'rpm-ostree' ? STANDIN : join(root, file!.startsWith('/') ? file! : `usr/bin/${file!}`);
      const r = await execa(path, args, { reject: false, env: env() });
      return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
  };
}

it('upgrades a worker through the stand-in: rebase, staged kubeadm, reboot, booted from the new image', async () => {
  const image = `${registry}/k8s/nestos/testnode:${TO}`;
  const kube = new MemoryKube();
  kube.addNode(NODE, { kubeletVersion: FROM });
  kube.apiServerVersion = TO;
  const target: NodeTarget = {
    key: 'housekeeper-system/up@1',
    osImageURL: image,
    kubeVersion: TO,
    firstControlPlane: false,
    evictPodForce: false,
    drainTimeoutSeconds: 300,
  };
  kube.updates.set('housekeeper-system/up', {
    apiVersion: 'housekeeper.io/v1alpha1',
    kind: 'Update',
    metadata: { name: 'up', namespace: 'housekeeper-system', generation: 1 },
    spec: { osImageURL: image, kubeVersion: TO, evictPodForce: false, drainTimeoutSeconds: 300 },
  });
  kube.setTarget(NODE, target);
  const commands: string[] = [];
  const agent = () =>
    new NodeAgent({
      nodeName: NODE,
      namespace: 'housekeeper-system',
      kube,
      host: standinHost(commands),
      log: () => {},
    });

  expect(await agent().step()).toBe('rebooting');
  expect(kube.progress(NODE)?.lastError).toBeUndefined();
  const staged = commands[3]?.split(' ')[0] ?? '';
  expect(staged).toMatch(/^\/ostree\/deploy\/testnode\/deploy\/[0-9a-f]{64}\.0\/usr\/bin\/kubeadm$/);
  expect(commands).toEqual([
    'rpm-ostree status --json',
    `rpm-ostree rebase --experimental ostree-unverified-registry:${image}`,
    'rpm-ostree status --json',
    `${staged} version -o short`,
    'cat /etc/nkd/kubeadm-patches/kube-apiserver+strategic.yaml',
    `${staged} upgrade node`,
    'systemctl reboot',
  ]);
  // The staged deployment's kubeadm (v1.37.2) ran `upgrade node` while v1.37.1 was still booted.
  expect(readFileSync(join(root, 'kubeadm.log'), 'utf8')).toBe(`kubeadm ${TO} upgrade node\n`);
  expect(readFileSync(join(root, 'systemctl.log'), 'utf8')).toBe('reboot\n');

  // The reboot: the boot unit finalizes, the new kubelet registers its version.
  const finalize = join(root, 'nkd-testnode-finalize');
  symlinkSync(STANDIN, finalize);
  expect((await execa(finalize, [], { env: env() })).exitCode).toBe(0);
  kube.setKubelet(NODE, TO);

  expect(await agent().step()).toBe('done');
  expect(kube.osImage(NODE)).toBe(image);
  expect((await execa(join(root, 'usr', 'bin', 'kubeadm'), ['version', '-o', 'short'])).stdout).toBe(TO);
});
