// `nkd deploy`: render (always; deterministic and cheap), then the checkpointed phases. Finished phases
// whose inputs are unchanged are verified and skipped; the first one that must run invalidates the rest,
// so a re-run after Ctrl-C, a crash, a timeout or a fixed config resumes where the work stopped and
// never provisions twice or regenerates a secret.
import { dirname, resolve } from 'node:path';
import type { ClusterClient } from '../cluster/types.js';
import { ExitCode, NkdError } from '../errors.js';
import { invalidateFrom, readDeployState, writeDeployState, type DeployState } from './deploy-state.js';
import { adminClientFor, apiTarget, readOutputs } from './cluster-access.js';
import { diffPlans, formatDiff, type ClusterDiff } from '../plan/diff.js';
import { checkDiffPolicy, policyFor, joinTokensFor, type JoinToken } from './scale.js';
import type { DeployContext, DeployOptions } from './deploy-context.js';
import { buildPhases, provisionDigest, type Phase } from './deploy-phases.js';
import type { NodeState } from './events.js';
import { clusterPaths } from '../state/paths.js';
import { withPreparedCluster } from './prepare.js';
import { plannedWithUpgrades } from './upgrade-record.js';

export interface DeployResult {
  cluster: string;
  clusterDir: string;
  kubeconfig: string;
  apiServer: string;
  phases: Record<string, 'ran' | 'verified' | 'not-applicable'>;
  nodes: { name: string; role: string; address: string; state: NodeState }[];
}

/** Whether a deploy of this plan would provision (and so ask first); reads the state, writes nothing. */
export function deployWillProvision(
  options: Pick<DeployOptions, 'planned' | 'stateDir' | 'nkdVersion'>,
): boolean {
  const paths = clusterPaths(options.stateDir, options.planned.plan.name);
  const state = readDeployState(paths.root);
  const { planned } = plannedWithUpgrades(paths, options.planned);
  return state.phases.provision?.digest !== provisionDigest(planned, options.nkdVersion);
}

export function configBaseDir(configFile: string): string {
  return configFile === '-' ? process.cwd() : dirname(resolve(configFile));
}

export async function runDeploy(options: DeployOptions): Promise<DeployResult> {
  const { reporter, log } = options;
  const progress = { step: (message: string) => reporter.emit({ type: 'info', message }) };
  const renderStarted = Date.now();
  reporter.emit({ type: 'phase', phase: 'render', state: 'started', message: 'Rendering the cluster' });
  const paths = clusterPaths(options.stateDir, options.planned.plan.name);
  // New nodes boot on the versions the cluster's completed upgrades brought it to, not the config's.
  const upgraded = plannedWithUpgrades(paths, options.planned);
  const planned = upgraded.planned;
  const diff = diffPlans(upgraded.deployed, planned.plan);
  checkDiffPolicy(diff, policyFor(planned.plan, options.allowControlPlaneChanges ?? false));
  for (const note of upgraded.notes) reporter.emit({ type: 'warning', message: note });
  if (options.announceDiff !== false) {
    for (const line of formatDiff(diff, planned.plan.name)) reporter.emit({ type: 'info', message: line });
  }
  let joinToken: JoinToken | undefined;
  const joinTokens = (p: typeof paths) => {
    // Until the API server has answered once, the first control plane has not bootstrapped the cluster:
    // nodes added meanwhile are part of the first deploy and join with its token.
    if (diff.firstDeploy || readDeployState(p.root).apiAnsweredAt === undefined)
      return new Map<string, string>();
    // Nodes not yet provisioned are "added" (also on a resumed scale-out, whose provision is unfinished).
    const tokens = joinTokensFor(p, planned.plan, diff.add);
    joinToken = tokens.current;
    return tokens.byNode;
  };
  return withPreparedCluster(
    planned,
    { stateDir: options.stateDir, log, progress, joinTokens },
    async (prepared) => {
      reporter.emit({
        type: 'phase',
        phase: 'render',
        state: 'done',
        message: `Rendered ${prepared.rendered.length} node(s)`,
        elapsedMs: Date.now() - renderStarted,
      });
      const state = readDeployState(prepared.paths.root);
      const ctx = createContext(options, prepared, state, diff, joinToken);
      for (const node of prepared.plan.nodes) ctx.nodeState(node.name, 'planned');
      const { phases, cleanup } = await buildPhases(ctx);
      const outcome: DeployResult['phases'] = {};
      try {
        await runPhases(ctx, phases, outcome);
      } finally {
        await cleanup();
        ctx.closeClient();
      }
      const target = apiTarget(prepared.plan, ctx.outputs);
      return {
        cluster: prepared.plan.name,
        clusterDir: prepared.paths.root,
        kubeconfig: prepared.paths.adminKubeconfig,
        apiServer: target.server,
        phases: outcome,
        nodes: prepared.plan.nodes.map((n) => ({
          name: n.name,
          role: n.role,
          address: n.address,
          state: ctx.currentNodeState(n.name),
        })),
      };
    },
  );
}

async function runPhases(
  ctx: DeployContext & { closeClient(): void },
  phases: Phase[],
  outcome: DeployResult['phases'],
): Promise<void> {
  const { reporter } = ctx.options;
  let redo = false;
  for (const phase of phases) {
    if (ctx.options.signal.aborted)
      throw new NkdError('interrupted; run the same command again to resume', ExitCode.Interrupted);
    const record = ctx.state.phases[phase.name];
    const finished = !redo && record?.digest === phase.digest;
    if (phase.notApplicable !== undefined) {
      if (!finished) markDone(ctx, phase);
      outcome[phase.name] = 'not-applicable';
      reporter.emit({
        type: 'phase',
        phase: phase.name,
        state: 'skipped',
        reason: phase.notApplicable,
        message: `${phase.name}: skipped (${phase.notApplicable})`,
      });
      continue;
    }
    if (finished && (await (phase.verify?.() ?? Promise.resolve(true)))) {
      outcome[phase.name] = 'verified';
      reporter.emit({
        type: 'phase',
        phase: phase.name,
        state: 'skipped',
        reason: 'done earlier, verified',
        message: `${phase.name}: done earlier (${record!.finishedAt}), verified`,
      });
      continue;
    }
    // From here on everything runs: later phases built on what this one is about to redo.
    redo = true;
    invalidateFrom(ctx.state, phase.name);
    ctx.saveState();
    const started = Date.now();
    reporter.emit({ type: 'phase', phase: phase.name, state: 'started', message: `${phase.name}: started` });
    try {
      await phase.run();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      reporter.emit({
        type: 'phase',
        phase: phase.name,
        state: 'failed',
        message: `${phase.name}: failed: ${message.split('\n')[0]}`,
        elapsedMs: Date.now() - started,
      });
      throw err;
    }
    markDone(ctx, phase);
    outcome[phase.name] = 'ran';
    reporter.emit({
      type: 'phase',
      phase: phase.name,
      state: 'done',
      message: `${phase.name}: done`,
      elapsedMs: Date.now() - started,
    });
  }
}

function markDone(ctx: DeployContext, phase: Phase): void {
  ctx.state.phases[phase.name] = { digest: phase.digest, finishedAt: new Date().toISOString() };
  ctx.saveState();
}

function createContext(
  options: DeployOptions,
  prepared: Parameters<Parameters<typeof withPreparedCluster>[2]>[0],
  state: DeployState,
  diff: ClusterDiff,
  joinToken: JoinToken | undefined,
): DeployContext & { closeClient(): void; currentNodeState(name: string): NodeState } {
  const { reporter } = options;
  const nodeStates = new Map<string, NodeState>();
  const roles = new Map(prepared.plan.nodes.map((n) => [n.name, n.role]));
  let client: { key: string; client: ClusterClient } | undefined;
  const ctx = {
    options,
    prepared,
    state,
    log: options.log,
    baseDir: options.baseDir ?? configBaseDir(options.configFile),
    diff,
    joinToken,
    outputs: readOutputs(prepared.paths),
    info: (message: string) => reporter.emit({ type: 'info', message }),
    warn: (message: string) => reporter.emit({ type: 'warning', message }),
    nodeState(node: string, next: NodeState) {
      if (nodeStates.get(node) === next) return;
      nodeStates.set(node, next);
      if (next === 'planned') return;
      reporter.emit({
        type: 'node',
        node,
        role: roles.get(node) ?? 'worker',
        state: next,
        message: `node ${node}: ${next}`,
      });
    },
    currentNodeState: (name: string) => nodeStates.get(name) ?? 'planned',
    saveState: () => writeDeployState(prepared.paths.root, state),
    client(): ClusterClient {
      const target = apiTarget(prepared.plan, ctx.outputs);
      const key = JSON.stringify(target);
      if (client?.key !== key) {
        client?.client.close();
        client = {
          key,
          client: adminClientFor(prepared.pki, target),
        };
      }
      return client.client;
    },
    closeClient: () => client?.client.close(),
    waitTuning: () => ({ ...options.waitTuning, signal: options.signal }),
    consoleHints(): string[] {
      const logs = (ctx.outputs?.nodes ?? [])
        .filter((n) => n.consoleLog)
        .map((n) => `  ${n.name}: ${n.consoleLog}`);
      return [
        ...(logs.length > 0 ? ['serial console logs:', ...logs] : []),
        `debug log: ${prepared.paths.logs}/nkd-debug.log`,
      ];
    },
  };
  return ctx;
}
