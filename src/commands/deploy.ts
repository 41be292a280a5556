import { Flags } from '@oclif/core';
import { NkdCommand } from '../cli/base.js';
import { formatProblem } from '../config/load.js';
import { ExitCode, NkdError } from '../errors.js';
import { formatPlanSummary } from '../plan/summary.js';
import { prepareCluster } from '../workflows/prepare.js';

export default class Deploy extends NkdCommand {
  static override summary = 'Deploy a cluster from its config (validate, plan, render, provision, wait).';
  static override description = [
    "With --dry-run nkd validates the config, plans the cluster, generates its PKI once (reused on every later run) and writes every node's complete Ignition config and kubeadm file under <state-dir>/clusters/<name>/assets/, touching no infrastructure. Running it twice gives byte-identical files.",
    'Exit codes: 0 done, 2 usage error, 3 invalid config (one FILE:LINE:COL line per problem), 4 cluster state error, 1 internal error.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> deploy -f cluster.yaml --dry-run',
    '<%= config.bin %> deploy -f cluster.yaml --dry-run --json | jq .nodes',
    'NKD_STATE_DIR=./state <%= config.bin %> deploy -f examples/libvirt.yaml --dry-run',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    file: Flags.string({ char: 'f', description: 'Cluster config file', required: true }),
    'dry-run': Flags.boolean({
      description: 'Validate, plan and render everything; touch no infrastructure',
    }),
    yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation (for CI)' }),
  };

  async run(): Promise<object> {
    const { flags } = await this.parse(Deploy);
    if (!flags['dry-run']) {
      // Provisioning lands with the Pulumi providers; refusing up front keeps state untouched.
      throw new NkdError(
        "provisioning is not available in this build yet; run with --dry-run to render every node's configuration",
        ExitCode.Usage,
      );
    }
    const prepared = await prepareCluster({
      configFile: flags.file,
      stateDir: this.stateDir(flags),
      log: this.debugLog,
      progress: this.progress(),
    });
    if (!this.jsonEnabled()) {
      for (const w of prepared.warnings) process.stderr.write(`warning: ${formatProblem(w)}\n`);
      this.out(formatPlanSummary(prepared.plan));
      this.out(`\nDry run: nothing was provisioned. Ignition configs: ${prepared.paths.ignition}`);
    }
    return {
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
