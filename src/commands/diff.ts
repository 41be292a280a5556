import { Flags } from '@oclif/core';
import { NkdCommand } from '../cli/base.js';
import { formatProblem } from '../config/load.js';
import { ExitCode, NkdError } from '../errors.js';
import { diffPlans, formatDiff } from '../plan/diff.js';
import { clusterPaths } from '../state/paths.js';
import { formatDrift, readLiveDrift } from '../workflows/live-drift.js';
import { checkDiffPolicy, policyFor } from '../workflows/scale.js';
import { planFromConfig } from '../workflows/prepare.js';
import { plansWithUpgrades, reconcileBeforeDeploy } from '../workflows/upgrade-record.js';

export default class Diff extends NkdCommand {
  static override summary = 'Show what deploying this config would change in the cluster, without acting.';
  static override description = [
    "Compares the config with the plan the cluster was last provisioned for (in its state) and prints the consequences in cluster terms: nodes added, nodes drained and removed, nodes resized, control-plane changes and what they mean for etcd quorum. Settings that cannot change in place (platform, node network, pod and service subnets, DNS domain, API endpoint, runtime, network plugin, an existing node's address or role) are reported as errors; Kubernetes and OS versions change with `nkd upgrade`. After an upgrade the comparison is with the versions it completed: a config naming them shows no change, one naming older ones keeps the upgraded ones with a warning saying which edit matches the cluster.",
    'Exit codes: 0 (changes or "nothing to do"), 2 usage, 3 invalid config or a change nkd refuses to make.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> diff -f cluster.yaml',
    '<%= config.bin %> diff -f cluster.yaml --json | jq .add',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    file: Flags.string({ char: 'f', description: 'Cluster config file (- for stdin)', required: true }),
    offline: Flags.boolean({
      description: 'Compare with the recorded state only; do not ask the live cluster',
    }),
    'allow-control-plane-changes': Flags.boolean({
      description: 'Judge as `deploy --allow-control-plane-changes` would (adding control-plane nodes)',
    }),
  };

  async run(): Promise<object> {
    const { flags } = await this.parse(Diff);
    const stateDir = this.stateDir(flags);
    const planned = await planFromConfig(flags.file, this.debugLog);
    const paths = clusterPaths(stateDir, planned.plan.name);
    // Upgrades the live cluster completed join the record first (not --offline): no phantom drift.
    const unreachable = flags.offline ? undefined : await reconcileBeforeDeploy(paths, 5000);
    const plans = plansWithUpgrades(paths, planned.plan);
    const diff = diffPlans(plans.deployed, plans.desired);
    const lines = formatDiff(diff, planned.plan.name);
    const json = this.jsonEnabled();
    // The listing is the output, refused changes included: on stdout, before any refusal.
    if (!json) {
      for (const w of planned.warnings) process.stderr.write(`warning: ${formatProblem(w)}\n`);
      for (const note of [unreachable, ...plans.notes]) if (note) process.stderr.write(`warning: ${note}\n`);
      this.out(lines.join('\n'));
    }
    if (diff.forbidden.length > 0) {
      throw new NkdError(
        `${diff.forbidden.length} change(s) cannot be made to the deployed cluster ${planned.plan.name}`,
        ExitCode.InvalidConfig,
        json ? lines.slice(1) : [],
      );
    }
    // The same rules deploy applies: removing control-plane nodes is refused, growing it needs the flag.
    checkDiffPolicy(diff, policyFor(planned.plan, flags['allow-control-plane-changes']));
    // The live cluster, when it answers: drift the recorded state cannot show.
    const live = diff.firstDeploy || flags.offline ? undefined : await readLiveDrift(paths);
    const drift = live ? formatDrift(live) : [];
    if (!json && drift.length > 0) this.out(drift.join('\n'));
    return {
      cluster: planned.plan.name,
      firstDeploy: diff.firstDeploy,
      unchanged: diff.unchanged,
      add: diff.add.map((n) => ({ name: n.name, role: n.role, address: n.address })),
      remove: diff.remove.map((n) => ({ name: n.name, role: n.role, address: n.address })),
      resize: diff.resize,
      controlPlane: diff.controlPlane,
      notes: diff.notes,
      upgrades: plans.notes,
      live: live ?? null,
    };
  }
}
