// The production HostExecutor: the agent's pod mounts the host's `/` at /host and shares its PID
// namespace, so `chroot /host <cmd>` runs the host's own rpm-ostree, kubeadm and systemctl (systemctl
// reaches the host's systemd through /run in that root).

import type { HostExecutor } from '../types.js';

/**
 * Runs `chroot <root> <command...>` without a shell: the arguments reach the program exactly as given,
 * so an image reference or version from the API can never be read as shell syntax. No timeout: cutting
 * an rpm-ostree or kubeadm run short does more harm than a node that shows as stuck in its phase.
 */
export function chrootExecutor(root = '/host'): HostExecutor {
  return {
    async run(command) {
      if (command.length === 0) throw new Error('chrootExecutor: empty command');
      // Imported lazily so that loading the agent (or its tests) does not load execa.
      const { execa } = await import('execa');
      const result = await execa('chroot', [root, ...command], { reject: false, stdin: 'ignore' });
      // Not started (chroot missing) or killed by a signal: no exit code, the reason is in the message.
      const stderr =
        result.exitCode === undefined
          ? [result.stderr, result.shortMessage].filter(Boolean).join('\n')
          : result.stderr;
      return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr };
    },
  };
}
