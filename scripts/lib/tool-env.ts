// Where the external tools `npm run tools` builds are: the variable naming each (NKD_KUBE_BIN, ...) from
// the environment, else from the export lines the tool builder keeps in ~/.cache/nkd-tools/env.sh.
// Shared by the tests (test/helpers/tools.ts) and the end-to-end harness (scripts/e2e).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

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
