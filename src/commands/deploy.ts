import { Flags } from '@oclif/core';
import { NkdCommand } from '../cli/base.js';
import { durationFlag } from '../cli/duration.js';
import { formatProblem } from '../config/load.js';
import { preflightEngine } from '../engine/preflight.js';
import { formatPlanSummary } from '../plan/summary.js';
import { checkClusterDirs, clusterPaths } from '../state/paths.js';
import { writePointerAssets } from '../workflows/ignition-delivery.js';
import { planFromConfig, withPreparedCluster, type PreparedCluster } from '../workflows/prepare.js';
import { plannedWithUpgrades } from '../workflows/upgrade-record.js';

export default class Deploy extends NkdCommand {
  static override summary = 'Deploy a cluster from its config, or resume/converge an earlier deploy.';
  static override description = [
    "Validates the config, plans the cluster, generates its PKI once, renders every node's Ignition and kubeadm config, then runs the deploy phases: pre-deploy hooks, provision (Pulumi), serve Ignition (OpenStack), wait for the API server, install the network plugin, wait for the nodes, install Housekeeper, apply post-deploy manifests.",
    'Each finished phase is recorded in the cluster state. Running the same command again (after Ctrl-C, a crash, a timeout or a fixed config) verifies the finished phases and resumes from the first unfinished one; it never creates machines twice or regenerates secrets. Only one nkd works on a cluster at a time.',
    'Progress: a live task list on a terminal, timestamped lines otherwise, one JSON object per line with --json (the last one is {"type":"result",...}). A debug log is always written to <state-dir>/clusters/<name>/logs/nkd-debug.log.',
    'With --dry-run nothing is provisioned: the rendered files are written under <state-dir>/clusters/<name>/assets/, byte-identical on every run.',
    'Exit codes: 0 done, 2 usage, 3 invalid config, 4 cluster state (e.g. locked), 5 Pulumi CLI missing or older than 3.181, or a resource plugin missing, 6 provisioning failed, 7 a wait timed out (with diagnostics), 8 the cluster refused an add-on or manifest, 9 a pre-deploy hook failed, 130 interrupted (re-run to resume).',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> deploy -f cluster.yaml',
    '<%= config.bin %> deploy -f cluster.yaml --yes --json > deploy-events.jsonl',
    '<%= config.bin %> deploy -f cluster.yaml --dry-run',
    '<%= config.bin %> deploy -f cluster.yaml --dry-run --json | jq .nodes',
    '<%= config.bin %> deploy -f cluster.yaml --nodes-timeout 45m',
    '<%= config.bin %> deploy -f openstack.yaml --plugin-dir ./pulumi-plugins   # offline: pulumi-resource-openstack from a directory',
    'NKD_PASSPHRASE_FILE=~/team.passphrase <%= config.bin %> deploy -f cluster.yaml --backend s3://team-bucket/nkd',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    file: Flags.string({ char: 'f', description: 'Cluster config file (- for stdin)', required: true }),
    'dry-run': Flags.boolean({
      description: 'Validate, plan and render everything; touch no infrastructure',
    }),
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation (for CI)' }),
    backend: Flags.string({
      description:
        'Pulumi backend URL for the cluster stack (s3://, azblob://, gs://, https://...) [default: file:// in the state dir]; a shared backend takes the team passphrase from NKD_PASSPHRASE_FILE / NKD_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE[_FILE])',
      env: 'NKD_BACKEND_URL',
    }),
    'pulumi-root': Flags.string({ description: 'Directory holding bin/pulumi', env: 'NKD_PULUMI_ROOT' }),
    'plugin-dir': Flags.string({
      description:
        'Directory holding Pulumi resource plugins to install when missing (pulumi-resource-NAME or its release tarball; for offline sites)',
      env: 'NKD_PLUGIN_DIR',
    }),
    'fetch-timeout': durationFlag({
      description: 'How long every node may take to fetch its Ignition config (OpenStack)',
      default: '30m',
    }),
    'api-timeout': durationFlag({ description: 'How long to wait for the API server', default: '20m' }),
    'nodes-timeout': durationFlag({
      description: 'How long to wait for every node to be Ready',
      default: '30m',
    }),
    'addons-timeout': durationFlag({
      description: 'How long each add-on (network plugin, Housekeeper) may take to roll out',
      default: '15m',
    }),
    'hook-timeout': durationFlag({ description: 'How long each pre-deploy hook may run', default: '10m' }),
    'allow-control-plane-changes': Flags.boolean({
      description: 'Allow adding control-plane nodes to a running cluster (etcd membership changes)',
    }),
    force: Flags.boolean({
      description:
        'Scale-down: delete pods whose eviction a PodDisruptionBudget still blocks at the drain timeout',
    }),
    'drain-timeout': durationFlag({
      description: 'Scale-down: how long each removed node may take to drain',
      default: '5m',
    }),
  };

  protected static override streamsJsonLines = true;

  async run(): Promise<object> {
    const { flags } = await this.parse(Deploy);
    // Checked before anything is written: without the engine nothing can be provisioned.
    const cli = flags['dry-run']
      ? undefined
      : await preflightEngine({ pulumiRoot: flags['pulumi-root'], backendUrl: flags.backend });
    const stateDir = this.stateDir(flags, { write: true });
    const planned = await planFromConfig(flags.file, this.debugLog);
    const paths = clusterPaths(stateDir, planned.plan.name);
    checkClusterDirs(paths);
    // What the nodes get: the versions of the cluster's recorded upgrades where the config is older.
    const upgraded = plannedWithUpgrades(paths, planned);
    if (!this.jsonEnabled()) {
      for (const w of planned.warnings) process.stderr.write(`warning: ${formatProblem(w)}\n`);
      this.out(formatPlanSummary(upgraded.planned.plan));
      if (!cli) for (const note of upgraded.notes) process.stderr.write(`warning: ${note}\n`);
    }
    if (!cli) return this.dryRun(upgraded.planned, stateDir);

    // The deploy workflow (add-ons, cluster clients, engine) loads only when provisioning: not for --dry-run.
    const { converge, deploySummary } = await import('../cli/converge.js');
    const result = await converge({
      planned,
      configFile: flags.file,
      stateDir,
      nkdVersion: this.config.version,
      cli,
      backendUrl: flags.backend,
      pluginDir: flags['plugin-dir'],
      json: this.jsonEnabled(),
      yes: flags.yes,
      log: this.debugLog,
      out: (text) => this.out(text),
      timeouts: {
        fetchMs: flags['fetch-timeout'],
        apiMs: flags['api-timeout'],
        nodesMs: flags['nodes-timeout'],
        addonsMs: flags['addons-timeout'],
        hookMs: flags['hook-timeout'],
      },
      allowControlPlaneChanges: flags['allow-control-plane-changes'],
      forceDrain: flags.force,
      drainTimeoutMs: flags['drain-timeout'],
    });
    if (!this.jsonEnabled()) this.out(deploySummary(result));
    return { type: 'result', dryRun: false, ...result };
  }

  private async dryRun(
    planned: Awaited<ReturnType<typeof planFromConfig>>,
    stateDir: string,
  ): Promise<object> {
    const progress = this.progress();
    return withPreparedCluster(planned, { stateDir, log: this.debugLog, progress }, async (prepared) => {
      const pointers = await writePointerAssets(prepared);
      if (!this.jsonEnabled()) {
        this.out(`\nDry run: nothing was provisioned. Ignition configs: ${prepared.paths.ignition}`);
        if (pointers) this.out(`Pointer configs (instance user data): ${pointers}`);
      }
      return this.dryRunResult(prepared);
    });
  }

  private dryRunResult(prepared: PreparedCluster): object {
    return {
      type: 'result',
      provisioned: null,
      cluster: prepared.plan.name,
      dryRun: true,
      clusterDir: prepared.paths.root,
      plan: prepared.paths.plan,
      pkiCreated: prepared.pkiCreated,
      warnings: prepared.warnings,
      nodes: prepared.rendered.map((r) => ({
        name: r.node.name,
        role: r.node.role,
        bootstrap: r.node.bootstrap,
        address: r.node.address,
        ignition: `${prepared.paths.ignition}/${r.node.name}.ign`,
        kubeadm: `${prepared.paths.kubeadm}/${r.node.name}.yaml`,
      })),
    };
  }
}
