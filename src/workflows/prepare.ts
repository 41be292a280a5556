// validate → plan → PKI → render → write assets: everything a deployment needs before touching
// infrastructure. Nothing is written until the config is known to be valid and the templates load.
import { rmSync } from 'node:fs';
import { configDisplayName, formatProblem, loadClusterConfig, type ConfigProblem } from '../config/load.js';
import type { ClusterConfig } from '../config/schema.js';
import { ExitCode, NkdError } from '../errors.js';
import type { DebugLog } from '../lib/log.js';
import {
  loadOrCreatePkiStaged,
  PkiStateError,
  renderAdminKubeconfig,
  type StagedPkiResult,
} from '../pki/index.js';
import type { ClusterPki } from '../pki/types.js';
import { lockCluster } from '../state/lock.js';
import { planCluster } from '../plan/plan.js';
import { apiTarget, readOutputs } from './cluster-access.js';
import { checkClusterState } from './state-check.js';
import type { ClusterPlan } from '../plan/types.js';
import { renderNode, type RenderedNode } from '../render/node.js';
import { loadTemplates, type TemplateSet } from '../render/templates.js';
import {
  clusterPaths,
  ensurePrivateDir,
  syncDirectory,
  writeFilesIfChanged,
  writePrivateFile,
  type ClusterPaths,
} from '../state/paths.js';

export interface Progress {
  step(message: string): void;
}

export interface PrepareOptions {
  stateDir: string;
  log: DebugLog;
  progress: Progress;
  /**
   * Called under the lock before rendering: node name → the bootstrap token that node joins with instead
   * of the deploy-time one (nodes added to a running cluster get a fresh, short-lived token).
   */
  joinTokens?: (paths: ClusterPaths) => ReadonlyMap<string, string>;
}

export interface PreparedCluster {
  config: ClusterConfig;
  plan: ClusterPlan;
  paths: ClusterPaths;
  rendered: RenderedNode[];
  warnings: ConfigProblem[];
  pkiCreated: boolean;
  pki: ClusterPki;
}

/** Loads and validates the config; invalid configs become one NkdError listing every problem. */
export async function validateConfigFile(
  file: string,
  log: DebugLog,
): Promise<{ config: ClusterConfig; warnings: ConfigProblem[] }> {
  const parsed = await loadClusterConfig(file);
  for (const p of [...parsed.errors, ...parsed.warnings])
    log.debug(`config ${p.severity}: ${formatProblem(p)}`);
  if (!parsed.config || parsed.errors.length > 0) {
    const count = parsed.errors.length;
    const details = [
      ...parsed.errors.map(formatProblem),
      ...parsed.warnings.map((w) => `warning: ${formatProblem(w)}`),
    ];
    const message = `${configDisplayName(file)} is invalid (${count} problem${count === 1 ? '' : 's'})`;
    throw new NkdError(message, ExitCode.InvalidConfig, details, [...parsed.errors, ...parsed.warnings]);
  }
  return { config: parsed.config, warnings: parsed.warnings };
}

export interface PlannedCluster {
  config: ClusterConfig;
  warnings: ConfigProblem[];
  plan: ClusterPlan;
  templates: TemplateSet;
}

/** Everything that can fail on input, with no write at all: validate, plan, load templates. */
export async function planFromConfig(configFile: string, log: DebugLog): Promise<PlannedCluster> {
  const { config, warnings } = await validateConfigFile(configFile, log);
  const plan = planCluster(config);
  log.debug(`planned ${plan.nodes.length} nodes for cluster ${plan.name}`);
  return { config, warnings, plan, templates: loadTemplates() };
}

/**
 * Writes the cluster's assets, then runs `work` on them while still holding the cluster lock, so a
 * whole deploy (render, provision, wait) is one exclusive operation on the cluster.
 */
export async function withPreparedCluster<T>(
  planned: PlannedCluster,
  options: PrepareOptions,
  work: (prepared: PreparedCluster) => Promise<T>,
): Promise<T> {
  const { log, progress } = options;
  const { config, warnings, plan } = planned;

  // First write: from here on the cluster has state, and the debug log lives with it.
  const paths = clusterPaths(options.stateDir, plan.name);
  ensurePrivateDir(paths.root);
  ensurePrivateDir(paths.logs);
  log.attachToCluster(paths.logs);

  const lock = lockCluster(paths.root, plan.name);
  try {
    const renderStarted = Date.now();
    // Everything that can refuse the command reads first: a refused command changes nothing.
    checkClusterState(paths);
    const staged = await stagePki(paths);
    // The completion marker goes first: assets are about to change.
    rmSync(paths.plan, { force: true });
    const tokens = options.joinTokens?.(paths) ?? new Map<string, string>();
    const { pki, created, rendered } = await renderWithPki(planned, paths, staged, progress, log, tokens);
    writeAssets(paths, plan, rendered);
    // The provider's reachable endpoint once provisioned (deploy rewrites it after provisioning).
    const target = apiTarget(plan, readOutputs(paths));
    writePrivateFile(
      paths.adminKubeconfig,
      renderAdminKubeconfig(pki, plan.name, target.server, target.tlsServerName),
    );
    log.debug(`rendered and wrote ${rendered.length} nodes in ${Date.now() - renderStarted} ms`);
    progress.step(
      `Rendered Ignition and kubeadm configs for ${rendered.length} node(s) into ${paths.assets}`,
    );
    return await work({ config, plan, paths, rendered, warnings, pkiCreated: created, pki });
  } finally {
    lock.release();
  }
}

/**
 * Renders every node. On a first run the service-account key (RSA, the slow part of the PKI) is still
 * being generated while the workers, which never receive it, are rendered and written; the control
 * plane follows once it is ready. Nodes come back in plan order.
 */
async function renderWithPki(
  planned: PlannedCluster,
  paths: ClusterPaths,
  staged: StagedPkiResult,
  progress: Progress,
  log: DebugLog,
  tokens: ReadonlyMap<string, string>,
) {
  const { plan, templates } = planned;
  const started = Date.now();
  const workers = plan.nodes.filter((n) => n.role === 'worker');
  const early = workers.map((node) =>
    renderNode({ plan, pki: withToken(staged.partial, tokens.get(node.name)), templates }, node),
  );
  writeNodeFiles(paths, early);
  const pki = await staged.complete;
  progress.step(
    staged.created ? `Generated the cluster PKI in ${paths.pki}` : `Reusing the cluster PKI in ${paths.pki}`,
  );
  log.debug(
    `pki ${staged.created ? 'generated' : 'loaded'}; first ${early.length} node(s) rendered in ${Date.now() - started} ms`,
  );
  const byName = new Map(early.map((r) => [r.node.name, r]));
  const rendered = plan.nodes.map(
    (node) =>
      byName.get(node.name) ??
      renderNode({ plan, pki: withToken(pki, tokens.get(node.name)), templates }, node),
  );
  return { pki, created: staged.created, rendered };
}

/** The stored PKI, or its generation started; a PKI nkd may not reuse refuses the command (exit 4). */
async function stagePki(paths: ClusterPaths): Promise<StagedPkiResult> {
  try {
    return await loadOrCreatePkiStaged(paths.pki);
  } catch (err) {
    if (err instanceof PkiStateError) throw new NkdError(err.message, ExitCode.State);
    throw err;
  }
}

/** Writes nodes' files ahead of the full sync (which then finds them unchanged). */
function writeNodeFiles(paths: ClusterPaths, rendered: RenderedNode[]): void {
  writeFilesIfChanged(paths.ignition, new Map(rendered.map((r) => [`${r.node.name}.ign`, r.ignitionText])));
  writeFilesIfChanged(paths.kubeadm, new Map(rendered.map((r) => [`${r.node.name}.yaml`, r.kubeadmText])));
}

/** plan.json is written last: it marks the assets as complete for that plan. */
function writeAssets(paths: ClusterPaths, plan: ClusterPlan, rendered: RenderedNode[]): void {
  rmSync(paths.plan, { force: true });
  ensurePrivateDir(paths.assets);
  syncDirectory(paths.ignition, new Map(rendered.map((r) => [`${r.node.name}.ign`, r.ignitionText])));
  syncDirectory(paths.kubeadm, new Map(rendered.map((r) => [`${r.node.name}.yaml`, r.kubeadmText])));
  writePrivateFile(paths.plan, `${JSON.stringify(plan, null, 2)}\n`);
}

/**
 * The PKI as one node sees it, with its own join token. Object.create rather than a spread: the staged
 * PKI's service-account getters throw until the key exists, and a spread would read them.
 */
function withToken(pki: ClusterPki, token: string | undefined): ClusterPki {
  return token === undefined ? pki : (Object.create(pki, { bootstrapToken: { value: token } }) as ClusterPki);
}
