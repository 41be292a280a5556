// Checks on provisioning that need no infrastructure, run before the user is asked and before anything
// is written. The provisioning itself is the deploy's `provision` phase (deploy-phases.ts).
import { providerFor } from '../../providers/registry.js';
import { formatProblem } from '../config/load.js';
import { ExitCode, NkdError } from '../errors.js';
import { requireIgnitionService } from './ignition-delivery.js';
import type { PlannedCluster } from './prepare.js';

export function preflightProvisioning(planned: PlannedCluster): void {
  const provider = providerFor(planned.plan.platform.name);
  const platformConfig = planned.config.spec.platform[planned.plan.platform.name];
  // Object-store delivery needs no Ignition service (its endpoint is checked when the program runs).
  if (provider.delivery !== 'pointer' || provider.objectStoreDelivery?.(platformConfig)) return;
  const service = provider.ignitionService?.(platformConfig);
  if (service && service.advertise === undefined) {
    // validate warned about it at its line (a dry-run needs no address): deploy refuses it there.
    const key = [...service.path, 'advertise'].join('.');
    const at = planned.warnings.find((w) => w.path === key);
    if (at) {
      throw new NkdError(
        `${at.file} cannot be deployed: ${key} is not set`,
        ExitCode.InvalidConfig,
        [formatProblem(at)],
        [{ ...at, severity: 'error' }],
      );
    }
  }
  requireIgnitionService(provider, platformConfig);
}
