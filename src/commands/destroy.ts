import { existsSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { clusterNameArg } from '../cli/args.js';
import { NkdCommand } from '../cli/base.js';
import { isJsonObject, readStateJsonSync } from '../state/files.js';
import { confirm } from '../cli/confirm.js';
import { withInterrupt } from '../cli/interrupt.js';
import { createReporter } from '../cli/reporters/index.js';
import { pulumiEngine } from '../engine/pulumi-engine.js';
import { ensurePlugins, preflightEngine } from '../engine/preflight.js';
import { stackPaths } from '../engine/stack.js';
import type { ProvisioningEngine } from '../engine/types.js';
import { providerFor } from '../../providers/registry.js';
import type { PlatformName } from '../config/platform.js';
import { clusterPaths, ensurePrivateDir, type ClusterPaths } from '../state/paths.js';
import { runDestroy } from '../workflows/destroy.js';

export default class Destroy extends NkdCommand {
  static override summary =
    'Destroy everything a cluster owns, from its state alone (no config file needed).';
  static override description = [
    'Destroys the cluster stack through Pulumi (every machine, disk, network and Ignition volume it created, also after a provisioning that failed half-way), then removes the cluster state directory (unless --keep-state).',
    'A failure keeps the state: run the same command again. A cluster that has no state (already destroyed) is reported and exits 0. A cluster that was only rendered (deploy --dry-run) needs no Pulumi CLI to be removed.',
    "With a shared backend (--backend / NKD_BACKEND_URL, and the team passphrase in NKD_PASSPHRASE_FILE) the stack alone is enough: an operator without the cluster's local state can destroy it too.",
    'Exit codes: 0 done, 2 usage (e.g. no --yes when not on a terminal, no passphrase for a shared backend), 4 state (locked, wrong passphrase), 5 Pulumi CLI missing or too old, or a resource plugin missing, 6 the engine failed, 130 interrupted.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> destroy demo',
    '<%= config.bin %> destroy demo --yes',
    '<%= config.bin %> destroy demo --yes --keep-state',
    'NKD_PASSPHRASE_FILE=~/team.passphrase <%= config.bin %> destroy demo --yes --backend s3://team-bucket/nkd',
    '<%= config.bin %> destroy demo --yes --json',
  ];
  static override enableJsonFlag = true;
  protected static override streamsJsonLines = true;
  static override args = { name: clusterNameArg({ required: true }) };
  static override flags = {
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation (for CI)' }),
    'keep-state': Flags.boolean({
      description: "Keep the cluster's local state (PKI, assets) after destroying",
    }),
    backend: Flags.string({
      description:
        'Pulumi backend URL the cluster stack lives in; a shared backend takes the team passphrase from NKD_PASSPHRASE_FILE / NKD_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE[_FILE])',
      env: 'NKD_BACKEND_URL',
    }),
    'pulumi-root': Flags.string({ description: 'Directory holding bin/pulumi', env: 'NKD_PULUMI_ROOT' }),
    'plugin-dir': Flags.string({
      description:
        'Directory holding Pulumi resource plugins to install when missing (pulumi-resource-NAME or its release tarball; for offline sites)',
      env: 'NKD_PLUGIN_DIR',
    }),
  };

  async run(): Promise<object> {
    const { args, flags } = await this.parse(Destroy);
    const stateDir = this.stateDir(flags);
    const paths = clusterPaths(stateDir, args.name);
    // With a shared backend the stack is the state: another operator may destroy what they never deployed.
    if (!existsSync(paths.root) && flags.backend === undefined) {
      if (!this.jsonEnabled())
        process.stderr.write(`No cluster named ${args.name} in ${stateDir}: nothing to destroy.\n`);
      return { type: 'result', cluster: args.name, existed: false, provisioned: false, stateKept: false };
    }
    const provisioned =
      flags.backend !== undefined || existsSync(stackPaths(paths.root, undefined).engineDir);
    let engine: ProvisioningEngine | undefined;
    if (provisioned) {
      const cli = await preflightEngine({
        pulumiRoot: flags['pulumi-root'],
        backendUrl: flags.backend,
        clusterDir: paths.root,
      });
      await ensurePlugins(cli, plannedPlugins(paths), { pluginDir: flags['plugin-dir'] });
      engine = pulumiEngine(cli, flags.backend);
    }
    const keep = flags['keep-state'] === true; // undefined when not given
    await confirm(
      provisioned
        ? `Destroy every resource of cluster ${args.name}${keep ? ' (keeping its local state)' : ''}?`
        : keep
          ? `Forget the provisioning records of cluster ${args.name} (never provisioned; its local state is kept)?`
          : `Remove the state of cluster ${args.name} (never provisioned)?`,
      flags.yes,
    );
    ensurePrivateDir(paths.root); // the cluster lock lives there
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

/** The provider's plugins, from the plan the cluster was rendered with; none known without local state. */
function plannedPlugins(paths: ClusterPaths): readonly { name: string; version: string }[] {
  if (!existsSync(paths.plan)) return [];
  const plan = readStateJsonSync(paths.plan, 'the cluster plan', hasPlatform);
  const name = plan.platform?.name;
  return name ? providerFor(name).plugins : [];
}

function hasPlatform(v: unknown): v is { platform?: { name?: PlatformName } } {
  return isJsonObject(v) && (v.platform === undefined || isJsonObject(v.platform));
}

/** The last line, true to what happened: infrastructure destroyed or none, state removed or kept. */
function destroyedText(name: string, engineRan: boolean, keep: boolean, root: string): string {
  if (engineRan) return `Cluster ${name} destroyed${keep ? `; its local state is kept in ${root}` : ''}.`;
  return keep
    ? `Cluster ${name} was never provisioned: nothing destroyed; its local state is kept in ${root}.`
    : `Cluster ${name} was never provisioned: its local state was removed.`;
}
