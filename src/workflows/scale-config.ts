// `nkd scale`: the config the cluster was last provisioned from, with another worker count. It goes
// through the same parser and checks as a file would, so a count the node network cannot hold is
// refused with the key that says so.
import { stringify } from 'yaml';
import { fileReferenceChecks } from '../config/file-checks.js';
import { formatProblem, parseClusterConfig } from '../config/load.js';
import { ExitCode, NkdError } from '../errors.js';
import { planCluster } from '../plan/plan.js';
import { loadTemplates } from '../render/templates.js';
import type { DeployedConfig } from './cluster-access.js';
import type { PlannedCluster } from './prepare.js';

export function scaledCluster(deployed: DeployedConfig, workers: number): PlannedCluster {
  const edited = structuredClone(deployed.config);
  edited.spec.workers.count = workers;
  // Fixed hosts beyond the new count would be ignored silently; keep only those still in range.
  edited.spec.workers.hosts = edited.spec.workers.hosts.slice(0, workers);
  const source = `${deployed.configFile} (with spec.workers.count: ${workers})`;
  const parsed = parseClusterConfig(stringify(edited), source, fileReferenceChecks(deployed.baseDir));
  if (!parsed.config || parsed.errors.length > 0) {
    throw new NkdError(
      `cannot scale to ${workers} worker(s)`,
      ExitCode.InvalidConfig,
      parsed.errors.map(formatProblem),
    );
  }
  return {
    config: parsed.config,
    warnings: parsed.warnings,
    plan: planCluster(parsed.config),
    templates: loadTemplates(),
  };
}
