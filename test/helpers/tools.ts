/**
 * Finds the external tools `npm run tools` builds (the real Pulumi CLI, Kubernetes binaries, ...) for
 * tests that run them. A tool is named by the environment variable that points at it (NKD_PULUMI_ROOT,
 * NKD_KUBE_BIN, ...): the variable itself first, else the `export NAME=...` line the tool builder
 * writes into ~/.cache/nkd-tools/env.sh.
 *
 * In CI (`CI` set) a missing tool is a failure, never a silent skip: the real-engine tests are part
 * of every CI run. Locally the caller skips, and `skipReason` says why, visibly in the test name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Requirement } from './real.js';

/** Where `npm run tools` writes its export lines. */
export function toolsEnvFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.HOME || homedir(), '.cache', 'nkd-tools', 'env.sh');
}

/** The value of `export NAME=VALUE` (optionally quoted) in a shell env file, if there is one. */
export function exportedValue(text: string, name: string): string | undefined {
  let found: string | undefined;
  for (const line of text.split('\n')) {
    const match = /^\s*export\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const raw = match[2]!.trim();
    found = /^(['"]).*\1$/.test(raw) ? raw.slice(1, -1) : raw;
  }
  return found || undefined;
}

/** The tool's path from the environment, else from ~/.cache/nkd-tools/env.sh; undefined if neither. */
export function toolEnv(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env[name]) return env[name];
  const file = toolsEnvFile(env);
  if (!existsSync(file)) return undefined;
  const value = exportedValue(readFileSync(file, 'utf8'), name);
  return value !== undefined && existsSync(value) ? value : undefined;
}

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
