// Node sizes on a platform that sizes nodes itself (OpenStack: the flavor). A size written in the
// config would silently mean nothing, so it is refused; one left out (its default) says nothing.
import { providerFor } from '../../providers/registry.js';
import { error, type Problem } from './problems.js';
import { selectedPlatforms } from './platform.js';
import type { ClusterConfig } from './schema.js';

export const NODE_SIZE_KEYS = ['cpus', 'memoryMiB', 'diskGiB'] as const;
export type NodeSizeKey = (typeof NODE_SIZE_KEYS)[number];

/** Whether the user wrote `spec.<group>.<key>` (defaults are filled in later, so only the raw input knows). */
function written(raw: unknown, group: string, key: string): boolean {
  const spec = (raw as { spec?: unknown } | null)?.spec;
  const section = (spec as Record<string, unknown> | null | undefined)?.[group];
  return typeof section === 'object' && section !== null && Object.hasOwn(section, key);
}

/**
 * Errors for every node size the user wrote on a platform that sizes nodes itself. `raw` is the config
 * as written (before defaults), so an unset size stays silent.
 */
export function checkPlatformNodeSizes(config: ClusterConfig, raw: unknown): Problem[] {
  const [name, ...rest] = selectedPlatforms(config);
  if (name === undefined || rest.length > 0) return [];
  const provider = providerFor(name);
  if (provider.nodeSizing !== 'platform') return [];
  const problems: Problem[] = [];
  for (const group of ['controlPlane', 'workers'] as const) {
    for (const key of NODE_SIZE_KEYS) {
      if (!written(raw, group, key)) continue;
      const instead = provider.sizedBy?.[key] ?? `spec.platform.${name}`;
      problems.push(error(['spec', group, key], `is not used on ${name}: ${instead}; remove it`));
    }
  }
  return problems;
}
