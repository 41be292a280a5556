// Checks on provisioning that need no infrastructure, run before the user is asked and before anything
// is written. The provisioning itself is the deploy's `provision` phase (deploy-phases.ts).
import { providerFor } from '../../providers/registry.js';
import { requireIgnitionService } from './ignition-delivery.js';
import type { PlannedCluster } from './prepare.js';

export function preflightProvisioning(planned: PlannedCluster): void {
  const provider = providerFor(planned.plan.platform.name);
  const platformConfig = planned.config.spec.platform[planned.plan.platform.name];
  if (provider.delivery === 'pointer') requireIgnitionService(provider, platformConfig);
}
