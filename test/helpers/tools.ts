/**
 * Finds the external tools `npm run tools` builds (the real Pulumi CLI, Kubernetes binaries, ...) for
 * tests that run them. A tool is named by the environment variable that points at it (NKD_PULUMI_ROOT,
 * NKD_KUBE_BIN, ...): the variable itself first, else the `export NAME=...` line the tool builder
 * writes into ~/.cache/nkd-tools/env.sh.
 *
 * In CI (`CI` set) a missing tool is a failure, never a silent skip: the real-engine tests are part
 * of every CI run. Locally the caller skips, and `skipReason` says why, visibly in the test name.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toolEnv, toolsEnvFile } from '../../scripts/lib/tool-env.js';
import type { Requirement } from './real.js';

export { exportedValue, toolEnv, toolsEnvFile } from '../../scripts/lib/tool-env.js';

/**
 * The tool's path; undefined (skip, locally) when it is missing; throws when it is missing in CI.
 * Call it at module level, so a CI run fails at collection with the reason instead of skipping.
 */
export function requireToolEnv(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = toolEnv(name, env);
  if (value !== undefined) return value;
  if (env.CI) {
    throw new Error(
      `${name} is not set and ${toolsEnvFile(env)} does not name it: run \`npm run tools\` before the tests ` +
        '(CI never skips the real-tool tests)',
    );
  }
  return undefined;
}

/** A visible reason for a local skip, for the describe() title. */
export function skipReason(name: string): string {
  return `skipped: ${name} not set and not in ${toolsEnvFile()} (run \`npm run tools\`)`;
}

/** NKD_PULUMI_ROOT: the directory holding bin/pulumi (and bin/pulumi-resource-pulumi-nodejs). */
export function pulumiRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const root = requireToolEnv('NKD_PULUMI_ROOT', env);
  if (root !== undefined && !existsSync(join(root, 'bin', 'pulumi'))) {
    throw new Error(`NKD_PULUMI_ROOT=${root} holds no bin/pulumi`);
  }
  return root;
}

/** For describeReal (helpers/real.ts): the tool variable names an existing path (`probe` below it). */
export function toolRequirement(name: string, probe = ''): Requirement {
  return {
    missing() {
      const dir = toolEnv(name);
      if (dir === undefined) return `${name} is not set and not in ${toolsEnvFile()}: run \`npm run tools\``;
      if (!existsSync(join(dir, probe))) return `${join(dir, probe)} does not exist: run \`npm run tools\``;
      return undefined;
    },
  };
}

/** Several requirements at once: the first missing one is reported. */
export function allOf(...requirements: Requirement[]): Requirement {
  return { missing: () => requirements.map((r) => r.missing()).find((m) => m !== undefined) };
}
