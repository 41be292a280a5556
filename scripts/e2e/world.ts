// Everything the end-to-end run stands on: a libvirtd in a network namespace of its own (the guests,
// their bridge, dnsmasq and the nkd under test live there), the mirror (the distribution registry,
// serving on every address of that namespace, so guests reach it on the libvirt network's host address),
// a work directory for nkd's state and the storage pools, and runners for nkd and kubectl inside the
// namespace.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cleanupLibvirtObjects, startLibvirtd, type LibvirtDaemon } from '../lib/libvirtd.js';
import { startRegistry, type LoopbackRegistry } from '../lib/registry.js';
import { toolEnv } from '../lib/tool-env.js';

/** This checkout: the nearest directory above this file holding nkd's package.json (run from source or built). */
function findRepo(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'nkd')
      return dir;
  }
  throw new Error(`no nkd checkout above ${from}`);
}

export const REPO = findRepo(import.meta.dirname);
/** The mirror's port inside the namespace (nothing else listens there). */
export const REGISTRY_PORT = 5000;

export interface Tools {
  pulumiRoot: string;
  kubeBin: string;
  crane: string;
  registry: string;
  image: string;
  /** The Kubernetes version of the image's kubeadm and kubelet. */
  imageKubeVersion: string;
  /** For the upgrade step: set when `npm run tools -- testnode-upgrade` built its image. */
  upgrade?: UpgradeTools;
}

/** The stand-in image that boots the previous Kubernetes patch and can be upgraded (docs/e2e.md). */
export interface UpgradeTools {
  /** NKD_TESTNODE_UPGRADE_IMAGE: deploy the cluster from this image. */
  image: string;
  /** What it boots (its kubernetes-version): the cluster's version before the upgrade. */
  fromVersion: string;
  /** What its rpm-ostree stand-in can rebase onto (its upgrade-version): `nkd upgrade --kube-version`. */
  toVersion: string;
  /** NKD_KUBE_PREV_BIN: the previous version's binaries, whose images the mirror must hold too. */
  prevKubeBin: string;
}

/** The version file written beside a stand-in image, or one line saying how to get it. */
function imageVersionFile(image: string, name: string, tool: string): string {
  const file = join(dirname(image), name);
  if (!existsSync(file)) throw new Error(`${file} is missing: rebuild the image (npm run tools -- ${tool})`);
  return readFileSync(file, 'utf8').trim();
}

/** The upgrade tools if their image was built; an image without its companions is an error. */
function findUpgradeTools(): UpgradeTools | undefined {
  const image = toolEnv('NKD_TESTNODE_UPGRADE_IMAGE');
  if (image === undefined) return undefined;
  const prevKubeBin = toolEnv('NKD_KUBE_PREV_BIN');
  if (prevKubeBin === undefined || !existsSync(join(prevKubeBin, 'kubeadm')))
    throw new Error(
      'NKD_KUBE_PREV_BIN is missing: run `npm run tools -- kube-prev testnode-upgrade` (as root)',
    );
  return {
    image,
    fromVersion: imageVersionFile(image, 'kubernetes-version', 'testnode-upgrade'),
    toVersion: imageVersionFile(image, 'upgrade-version', 'testnode-upgrade'),
    prevKubeBin,
  };
}

/** The tools `npm run tools` builds, or one line saying what is missing. */
export function findTools(): Tools {
  const need = (name: string, probe = '') => {
    const value = toolEnv(name);
    if (value === undefined || !existsSync(join(value, probe)))
      throw new Error(
        `${name} is missing: run \`npm run tools -- pulumi kube etcd crictl registry crane testnode kube-prev testnode-upgrade\` (as root)`,
      );
    return value;
  };
  const image = need('NKD_TESTNODE_IMAGE');
  const upgrade = findUpgradeTools();
  return {
    pulumiRoot: need('NKD_PULUMI_ROOT', 'bin/pulumi'),
    kubeBin: need('NKD_KUBE_BIN', 'kubectl'),
    crane: need('NKD_CRANE_BIN'),
    registry: need('NKD_REGISTRY_BIN'),
    image,
    imageKubeVersion: imageVersionFile(image, 'kubernetes-version', 'testnode'),
    ...(upgrade && { upgrade }),
  };
}

export interface RunResult {
  exitCode: number;
  out: string;
}

export interface E2eWorld {
  tools: Tools;
  daemon: LibvirtDaemon;
  registry: LoopbackRegistry;
  work: string;
  stateDir: string;
  home: string;
  logDir: string;
  /** Runs FILE inside the namespace; output goes to logs/LABEL.log, `onLine` sees each line. */
  exec(label: string, file: string, args: string[], options?: ExecOptions): Promise<RunResult>;
  /** nkd (this checkout's bin/run.js, dist/) inside the namespace. */
  nkd(label: string, args: string[], options?: ExecOptions): Promise<RunResult>;
  /** The real kubectl inside the namespace, with the admin kubeconfig unless `args` names another. */
  kubectl(args: string[], input?: string): Promise<string>;
  adminKubeconfig: string;
  /**
   * Stops the commands under way (nkd, kubectl, ssh, each with what it started: SIGINT, then SIGKILL
   * after a grace period) and refuses new ones: for a signal or the run's deadline.
   */
  stopCommands(): void;
  /** Lets commands run again after stopCommands: the diagnosis of a run stopped by its deadline. */
  resumeCommands(): void;
  close(cluster: string | undefined, keep: boolean): Promise<void>;
}

export interface ExecOptions {
  /** Run in the host's network namespace (the Go module proxy is reachable there, not in the run's). */
  onHost?: boolean;
  env?: Record<string, string>;
  input?: string;
  onLine?: (line: string) => void;
  timeoutMs?: number;
}

/** How long a stopped command (nkd cancelling a Pulumi operation) may take to end before it is killed. */
const STOP_GRACE_MS = 90_000;

/** Signals a command and everything it started (it leads its own process group: `detached`). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

const BASE_PATH = '/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export async function startWorld(tools: Tools): Promise<E2eWorld> {
  const base = existsSync('/var/tmp') ? '/var/tmp' : undefined;
  const work = mkdtempSync(join(base ?? REPO, 'nkd-e2e-'));
  const logDir = join(work, 'logs');
  mkdirSync(logDir, { recursive: true });
  const daemon = await startLibvirtd();
  let registry: LoopbackRegistry;
  try {
    registry = await startRegistry(tools.registry, {
      netns: { path: daemon.netnsPath, port: REGISTRY_PORT },
    });
  } catch (error) {
    await daemon.stop();
    throw error;
  }
  const stateDir = join(work, 'state');
  const home = join(work, 'home');
  mkdirSync(home, { recursive: true });
  const adminKubeconfig = join(work, 'admin.conf');

  const { KUBECONFIG: _ignored, ...inherited } = process.env;
  const running = new Set<ChildProcess>();
  let stopped = false;
  const exec: E2eWorld['exec'] = (label, file, args, options = {}) =>
    new Promise((resolve, reject) => {
      if (stopped) {
        resolve({ exitCode: 130, out: 'not run: the e2e run was interrupted' });
        return;
      }
      const { file: f, args: a } = options.onHost ? { file, args } : daemon.inNetns(file, args);
      const log = createWriteStream(join(logDir, `${label}.log`), { flags: 'a' });
      const child = spawn(f, a, {
        stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        // A process group of its own: stopping reaches its children too (nkd's Pulumi engine, the image
        // script's builds and pushes), and a terminal's Ctrl-C reaches only the harness, which then
        // stops each command once (a second SIGINT would make nkd quit without finishing in-flight steps).
        detached: true,
        // This process's environment (Node, Go) without a kubeconfig of the caller's.
        env: { ...inherited, PATH: `${BASE_PATH}:${process.env.PATH ?? ''}`, HOME: home, ...options.env },
      });
      running.add(child);
      let out = '';
      let partial = '';
      const take = (chunk: Buffer) => {
        const text = chunk.toString();
        log.write(text);
        out = (out + text).slice(-2_000_000);
        partial += text;
        const lines = partial.split('\n');
        partial = lines.pop()!;
        for (const line of lines) options.onLine?.(line);
      };
      child.stdout!.on('data', take);
      child.stderr!.on('data', take);
      if (options.input !== undefined) child.stdin!.end(options.input);
      const timer = options.timeoutMs
        ? setTimeout(() => signalGroup(child, 'SIGTERM'), options.timeoutMs)
        : undefined;
      child.once('error', reject);
      child.once('close', (code, signal) => {
        running.delete(child);
        if (timer) clearTimeout(timer);
        if (partial) options.onLine?.(partial);
        log.end();
        resolve({ exitCode: code ?? (signal ? 128 : -1), out });
      });
    });

  const world: E2eWorld = {
    tools,
    daemon,
    registry,
    work,
    stateDir,
    home,
    logDir,
    adminKubeconfig,
    exec,
    nkd: (label, args, options = {}) =>
      exec(label, process.execPath, [join(REPO, 'bin', 'run.js'), ...args], {
        ...options,
        env: {
          NKD_PULUMI_ROOT: tools.pulumiRoot,
          PULUMI_HOME: join(work, 'pulumi-home'),
          NKD_STATE_DIR: stateDir,
          NODE_ENV: 'production',
          ...options.env,
        },
      }),
    async kubectl(args, input) {
      const withConfig = args.some((a) => a.startsWith('--kubeconfig'))
        ? args
        : ['--kubeconfig', adminKubeconfig, ...args];
      const r = await exec(
        'kubectl',
        join(tools.kubeBin, 'kubectl'),
        ['--request-timeout=30s', ...withConfig],
        {
          ...(input === undefined ? {} : { input }),
          timeoutMs: 120_000,
        },
      );
      if (r.exitCode !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.out.trim().slice(-600)}`);
      return r.out;
    },
    stopCommands() {
      stopped = true;
      // SIGINT: nkd leaves a state that the same command resumes (its Ctrl-C contract). Whatever has
      // not ended after the grace period is killed, so that the cleanup is never waiting on it.
      const stopping = [...running];
      for (const child of stopping) signalGroup(child, 'SIGINT');
      setTimeout(() => {
        for (const child of stopping) if (running.has(child)) signalGroup(child, 'SIGKILL');
      }, STOP_GRACE_MS).unref();
    },
    resumeCommands() {
      stopped = false;
    },
    async close(cluster, keep) {
      await registry.stop();
      if (cluster && !keep) await cleanupLibvirtObjects(daemon.uri, cluster);
      if (!keep) await daemon.stop();
      if (!keep) {
        // The logs outlive the run: they are what a failure is read from.
        execFileSync('bash', [
          '-c',
          'find "$0" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +',
          work,
        ]);
      }
    },
  };
  return world;
}
