// The user's hooks: pre-deploy executables run on the deployer before provisioning, and post-deploy
// manifests applied to the cluster last. Paths are relative to the config file (to the working
// directory for a config read from stdin), so a repository can carry its hooks next to its config.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolveFrom } from '../config/file-checks.js';
import type { KubeObject } from '../cluster/types.js';
import { parseManifests } from '../cluster/manifests.js';
import { ExitCode, NkdError } from '../errors.js';

function fileDigest(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export interface PreDeployHook {
  path: string;
  digest: string;
}

export function preDeployHooks(scripts: readonly string[], baseDir: string): PreDeployHook[] {
  return scripts.map((script) => {
    const path = resolveFrom(baseDir, script);
    return { path, digest: fileDigest(path) };
  });
}

/**
 * Runs each script in order with the cluster's facts in its environment (never a secret), its output
 * going to `onLine`. The first failure stops the deploy with exit 9.
 */
export async function runPreDeployHooks(
  hooks: readonly PreDeployHook[],
  context: { cluster: string; clusterDir: string; plan: string; baseDir: string; timeoutMs: number },
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const { execa } = await import('execa');
  for (const hook of hooks) {
    onLine(`running pre-deploy hook ${hook.path}`);
    const lines: string[] = [];
    const result = await execa(hook.path, [], {
      cwd: context.baseDir,
      reject: false,
      all: true,
      stdin: 'ignore',
      timeout: context.timeoutMs,
      cancelSignal: signal,
      // Only what a hook needs: nkd's own environment may hold a passphrase or cloud credentials.
      extendEnv: false,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
        ...(process.env.LANG ? { LANG: process.env.LANG } : {}),
        NKD_CLUSTER: context.cluster,
        NKD_CLUSTER_DIR: context.clusterDir,
        NKD_PLAN: context.plan,
      },
      lines: true,
    });
    for (const line of (result.all as unknown as string[] | undefined) ?? []) {
      lines.push(line);
      onLine(`  ${hook.path}: ${line}`);
    }
    if (signal.aborted) throw new NkdError('interrupted', ExitCode.Interrupted);
    if (result.exitCode !== 0 || result.timedOut) {
      const why = result.timedOut
        ? `did not finish within ${Math.round(context.timeoutMs / 1000)}s`
        : `exited with ${result.exitCode ?? result.signal}`;
      const last = lines.at(-1);
      throw new NkdError(
        `pre-deploy hook ${hook.path} ${why}${last ? `; its last line: ${last.slice(0, 200)}` : ''}`,
        ExitCode.HookFailed,
      );
    }
  }
}

/** A post-deploy source: a manifest file, or a directory whose *.yaml/*.yml/*.json files apply in name order. */
export function postDeployManifests(
  sources: readonly string[],
  baseDir: string,
): { objects: KubeObject[]; files: string[]; digest: string } {
  const files = sources.flatMap((source) => {
    const full = resolveFrom(baseDir, source);
    if (!statSync(full).isDirectory()) return [full];
    return readdirSync(full)
      .filter((name) => /\.(ya?ml|json)$/.test(name))
      .sort()
      .map((name) => join(full, name));
  });
  const hash = createHash('sha256');
  const objects = files.flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    hash.update(file).update('\0').update(text).update('\0');
    return parseManifests(text, file);
  });
  return { objects, files, digest: hash.digest('hex').slice(0, 32) };
}
