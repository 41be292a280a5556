// Which platform a config selects, and its node network, independent of the platform's other keys.
import { PLATFORM_NAMES, providerFor, type PlatformName } from '../../providers/registry.js';
import type { ClusterConfig } from './schema.js';

export { PLATFORM_NAMES, type PlatformName };

export function selectedPlatforms(config: ClusterConfig): PlatformName[] {
  return PLATFORM_NAMES.filter((name) => config.spec.platform[name] !== undefined);
}

export interface PlatformNetworkConfig {
  platform: PlatformName;
  cidr: string;
  gateway: string | undefined;
  path: readonly string[];
}

/** The node network of the single selected platform; undefined unless exactly one is selected. */
export function platformNetwork(config: ClusterConfig): PlatformNetworkConfig | undefined {
  const [platform, ...rest] = selectedPlatforms(config);
  if (platform === undefined || rest.length > 0) return undefined;
  const network = providerFor(platform).nodeNetwork(config.spec.platform[platform]);
  return { platform, ...network, path: ['spec', 'platform', platform, 'network'] };
}
