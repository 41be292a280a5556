import { existsSync } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { NkdCommand } from '../cli/base.js';
import { confirm } from '../cli/confirm.js';
import { withInterrupt } from '../cli/interrupt.js';
import { createReporter } from '../cli/reporters/index.js';
import { pulumiEngine } from '../engine/pulumi-engine.js';
import { findPulumiCli } from '../engine/pulumi-cli.js';
import { stackPaths } from '../engine/stack.js';
import { clusterPaths, ensurePrivateDir } from '../state/paths.js';
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
    '<%= config.bin %> destroy demo --yes --json',
  ];
  static override enableJsonFlag = true;
  protected static override streamsJsonLines = true;
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

  async run(): Promise<object> {
    const { args, flags } = await this.parse(Destroy);
    const stateDir = this.stateDir(flags);
    const paths = clusterPaths(stateDir, args.name);
    if (!existsSync(paths.root)) {
      if (!this.jsonEnabled())
        process.stderr.write(`No cluster named ${args.name} in ${stateDir}: nothing to destroy.\n`);
      return { type: 'result', cluster: args.name, existed: false, provisioned: false, stateKept: false };
    }
    const provisioned =
      flags.backend !== undefined || existsSync(stackPaths(paths.root, undefined).engineDir);
    const engine = provisioned ? pulumiEngine(findPulumiCli(flags['pulumi-root']), flags.backend) : undefined;
    const keep = flags['keep-state'] === true; // undefined when not given
    await confirm(
      provisioned
        ? `Destroy every resource of cluster ${args.name}${keep ? ' (keeping its local state)' : ''}?`
        : keep
          ? `Forget the provisioning records of cluster ${args.name} (never provisioned; its local state is kept)?`
          : `Remove the state of cluster ${args.name} (never provisioned)?`,
      flags.yes,
    );
    const reporter = createReporter({ json: this.jsonEnabled(), log: this.debugLog });
    let done: Awaited<ReturnType<typeof runDestroy>>;
    try {
      done = await withInterrupt((signal) =>
        runDestroy({ cluster: args.name, paths, engine, reporter, signal, keepState: keep }),
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
    if (!this.jsonEnabled()) this.out(destroyedText(args.name, done.engineRan, keep, paths.root));
    return {
      type: 'result',
      cluster: args.name,
      existed: true,
      provisioned: done.engineRan,
      stateKept: keep,
      ...(keep ? { stateDir: paths.root } : {}),
    };
  }
}

/** The last line, true to what happened: infrastructure destroyed or none, state removed or kept. */
function destroyedText(name: string, engineRan: boolean, keep: boolean, root: string): string {
  if (engineRan) return `Cluster ${name} destroyed${keep ? `; its local state is kept in ${root}` : ''}.`;
  return keep
    ? `Cluster ${name} was never provisioned: nothing destroyed; its local state is kept in ${root}.`
    : `Cluster ${name} was never provisioned: its local state was removed.`;
}
