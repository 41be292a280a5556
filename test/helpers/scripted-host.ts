/**
 * A scripted NestOS host for the agent tests: it answers the commands the agent runs (rpm-ostree,
 * kubeadm, systemctl, cat of the static pod manifests and of nkd's kubeadm patches) from a small model of
 * the host, and records every
 * command. A test can fail any command by its prefix, observe the world at the moment each command runs
 * (e.g. the node's progress annotation), and reboot the host into its staged deployment.
 */
import { imageName } from '../../src/housekeeper/agent/host.js';
import { KUBEADM_PATCHES_DIR } from '../../src/lib/kubeadm-patches-dir.js';
import type { HostExecutor } from '../../src/housekeeper/types.js';

export interface ScriptedHostSetup {
  /** The booted deployment's container-image-reference as rpm-ostree shows it; '' for none. */
  booted?: string;
  kubeadmVersion?: string;
  /** Version of the control-plane static pods; undefined on a worker (no manifests). */
  controlPlaneVersion?: string;
  /** nkd rendered its kubeadm patches here (probeTolerance > 1 on a control plane). */
  kubeadmPatches?: boolean;
}

type Result = { exitCode: number; stdout: string; stderr: string };

export class ScriptedHost implements HostExecutor {
  booted: string;
  staged: string | undefined;
  kubeadmVersion: string;
  controlPlaneVersion: string | undefined;
  readonly kubeadmPatches: boolean;
  /**
   * Whether the static pods kubeadm last wrote carry nkd's patches (`--patches` given); undefined until
   * a kubeadm upgrade writes them here.
   */
  staticPodsPatched: boolean | undefined;
  rebootRequested = false;
  /** The kubelet version the kubelet configuration was last written for by a staged kubeadm. */
  kubeletConfigVersion: string | undefined;
  /** `kubeadm reset phase remove-etcd-member` ran (scale-in of a control-plane node). */
  etcdMemberRemoved = false;
  /** Every command, space-joined, in order. */
  readonly commands: string[] = [];
  /** What `observe` returned when each command ran (same index as `commands`). */
  readonly observed: unknown[] = [];
  observe: ((command: string) => unknown) | undefined;
  /**
   * The Kubernetes version an image carries (its kubeadm and kubelet), by image name without transport:
   * what the binaries of a staged deployment report. Unset or undefined: they cannot be read.
   */
  versionOfImage: ((image: string) => string | undefined) | undefined;
  /** Called for every command that succeeds, after the model changed (e.g. a kubelet restart). */
  onCommand: ((command: string) => void) | undefined;
  private readonly failures: { prefix: string; result: Result }[] = [];

  constructor(setup: ScriptedHostSetup = {}) {
    this.booted = setup.booted ?? 'ostree-unverified-registry:hub.example/nestos:old';
    this.staged = undefined;
    this.kubeadmVersion = setup.kubeadmVersion ?? 'v1.29.6';
    this.controlPlaneVersion = setup.controlPlaneVersion;
    this.kubeadmPatches = setup.kubeadmPatches ?? false;
    this.staticPodsPatched = undefined;
  }

  /** Commands starting with `prefix` exit with `exitCode` and this stderr. */
  fail(prefix: string, stderr: string, exitCode = 1): void {
    this.failures.push({ prefix, result: { exitCode, stdout: '', stderr } });
  }

  /** The machine restarted: the staged deployment (if any) is booted now. */
  reboot(): void {
    if (this.staged !== undefined) this.booted = this.staged;
    this.staged = undefined;
    this.rebootRequested = false;
  }

  async run(command: readonly string[]): Promise<Result> {
    const line = command.join(' ');
    this.commands.push(line);
    this.observed.push(this.observe?.(line));
    const failure = this.failures.find((f) => line.startsWith(f.prefix));
    if (failure) return { ...failure.result };
    const result = this.answer(command);
    if (result.exitCode === 0) this.onCommand?.(line);
    return result;
  }

  private answer(command: readonly string[]): Result {
    const ok = (stdout = ''): Result => ({ exitCode: 0, stdout, stderr: '' });
    const [program, ...given] = command;
    const patches = this.takePatches(given);
    if ('exitCode' in patches) return patches;
    const { args } = patches;
    const line = args.join(' ');
    if (program === 'rpm-ostree' && line === 'status --json') return ok(this.status());
    if (program === 'rpm-ostree' && line === 'cleanup --pending') {
      this.staged = undefined;
      return ok();
    }
    const staged = /^\/ostree\/deploy\/nestos\/deploy\/bbb\.0\/usr\/bin\/(kubeadm|kubelet)$/.exec(
      program ?? '',
    );
    if (staged) {
      const version = this.staged === undefined ? undefined : this.versionOfImage?.(imageName(this.staged));
      if (version === undefined) return { exitCode: 1, stdout: '', stderr: `${program}: cannot execute` };
      if (staged[1] === 'kubeadm' && args[0] === 'upgrade')
        return this.stagedUpgrade(args, version, patches.used);
      return ok(staged[1] === 'kubeadm' ? `${version}\n` : `Kubernetes ${version}\n`);
    }
    if (program === 'rpm-ostree' && args[0] === 'rebase') {
      this.staged = args.at(-1);
      return ok('Staging deployment... done\nRun "systemctl reboot" to start a reboot\n');
    }
    if (program === 'systemctl' && line === 'reboot') {
      this.rebootRequested = true;
      return ok();
    }
    if (program === 'systemctl' && line === 'restart kubelet') return ok();
    if (program === 'kubeadm' && line === 'version -o short') return ok(`${this.kubeadmVersion}\n`);
    if (program === 'kubeadm' && args.slice(0, 3).join(' ') === 'reset phase remove-etcd-member') {
      this.etcdMemberRemoved = true;
      return ok('[reset] Removing info for node from the ConfigMap "kubeadm-config"\n');
    }
    if (program === 'kubeadm' && args[0] === 'upgrade' && args[1] === 'apply') {
      this.writeStaticPods(args[2], patches.used);
      return ok('[upgrade/successful] SUCCESS!\n');
    }
    if (program === 'kubeadm' && line === 'upgrade node') {
      if (this.controlPlaneVersion !== undefined) this.writeStaticPods(this.kubeadmVersion, patches.used);
      return ok('[upgrade] The configuration for this node was successfully updated!\n');
    }
    if (program === 'cat' && args.length === 1 && args[0]?.startsWith(`${KUBEADM_PATCHES_DIR}/`)) {
      if (!this.kubeadmPatches)
        return { exitCode: 1, stdout: '', stderr: `cat: ${args[0]}: No such file or directory` };
      return ok('# Rendered by nkd: probeTolerance 4.\nspec:\n  containers: []\n');
    }
    if (program === 'cat' && args.every((f) => f.startsWith('/etc/kubernetes/manifests/'))) {
      if (this.controlPlaneVersion === undefined) {
        return { exitCode: 1, stdout: '', stderr: `cat: ${args[0]}: No such file or directory` };
      }
      const images = args.map((f) => {
        const component = f.slice(f.lastIndexOf('/') + 1, -'.yaml'.length);
        // The shape kubeadm writes: the image line inside the container, after its command.
        return (
          `spec:\n  containers:\n  - command:\n    - ${component}\n` +
          `    image: registry.k8s.io/${component}:${this.controlPlaneVersion}\n`
        );
      });
      return ok(images.join('---\n'));
    }
    return { exitCode: 127, stdout: '', stderr: `scripted host: no answer for ${command.join(' ')}` };
  }

  /**
   * The staged deployment's kubeadm run on the booted system (before the reboot): it writes the static
   * pods (a control plane) and the kubelet configuration for its own version; the running kubelet keeps
   * its version until the reboot.
   */
  private stagedUpgrade(args: readonly string[], version: string, patched: boolean): Result {
    const ok = (stdout: string): Result => ({ exitCode: 0, stdout, stderr: '' });
    const line = args.join(' ');
    if (args[1] === 'apply') {
      this.writeStaticPods(args[2], patched);
      this.kubeletConfigVersion = version;
      return ok('[upgrade/successful] SUCCESS!\n');
    }
    if (line === 'upgrade node') {
      if (this.controlPlaneVersion !== undefined) this.writeStaticPods(version, patched);
      this.kubeletConfigVersion = version;
      return ok('[upgrade] The configuration for this node was successfully updated!\n');
    }
    if (line === 'upgrade node phase kubelet-config') {
      this.kubeletConfigVersion = version;
      return ok('[upgrade] The kubelet configuration for this node was successfully updated!\n');
    }
    return { exitCode: 127, stdout: '', stderr: `scripted host: no answer for staged kubeadm ${line}` };
  }

  private writeStaticPods(version: string | undefined, patched: boolean): void {
    this.controlPlaneVersion = version;
    this.staticPodsPatched = patched;
  }

  /**
   * kubeadm's `--patches <dir>`, taken out of the arguments: kubeadm fails on a directory that is not
   * there, and on any other directory than nkd's this model knows nothing of.
   */
  private takePatches(args: readonly string[]): { args: readonly string[]; used: boolean } | Result {
    const at = args.indexOf('--patches');
    if (at === -1) return { args, used: false };
    const dir = args[at + 1];
    if (dir !== KUBEADM_PATCHES_DIR || !this.kubeadmPatches) {
      return { exitCode: 1, stdout: '', stderr: `error: could not list patch files for path "${dir ?? ''}"` };
    }
    return { args: [...args.slice(0, at), ...args.slice(at + 2)], used: true };
  }

  private status(): string {
    const deployment = (ref: string, booted: boolean) => ({
      booted,
      staged: !booted,
      osname: 'nestos',
      checksum: booted ? 'aaa' : 'bbb',
      serial: 0,
      ...(ref !== '' ? { 'container-image-reference': ref } : { origin: 'nestos:nestos/x86_64/stable' }),
    });
    const deployments = [
      ...(this.staged !== undefined ? [deployment(this.staged, false)] : []),
      deployment(this.booted, true),
    ];
    return JSON.stringify({ deployments, transaction: null, 'cached-update': null });
  }
}
