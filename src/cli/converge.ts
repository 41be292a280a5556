// The part of `nkd deploy` that `nkd scale` shares: show the change in cluster terms, refuse what nkd
// will not do, ask, then run the checkpointed deploy with a live reporter.
import { providerFor } from '../../providers/registry.js';
import { confirm } from './confirm.js';
import { withInterrupt } from './interrupt.js';
import { createReporter } from './reporters/index.js';
import type { PulumiCli } from '../engine/pulumi-cli.js';
import { ensurePlugins } from '../engine/plugins.js';
import { pulumiEngine } from '../engine/pulumi-engine.js';
import type { DebugLog } from '../lib/log.js';
import { diffPlans, formatDiff, type ClusterDiff } from '../plan/diff.js';
import type { ClusterPlan } from '../plan/types.js';
import { clusterPaths } from '../state/paths.js';
import type { DeployTimeouts } from '../workflows/deploy-context.js';
import { deployWillProvision, runDeploy, type DeployResult } from '../workflows/deploy.js';
import type { PlannedCluster } from '../workflows/prepare.js';
import { preflightProvisioning } from '../workflows/provision.js';
import { plannedWithUpgrades, reconcileBeforeDeploy } from '../workflows/upgrade-record.js';
import { checkDiffPolicy, policyFor } from '../workflows/scale.js';

export interface ConvergeOptions {
  planned: PlannedCluster;
  configFile: string;
  /** Where relative hook paths start (nkd scale: the deployed config's directory). */
  baseDir?: string;
  stateDir: string;
  nkdVersion: string;
  cli: PulumiCli;
  backendUrl: string | undefined;
  /** --plugin-dir / NKD_PLUGIN_DIR: where missing Pulumi resource plugins are installed from. */
  pluginDir?: string | undefined;
  json: boolean;
  yes: boolean;
  log: DebugLog;
  out: (text: string) => void;
  timeouts: DeployTimeouts;
  allowControlPlaneChanges: boolean;
  forceDrain: boolean;
  drainTimeoutMs: number;
}

export async function converge(options: ConvergeOptions): Promise<DeployResult> {
  const { planned: asConfigured, stateDir, nkdVersion } = options;
  const paths = clusterPaths(stateDir, asConfigured.plan.name);
  // Upgrades done without --wait (or with kubectl) join the record first: new nodes get their versions.
  const unreachable = await reconcileBeforeDeploy(paths);
  const upgraded = plannedWithUpgrades(paths, asConfigured);
  const planned = upgraded.planned;
  // The change in cluster terms, refused before anything is written when nkd will not make it.
  const diff = diffPlans(upgraded.deployed, planned.plan);
  checkDiffPolicy(diff, policyFor(planned.plan, options.allowControlPlaneChanges));
  if (!options.json) {
    for (const line of [unreachable, ...upgraded.notes]) if (line) options.out(`warning: ${line}`);
    options.out(`\n${formatDiff(diff, planned.plan.name).join('\n')}`);
  } else if (unreachable) options.log.debug(unreachable);
  const willProvision = deployWillProvision({ planned: asConfigured, stateDir, nkdVersion });
  if (willProvision) preflightProvisioning(planned);
  // Every engine run (also a re-run's check) needs the provider's plugins: installed, or named now.
  await ensurePlugins(options.cli, providerFor(planned.plan.platform.name).plugins, {
    pluginDir: options.pluginDir,
    log: (line) => {
      options.log.debug(line);
      if (!options.json) options.out(line);
    },
  });
  let confirmed = options.yes;
  if (willProvision) {
    await confirm(provisionQuestion(diff, planned.plan), options.yes);
    confirmed = true;
  }
  const reporter = createReporter({ json: options.json, log: options.log });
  try {
    return await withInterrupt((signal) =>
      runDeploy({
        planned: asConfigured,
        configFile: options.configFile,
        ...(options.baseDir ? { baseDir: options.baseDir } : {}),
        stateDir,
        nkdVersion,
        engine: pulumiEngine(options.cli, options.backendUrl),
        reporter,
        log: options.log,
        signal,
        timeouts: options.timeouts,
        announceDiff: options.json,
        allowControlPlaneChanges: options.allowControlPlaneChanges,
        forceDrain: options.forceDrain,
        drainTimeoutMs: options.drainTimeoutMs,
        confirmProvisioning: async (question) => {
          if (confirmed) return;
          reporter.suspend();
          try {
            await confirm(question, false);
          } finally {
            reporter.resume();
          }
          confirmed = true;
        },
      }),
    );
  } finally {
    reporter.close();
  }
}

function provisionQuestion(diff: ClusterDiff, plan: ClusterPlan): string {
  if (diff.firstDeploy)
    return `Provision ${plan.nodes.length} node(s) for cluster ${plan.name} on ${plan.platform.name}?`;
  const parts = [
    diff.add.length > 0 ? `add ${diff.add.length}` : '',
    diff.remove.length > 0 ? `drain and remove ${diff.remove.length}` : '',
    diff.resize.length > 0 ? `resize ${diff.resize.length}` : '',
  ].filter(Boolean);
  return parts.length > 0
    ? `Apply these changes to cluster ${plan.name} (${parts.join(', ')} node(s))?`
    : `Converge the infrastructure of cluster ${plan.name} with its config?`;
}

export function deploySummary(result: DeployResult): string {
  return [
    '',
    `Cluster ${result.cluster} is deployed: API server ${result.apiServer}, ${result.nodes.length} node(s).`,
    `Kubeconfig: ${result.kubeconfig}`,
    `  export KUBECONFIG=${result.kubeconfig}    # or: nkd kubeconfig ${result.cluster} --merge`,
    `Status: nkd status ${result.cluster}`,
  ].join('\n');
}
