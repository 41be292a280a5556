/**
 * The bootstrap script (templates/common/usr/local/bin/nkd-kubeadm.hbs) of the first control plane,
 * rendered and run by the real bash against scripted kubeadm, curl, install and sleep on PATH. Its
 * state, kubeadm and etcd directories are moved into a scratch directory (the lines that name them are
 * replaced); everything else runs as rendered. Each case sets up what a previous attempt left behind.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadTemplates, renderTemplate } from '../../src/render/templates.js';

const RESUME_PHASES = [
  'kubeadm init phase upload-config all --config /etc/nkd/kubeadm.yaml',
  'kubeadm init phase mark-control-plane --config /etc/nkd/kubeadm.yaml',
  'kubeadm init phase bootstrap-token --config /etc/nkd/kubeadm.yaml',
  'kubeadm init phase kubelet-finalize all --config /etc/nkd/kubeadm.yaml',
  'kubeadm init phase addon all --config /etc/nkd/kubeadm.yaml',
];
const FULL_INIT = [
  'kubeadm config validate --config /etc/nkd/kubeadm.yaml',
  'kubeadm init --config /etc/nkd/kubeadm.yaml',
];
const RESET = 'kubeadm reset --force --cri-socket unix:///run/containerd/containerd.sock';
const CONTROL_PLANE_FILES = [
  'admin.conf',
  'super-admin.conf',
  'kubelet.conf',
  'manifests/etcd.yaml',
  'manifests/kube-apiserver.yaml',
  'manifests/kube-controller-manager.yaml',
  'manifests/kube-scheduler.yaml',
];

let dir: string;
let script: string;
let socket: Server;

function stub(name: string, body: string): void {
  writeFileSync(join(dir, 'bin', name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nkd-kubeadm-script-'));
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'state'));
  const sock = join(dir, 'containerd.sock');
  socket = createServer();
  await new Promise<void>((resolve) => socket.listen(sock, resolve));
  let rendered = renderTemplate(loadTemplates(), 'common/usr/local/bin/nkd-kubeadm', {
    nodeName: 'demo-cp-1',
    action: 'kubeadm init',
    command: 'kubeadm init',
    joins: false,
    resumes: true,
    controlPlane: true,
    endpoint: '192.168.10.10:6443',
    localEndpoint: '192.168.10.10:6443',
    criSocket: 'unix:///run/containerd/containerd.sock',
    socketPath: sock,
    pkiFiles: [{ name: 'ca.crt', mode: '0644' }],
  });
  for (const [line, moved] of [
    ['STATE=/var/lib/nkd\n', `STATE=${dir}/state\n`],
    ['KUBE_DIR=/etc/kubernetes\n', `KUBE_DIR=${dir}/kubernetes\n`],
    ['ETCD_DIR=/var/lib/etcd\n', `ETCD_DIR=${dir}/etcd\n`],
  ] as const) {
    expect(rendered.split(line)).toHaveLength(2);
    rendered = rendered.replace(line, moved);
  }
  script = join(dir, 'nkd-kubeadm');
  writeFileSync(script, rendered, { mode: 0o755 });
  // kubeadm: recorded; fails when its arguments start with a line of $dir/fail. reset empties the
  // kubeadm directory as the real one does.
  stub(
    'kubeadm',
    `echo "kubeadm $*" >>"${dir}/calls"
if [ -f "${dir}/fail" ]; then while read -r p; do case "$*" in "$p"*) exit 1;; esac; done <"${dir}/fail"; fi
if [ "$1" = reset ]; then rm -rf "${dir}/kubernetes" "${dir}/etcd"; fi`,
  );
  // curl: the API server answers /readyz when $dir/ready exists; every request is counted.
  stub('curl', `echo x >>"${dir}/curls"; [ -f "${dir}/ready" ]`);
  stub('install', 'exit 0');
  stub('sleep', 'exit 0');
});

afterEach(async () => {
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** What a kubeadm init that failed after wait-control-plane leaves: certs, kubeconfigs, pods, etcd data. */
function leftByFailedInit(files = CONTROL_PLANE_FILES, etcdData = true): void {
  for (const file of files) {
    mkdirSync(join(dir, 'kubernetes', file, '..'), { recursive: true });
    writeFileSync(join(dir, 'kubernetes', file), 'written by kubeadm\n');
  }
  if (etcdData) mkdirSync(join(dir, 'etcd', 'member', 'snap'), { recursive: true });
}

async function run(): Promise<{ exitCode: number; calls: string[]; log: string; curls: number }> {
  rmSync(join(dir, 'calls'), { force: true });
  rmSync(join(dir, 'curls'), { force: true });
  const result = await execa('bash', [script], {
    reject: false,
    all: true,
    env: { PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`, LC_ALL: 'C' },
  });
  const lines = (file: string) =>
    existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8').trim().split('\n') : [];
  return {
    exitCode: result.exitCode ?? -1,
    calls: lines('calls'),
    log: result.all ?? '',
    curls: lines('curls').length,
  };
}

const done = () => existsSync(join(dir, 'state', 'kubeadm.done'));

describe('nkd-kubeadm on the first control plane', () => {
  it('runs a full init on a fresh node and marks it done', async () => {
    const r = await run();
    expect(r.exitCode, r.log).toBe(0);
    expect(r.calls).toEqual(FULL_INIT);
    expect(r.curls).toBe(0);
    expect(done()).toBe(true);
    expect(r.log).toContain('nkd: kubeadm init finished on demo-cp-1');
  });

  it('does nothing once done', async () => {
    writeFileSync(join(dir, 'state', 'kubeadm.done'), '');
    leftByFailedInit();
    expect(await run()).toMatchObject({ exitCode: 0, calls: [], curls: 0 });
  });

  it('resumes an init that failed after the control plane started: waits for /readyz, then the later phases', async () => {
    leftByFailedInit();
    writeFileSync(join(dir, 'ready'), '');
    const r = await run();
    expect(r.exitCode, r.log).toBe(0);
    expect(r.calls).toEqual(RESUME_PHASES);
    expect(r.curls).toBe(1);
    expect(r.log).toContain('resuming it (attempt 1 of 3) instead of a reset');
    expect(r.log).toContain('the local API server at https://192.168.10.10:6443 is ready');
    expect(done()).toBe(true);
    expect(existsSync(join(dir, 'state', 'kubeadm.resumes'))).toBe(false);
  });

  it('retries a failed resume by resuming again, and resets after three', async () => {
    leftByFailedInit();
    writeFileSync(join(dir, 'ready'), '');
    writeFileSync(join(dir, 'fail'), 'init phase bootstrap-token\n');
    for (let attempt = 1; attempt <= 3; attempt++) {
      const r = await run();
      expect(r.exitCode).not.toBe(0);
      expect(r.calls).toEqual(RESUME_PHASES.slice(0, 3));
      expect(r.log).toContain(`attempt ${attempt} of 3`);
    }
    rmSync(join(dir, 'fail'));
    const r = await run();
    expect(r.exitCode, r.log).toBe(0);
    expect(r.log).toContain('3 resumes of kubeadm init failed; resetting');
    expect(r.calls).toEqual([RESET, ...FULL_INIT]);
    expect(done()).toBe(true);
    expect(existsSync(join(dir, 'state', 'kubeadm.resumes'))).toBe(false);
  });

  it('resets when the local API server never becomes ready', async () => {
    leftByFailedInit();
    const r = await run();
    expect(r.exitCode, r.log).toBe(0);
    expect(r.curls).toBe(180);
    expect(r.log).toContain('the local API server never became ready; resetting');
    expect(r.calls).toEqual([RESET, ...FULL_INIT]);
  });

  it('resets when a static pod manifest is missing (init stopped while writing them)', async () => {
    leftByFailedInit(CONTROL_PLANE_FILES.filter((f) => f !== 'manifests/kube-scheduler.yaml'));
    writeFileSync(join(dir, 'ready'), '');
    const r = await run();
    expect(r.exitCode, r.log).toBe(0);
    expect(r.log).toContain('manifests/kube-scheduler.yaml from a previous attempt');
    expect(r.calls).toEqual([RESET, ...FULL_INIT]);
    expect(r.curls).toBe(0);
  });

  it('resets when etcd never wrote its data', async () => {
    leftByFailedInit(CONTROL_PLANE_FILES, false);
    writeFileSync(join(dir, 'ready'), '');
    const r = await run();
    expect(r.exitCode, r.log).toBe(0);
    expect(r.log).toContain('no etcd data in');
    expect(r.calls).toEqual([RESET, ...FULL_INIT]);
  });
});
