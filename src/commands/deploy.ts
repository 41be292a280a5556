import { Flags } from '@oclif/core';
import { NkdCommand } from '../cli/base.js';
import { formatProblem } from '../config/load.js';
import type { ProvisionOutputs } from '../../providers/types.js';
import { confirm } from '../cli/confirm.js';
import { withInterrupt } from '../cli/interrupt.js';
import { findPulumiCli } from '../engine/pulumi-cli.js';
import { preflightProvisioning, provisionCluster } from '../workflows/provision.js';
import { formatPlanSummary } from '../plan/summary.js';
import { writePointerAssets } from '../workflows/ignition-delivery.js';
import { planFromConfig, withPreparedCluster, type PreparedCluster } from '../workflows/prepare.js';

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
    backend: Flags.string({
      description:
        'Pulumi backend URL for the cluster stack (s3://, azblob://, gs://, https://...) [default: file:// in the state dir]',
      env: 'NKD_BACKEND_URL',
    }),
    'pulumi-root': Flags.string({ description: 'Directory holding bin/pulumi', env: 'NKD_PULUMI_ROOT' }),
    'fetch-timeout': Flags.integer({
      description: 'Minutes to wait for every node to fetch its Ignition config (OpenStack)',
      default: 30,
      min: 1,
    }),
  };

  async run(): Promise<object> {
    const { flags } = await this.parse(Deploy);
    // Checked before anything is written: without the engine nothing can be provisioned.
    const cli = flags['dry-run'] ? undefined : findPulumiCli(flags['pulumi-root']);
    const options = {
      stateDir: this.stateDir(flags),
      log: this.debugLog,
      progress: this.progress(),
    };
    const planned = await planFromConfig(flags.file, this.debugLog);
    if (!this.jsonEnabled()) {
      for (const w of planned.warnings) process.stderr.write(`warning: ${formatProblem(w)}\n`);
      this.out(formatPlanSummary(planned.plan));
    }
    if (cli) {
      preflightProvisioning(planned);
      const n = planned.plan.nodes.length;
      await confirm(
        `Provision ${n} node(s) for cluster ${planned.plan.name} on ${planned.plan.platform.name}?`,
        flags.yes,
      );
    }
    return withPreparedCluster(planned, options, async (prepared) => {
      const pointers = await writePointerAssets(prepared);
      if (!cli) {
        if (!this.jsonEnabled()) {
          this.out(`\nDry run: nothing was provisioned. Ignition configs: ${prepared.paths.ignition}`);
          if (pointers) this.out(`Pointer configs (instance user data): ${pointers}`);
        }
        return this.result(prepared, undefined);
      }
      const outputs = await withInterrupt((signal) =>
        provisionCluster({
          prepared,
          cli,
          backendUrl: flags.backend,
          progress: this.progress(),
          log: this.debugLog,
          signal,
          fetchTimeoutMs: flags['fetch-timeout'] * 60_000,
        }),
      );
      if (!this.jsonEnabled()) {
        this.out(`\nProvisioned. API endpoint: https://${outputs.apiEndpoint}`);
        this.out(
          'Waiting for the API server and nodes, the kubeconfig, add-ons and Housekeeper are not part of this build yet.',
        );
      }
      return this.result(prepared, outputs);
    });
  }

  private result(prepared: PreparedCluster, outputs: ProvisionOutputs | undefined): object {
    return {
      provisioned: outputs ?? null,
      cluster: prepared.plan.name,
      dryRun: outputs === undefined,
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
