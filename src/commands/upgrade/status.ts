import { clusterNameArg } from '../../cli/args.js';
import { NkdCommand } from '../../cli/base.js';
import { ExitCode, NkdError } from '../../errors.js';
import { completedUpgrades } from '../../plan/upgrades.js';
import { clusterPaths } from '../../state/paths.js';
import { adminClient } from '../../workflows/upgrade-access.js';
import { recordUpgrades } from '../../workflows/upgrade-record.js';
import { currentUpdate, describeNode, listUpdates } from '../../workflows/upgrade.js';

export default class UpgradeStatus extends NkdCommand {
  static override summary = "Show the cluster's current upgrade: its phase and every node's progress.";
  static override description =
    'Reads the newest unfinished Housekeeper Update (or else the newest one) and shows its phase, conditions and each node with its phase (pending, draining, upgrading-os, rebooting, upgrading-kubernetes, verifying, done, failed) and last error. Exit 0 when shown, 4 when the cluster has no state or no upgrade, 7 when the cluster is unreachable.';
  static override examples = [
    '<%= config.bin %> upgrade status demo',
    '<%= config.bin %> upgrade status demo --json',
  ];
  static override enableJsonFlag = true;
  static override args = { name: clusterNameArg({ required: true }) };

  async run(): Promise<object> {
    const { args, flags } = await this.parse(UpgradeStatus);
    const client = await adminClient(this.stateDir(flags), args.name);
    try {
      const updates = await listUpdates(client);
      // Completed ones the record lacks (started without --wait) join it: see docs/upgrade.md.
      recordUpgrades(clusterPaths(this.stateDir(flags), args.name), completedUpgrades(updates));
      const update = currentUpdate(updates);
      if (!update) throw new NkdError(`cluster ${args.name} has no upgrade`, ExitCode.State);
      if (!this.jsonEnabled()) {
        const spec = update.spec;
        this.out(
          [
            `Update ${update.metadata.name}: ${update.status?.phase ?? 'Pending'}${spec.paused ? ' (paused)' : ''}`,
            `  target: ${[spec.kubeVersion && `Kubernetes ${spec.kubeVersion}`, spec.osImageURL && `OS ${spec.osImageURL}`].filter(Boolean).join(', ')}`,
            ...(update.status?.conditions ?? []).map(
              (c) => `  ${c.type}=${c.status} (${c.reason}): ${c.message}`,
            ),
            ...(update.status?.nodes ?? []).map((n) => `  ${describeNode(n)}`),
          ].join('\n'),
        );
      }
      return { cluster: args.name, update };
    } finally {
      client.close();
    }
  }
}
