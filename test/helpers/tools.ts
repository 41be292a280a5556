// The real tools `npm run tools` builds (scripts/tools/build.sh): their directories come from the
// environment (NKD_PULUMI_ROOT, NKD_KUBE_BIN, ...) or, when unset, from the export lines the builder
// keeps in its cache (~/.cache/nkd-tools/env.sh or $NKD_TOOLS_CACHE/env.sh).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Requirement } from './real.js';

function cachedExports(): Record<string, string> {
  const cache = process.env.NKD_TOOLS_CACHE ?? join(homedir(), '.cache', 'nkd-tools');
  const file = join(cache, 'env.sh');
  if (!existsSync(file)) return {};
  const found: Record<string, string> = {};
  for (const m of readFileSync(file, 'utf8').matchAll(/^export (\w+)=(.*)$/gm)) found[m[1]!] = m[2]!;
  return found;
}

/** The value of a tool variable, from the environment or the builder's cache; undefined if unknown. */
export function toolEnv(name: string): string | undefined {
  return process.env[name] || cachedExports()[name] || undefined;
}

/** For describeReal: the tool variable names an existing path (`probe` relative to it). */
export function toolRequirement(name: string, probe = ''): Requirement {
  return {
    missing() {
      const dir = toolEnv(name);
      if (dir === undefined)
        return `${name} is not set and ${name} is not in the tool cache: run \`npm run tools\``;
      if (!existsSync(join(dir, probe))) return `${join(dir, probe)} does not exist: run \`npm run tools\``;
      return undefined;
    },
  };
}

/** Several requirements at once: the first missing one is reported. */
export function allOf(...requirements: Requirement[]): Requirement {
  return { missing: () => requirements.map((r) => r.missing()).find((m) => m !== undefined) };
}
