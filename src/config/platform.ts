// Which platform a config selects, and its node network, independent of the platform's other keys.
import { PLATFORM_NAMES, providerFor, type PlatformName } from '../../providers/registry.js';
import type { NodeNetworkConfig, PlatformSetting } from '../../providers/types.js';
import type { ClusterConfig } from './schema.js';

export { PLATFORM_NAMES, type PlatformName };

export function selectedPlatforms(config: ClusterConfig): PlatformName[] {
  return PLATFORM_NAMES.filter((name) => config.spec.platform[name] !== undefined);
}

export interface PlatformNetworkConfig extends NodeNetworkConfig {
  platform: PlatformName;
  path: readonly string[];
}

/** The node network of the single selected platform; undefined unless exactly one is selected. */
export function platformNetwork(config: ClusterConfig): PlatformNetworkConfig | undefined {
  const [platform, ...rest] = selectedPlatforms(config);
  if (platform === undefined || rest.length > 0) return undefined;
  const network = providerFor(platform).nodeNetwork(config.spec.platform[platform]);
  return { platform, ...network, path: ['spec', 'platform', platform, 'network'] };
}

/** How the selected platform sizes nodes and which of its settings the plan records (for the diff). */
export function platformSettings(config: ClusterConfig): {
  nodeSizing: 'config' | 'platform';
  settings: PlatformSetting[];
} {
  const [platform, ...rest] = selectedPlatforms(config);
  if (platform === undefined || rest.length > 0) return { nodeSizing: 'config', settings: [] };
  const provider = providerFor(platform);
  return {
    nodeSizing: provider.nodeSizing ?? 'config',
    settings: provider.planSettings?.(config.spec.platform[platform]) ?? [],
  };
}
