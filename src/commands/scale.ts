import { existsSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { clusterNameArg } from '../cli/args.js';
import { NkdCommand } from '../cli/base.js';
import { converge, deploySummary } from '../cli/converge.js';
import { durationFlag } from '../cli/duration.js';
import { preflightEngine } from '../engine/preflight.js';
import { ExitCode, NkdError } from '../errors.js';
import { clusterPaths } from '../state/paths.js';
import { readDeployedConfig } from '../workflows/cluster-access.js';
import { DEFAULT_TIMEOUTS } from '../workflows/deploy-context.js';
import { scaledCluster } from '../workflows/scale-config.js';

export default class Scale extends NkdCommand {
  static override summary =
    'Change the number of workers of a deployed cluster (a shortcut; your config file is not changed).';
  static override description = [
    'Takes the config the cluster was last provisioned from, sets spec.workers.count, and converges like `nkd deploy`: new workers are planned after the existing ones (names and addresses never move) and join with a fresh one-hour token; removed workers (the highest-numbered) are cordoned, drained (PodDisruptionBudgets honoured; --force deletes what stays blocked) and deleted before their machines go.',
    'Nothing in your config file changes: nkd says which edit makes the new count permanent. A later `nkd deploy` from the unchanged file would scale back.',
    'After `nkd upgrade`, new workers boot on the Kubernetes version and OS image of the upgrades the cluster completed (recorded in its state, and read from its Update objects first), not on the deploy-time ones.',
    'Exit codes as for deploy: 0 done, 3 a count the config cannot hold, 4 no provisioned cluster, 7 a wait timed out, 8 a drain refused, 130 interrupted (re-run to resume).',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> scale demo --workers 5',
    '<%= config.bin %> scale demo --workers 2 --yes --force',
  ];
  static override enableJsonFlag = true;
  static override args = { name: clusterNameArg({ required: true }) };
  static override flags = {
    workers: Flags.integer({ description: 'The new number of workers', required: true, min: 0 }),
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation (for CI)' }),
    force: Flags.boolean({
      description: 'Delete pods whose eviction a PodDisruptionBudget still blocks at the drain timeout',
    }),
    'drain-timeout': durationFlag({
      description: 'How long each removed worker may take to drain',
      default: '5m',
    }),
    'nodes-timeout': durationFlag({
      description: 'How long to wait for every node to be Ready',
      default: '30m',
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

  protected static override streamsJsonLines = true;

  async run(): Promise<object> {
    const { args, flags } = await this.parse(Scale);
    const stateDir = this.stateDir(flags, { write: true });
    const paths = clusterPaths(stateDir, args.name);
    if (!existsSync(paths.root))
      throw new NkdError(`no cluster named ${args.name} in ${stateDir}`, ExitCode.State);
    const deployed = readDeployedConfig(paths);
    if (!deployed) {
      throw new NkdError(
        `cluster ${args.name} in ${stateDir} was never provisioned: run \`nkd deploy -f <config>\` first`,
        ExitCode.State,
      );
    }
    const cli = await preflightEngine({
      pulumiRoot: flags['pulumi-root'],
      backendUrl: flags.backend,
      clusterDir: clusterPaths(stateDir, args.name).root,
    });
    const planned = scaledCluster(deployed, flags.workers);
    const result = await converge({
      planned,
      configFile: deployed.configFile,
      baseDir: deployed.baseDir,
      stateDir,
      nkdVersion: this.config.version,
      cli,
      backendUrl: flags.backend,
      pluginDir: flags['plugin-dir'],
      json: this.jsonEnabled(),
      yes: flags.yes,
      log: this.debugLog,
      out: (text) => this.out(text),
      timeouts: { ...DEFAULT_TIMEOUTS, nodesMs: flags['nodes-timeout'] },
      allowControlPlaneChanges: false,
      forceDrain: flags.force,
      drainTimeoutMs: flags['drain-timeout'],
    });
    const permanent = `To make this permanent, set spec.workers.count: ${flags.workers} in ${deployed.configFile === '-' ? 'your config' : deployed.configFile}: a later deploy from that file applies the count written there.`;
    if (!this.jsonEnabled()) this.out(`${deploySummary(result)}\n\n${permanent}`);
    return { type: 'result', ...result, permanent };
  }
}
