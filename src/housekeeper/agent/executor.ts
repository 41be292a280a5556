// The production HostExecutor: the agent's pod mounts the host's `/` at /host and shares its PID
// namespace, so `chroot /host <cmd>` reaches the host's own rpm-ostree, kubeadm and systemctl.
//
// A command that changes the host runs as a transient systemd unit of the host (systemd-run), not as a
// child of the agent: in the agent's cgroup, a DaemonSet rollout that replaces the agent's pod or the
// pod's memory limit would kill `kubeadm upgrade apply` half-way. A host unit outlives the pod, has a
// time limit of its own, and writes its output to files under /run that the agent reads back.

import type { HostExecutor } from '../types.js';

/** Commands that only read (status, versions, files) run in the agent's own chroot, fast. */
const READ_ONLY: readonly (readonly string[])[] = [['rpm-ostree', 'status'], ['kubeadm', 'version'], ['cat']];

const OUTPUT_DIR = '/run/nkd-housekeeper';
/** Longest a host command may run before systemd stops it (kubeadm's own upgrade timeout is 5 min). */
export const HOST_COMMAND_TIMEOUT_SECONDS = 1800;

function readOnly(command: readonly string[]): boolean {
  // The staged deployment's binaries asked for their version; its kubeadm upgrading is a change.
  const staged = /^\/ostree\/deploy\/[^/]+\/deploy\/[^/]+\/usr\/bin\/(kubeadm|kubelet)$/.exec(
    command[0] ?? '',
  );
  if (staged) {
    const args = command.slice(1).join(' ');
    return staged[1] === 'kubeadm' ? args === 'version -o short' : args === '--version';
  }
  return READ_ONLY.some((prefix) => prefix.every((word, i) => command[i] === word));
}

/** The systemd-run invocation for a changing command, and where its output lands. */
export function transientUnit(
  command: readonly string[],
  unit: string,
  timeoutSeconds = HOST_COMMAND_TIMEOUT_SECONDS,
): { argv: string[]; stdout: string; stderr: string } {
  const stdout = `${OUTPUT_DIR}/${unit}.out`;
  const stderr = `${OUTPUT_DIR}/${unit}.err`;
  return {
    argv: [
      'systemd-run',
      '--wait', // and exit with the unit's exit status
      '--collect', // no failed unit left behind
      '--quiet',
      `--unit=${unit}`,
      '--property=Type=exec',
      `--property=RuntimeMaxSec=${timeoutSeconds}`,
      `--property=StandardOutput=truncate:${stdout}`,
      `--property=StandardError=truncate:${stderr}`,
      '--',
      ...command,
    ],
    stdout,
    stderr,
  };
}

type Run = (argv: readonly string[]) => Promise<{ exitCode: number; stdout: string; stderr: string }>;

/** The executor over a runner of chrooted argv (exported for tests with a recording runner). */
export function hostExecutor(run: Run, unitName: () => string): HostExecutor {
  return {
    async run(command) {
      if (command.length === 0) throw new Error('host executor: empty command');
      if (readOnly(command)) return run(command);
      await run(['mkdir', '-p', OUTPUT_DIR]);
      const unit = transientUnit(command, unitName());
      const result = await run(unit.argv);
      const out = await run(['cat', unit.stdout]);
      const err = await run(['cat', unit.stderr]);
      await run(['rm', '-f', unit.stdout, unit.stderr]);
      // systemd-run's own complaint (no such unit property, no systemd) when the unit wrote nothing.
      const stderr = err.exitCode === 0 && err.stdout !== '' ? err.stdout : result.stderr;
      return { exitCode: result.exitCode, stdout: out.exitCode === 0 ? out.stdout : '', stderr };
    },
  };
}

/**
 * `chroot <root> <command...>` without a shell: the arguments reach the program exactly as given, so an
 * image reference or version from the API can never be read as shell syntax.
 */
export function chrootExecutor(root = '/host'): HostExecutor {
  let sequence = 0;
  const run: Run = async (argv) => {
    // Imported lazily so that loading the agent (or its tests) does not load execa.
    const { execa } = await import('execa');
    const result = await execa('chroot', [root, ...argv], { reject: false, stdin: 'ignore' });
    // Not started (chroot missing) or killed by a signal: no exit code, the reason is in the message.
    const stderr =
      result.exitCode === undefined
        ? [result.stderr, result.shortMessage].filter(Boolean).join('\n')
        : result.stderr;
    return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr };
  };
  return hostExecutor(run, () => `nkd-housekeeper-${process.pid}-${Date.now()}-${++sequence}`);
}
