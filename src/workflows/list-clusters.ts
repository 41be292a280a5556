// `nkd list`: what the state directory holds, one summary per cluster, from its files alone (nothing is
// contacted). A cluster whose files are damaged is still listed, with what is wrong, so one bad cluster
// never hides the others.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NkdError } from '../errors.js';
import { clusterPaths } from '../state/paths.js';
import { readOutputs, readPlan } from './cluster-access.js';
import { DEPLOY_PHASES, readDeployState } from './deploy-state.js';

export interface ClusterSummary {
  name: string;
  platform: string | null;
  controlPlane: number | null;
  workers: number | null;
  /** Provider outputs exist: machines were created. */
  provisioned: boolean;
  /** The last deploy phase that finished, "rendered" after a dry-run only, or null. */
  lastPhase: string | null;
  /** When that phase finished (or the plan was rendered), ISO 8601. */
  at: string | null;
  /** Why the summary is incomplete (a damaged or missing state file). */
  problem: string | null;
}

export function listClusters(stateDir: string): ClusterSummary[] {
  const dir = join(stateDir, 'clusters');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => summarize(stateDir, entry.name))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function summarize(stateDir: string, name: string): ClusterSummary {
  const paths = clusterPaths(stateDir, name);
  const summary: ClusterSummary = {
    name,
    platform: null,
    controlPlane: null,
    workers: null,
    provisioned: false,
    lastPhase: null,
    at: null,
    problem: null,
  };
  try {
    const plan = readPlan(paths);
    summary.platform = plan.platform.name;
    summary.controlPlane = plan.nodes.filter((n) => n.role === 'control-plane').length;
    summary.workers = plan.nodes.filter((n) => n.role !== 'control-plane').length;
    summary.lastPhase = 'rendered';
    summary.at = statSync(paths.plan).mtime.toISOString();
    summary.provisioned = readOutputs(paths) !== undefined;
    const phases = readDeployState(paths.root).phases;
    const last = [...DEPLOY_PHASES].reverse().find((phase) => phases[phase] !== undefined);
    if (last) {
      summary.lastPhase = last;
      summary.at = phases[last]!.finishedAt;
    }
  } catch (err) {
    if (!(err instanceof NkdError)) throw err;
    summary.problem = err.message;
  }
  return summary;
}
