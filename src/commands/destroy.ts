import { existsSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { clusterNameArg } from '../cli/args.js';
import { NkdCommand } from '../cli/base.js';
import { confirm } from '../cli/confirm.js';
import { withInterrupt } from '../cli/interrupt.js';
import { createReporter } from '../cli/reporters/index.js';
import { pulumiEngine } from '../engine/pulumi-engine.js';
import { findPulumiCli } from '../engine/pulumi-cli.js';
import { stackPaths } from '../engine/stack.js';
import { checkPrivateDir, clusterPaths, ensurePrivateDir } from '../state/paths.js';
import { runDestroy } from '../workflows/destroy.js';

export default class Destroy extends NkdCommand {
  static override summary =
    'Destroy everything a cluster owns, from its state alone (no config file needed).';
  static override description = [
    'Destroys the cluster stack through Pulumi (every machine, disk, network and Ignition volume it created, also after a provisioning that failed half-way), then removes the cluster state directory (unless --keep-state).',
    'A failure keeps the state: run the same command again. A cluster that has no state (already destroyed) is reported and exits 0. A cluster that was only rendered (deploy --dry-run) needs no Pulumi CLI to be removed.',
    'Exit codes: 0 done, 2 usage (e.g. no --yes when not on a terminal), 4 state (locked), 5 Pulumi CLI missing, 6 the engine failed, 130 interrupted.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> destroy demo',
    '<%= config.bin %> destroy demo --yes',
    '<%= config.bin %> destroy demo --yes --keep-state',
  ];
  static override args = { name: clusterNameArg({ required: true }) };
  static override flags = {
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation (for CI)' }),
    'keep-state': Flags.boolean({
      description: "Keep the cluster's local state (PKI, assets) after destroying",
    }),
    backend: Flags.string({
      description: 'Pulumi backend URL the cluster stack lives in',
      env: 'NKD_BACKEND_URL',
    }),
    'pulumi-root': Flags.string({ description: 'Directory holding bin/pulumi', env: 'NKD_PULUMI_ROOT' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Destroy);
    const stateDir = this.stateDir(flags, { write: true });
    const paths = clusterPaths(stateDir, args.name);
    if (!checkPrivateDir(paths.root)) {
      process.stderr.write(`No cluster named ${args.name} in ${stateDir}: nothing to destroy.\n`);
      return;
    }
    const provisioned =
      flags.backend !== undefined || existsSync(stackPaths(paths.root, undefined).engineDir);
    const engine = provisioned ? pulumiEngine(findPulumiCli(flags['pulumi-root']), flags.backend) : undefined;
    await confirm(
      provisioned
        ? `Destroy every resource of cluster ${args.name}?`
        : `Remove the state of cluster ${args.name} (never provisioned)?`,
      flags.yes,
    );
    const reporter = createReporter({ json: false, log: this.debugLog });
    try {
      await withInterrupt((signal) =>
        runDestroy({ cluster: args.name, paths, engine, reporter, signal, keepState: flags['keep-state'] }),
      );
    } finally {
      reporter.close();
      // The log stays with a state that is still there (a failure, --keep-state); otherwise it goes
      // to the user's cache directory rather than recreating the removed state.
      if (existsSync(paths.root)) {
        ensurePrivateDir(paths.logs);
        this.debugLog.attachToCluster(paths.logs);
      }
    }
    this.out(`Cluster ${args.name} destroyed${flags['keep-state'] ? `; state kept in ${paths.root}` : ''}.`);
  }
}
