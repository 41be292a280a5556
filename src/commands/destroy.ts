import { existsSync, rmSync } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { NkdCommand } from '../cli/base.js';
import { confirm } from '../cli/confirm.js';
import { withInterrupt } from '../cli/interrupt.js';
import { findPulumiCli } from '../engine/pulumi-cli.js';
import { ExitCode, NkdError } from '../errors.js';
import { lockCluster } from '../state/lock.js';
import { clusterPaths } from '../state/paths.js';
import { destroyCluster } from '../workflows/provision.js';

export default class Destroy extends NkdCommand {
  static override summary =
    'Destroy everything a cluster owns, from its state alone (no config file needed).';
  static override description =
    'Destroys the cluster stack through Pulumi, then removes the cluster state directory (unless --keep-state). Safe to re-run after a partial failure.';
  static override examples = ['<%= config.bin %> destroy demo', '<%= config.bin %> destroy demo --yes'];
  static override args = { name: Args.string({ description: 'Cluster name', required: true }) };
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
    const paths = clusterPaths(this.stateDir(flags), args.name);
    if (!existsSync(paths.root)) {
      throw new NkdError(`no cluster named ${args.name} in ${this.stateDir(flags)}`, ExitCode.State);
    }
    const cli = findPulumiCli(flags['pulumi-root']);
    await confirm(`Destroy every resource of cluster ${args.name}?`, flags.yes);
    const lock = lockCluster(paths.root, args.name);
    try {
      await withInterrupt((signal) =>
        destroyCluster({
          cluster: args.name,
          clusterDir: paths.root,
          cli,
          backendUrl: flags.backend,
          progress: this.progress(),
          signal,
        }),
      );
    } finally {
      lock.release();
    }
    if (!flags['keep-state']) rmSync(paths.root, { recursive: true, force: true });
    this.out(`Cluster ${args.name} destroyed${flags['keep-state'] ? `; state kept in ${paths.root}` : ''}.`);
  }
}
