// The passphrase that encrypts secrets (user data, credentials) in the Pulumi state.
// - nkd's own local backend (the default file:// inside the cluster's state): one passphrase is
//   generated once per cluster and kept 0600 next to the stack, unless NKD_PASSPHRASE(_FILE) is set.
// - A shared (team) backend (--backend / NKD_BACKEND_URL): every operator must decrypt the same stack,
//   so a passphrase generated on one machine would lock the others out. The passphrase then comes from
//   the environment (NKD_PASSPHRASE(_FILE), else Pulumi's own PULUMI_CONFIG_PASSPHRASE(_FILE)) and is
//   required: nkd refuses to start without it instead of generating one.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, NkdError } from '../errors.js';
import { ensurePrivateDir, writePrivateFile } from '../state/paths.js';

/** Where the passphrase may come from, first match wins: [value variable, file variable]. */
const NKD_VARS = ['NKD_PASSPHRASE', 'NKD_PASSPHRASE_FILE'] as const;
const PULUMI_VARS = ['PULUMI_CONFIG_PASSPHRASE', 'PULUMI_CONFIG_PASSPHRASE_FILE'] as const;

function fromEnv([valueVar, fileVar]: readonly [string, string], env: NodeJS.ProcessEnv): string | undefined {
  if (env[valueVar]) return env[valueVar];
  const file = env[fileVar];
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new NkdError(`cannot read ${fileVar} (${file}): ${(err as Error).message}`, ExitCode.Usage);
  }
  const passphrase = text.trim();
  if (passphrase === '') throw new NkdError(`${fileVar} (${file}) is empty`, ExitCode.Usage);
  return passphrase;
}

/** Whether the stack lives somewhere other operators reach: any backend nkd did not choose itself. */
export function isSharedBackend(backendUrl: string | undefined): boolean {
  return backendUrl !== undefined;
}

/**
 * The passphrase of a shared backend, from the environment; a clear error (exit 2) when none is set.
 * Checked in the preflight, before anything is written.
 */
export function sharedPassphrase(env: NodeJS.ProcessEnv = process.env, engineDir?: string): string {
  const passphrase = fromEnv(NKD_VARS, env) ?? fromEnv(PULUMI_VARS, env);
  if (passphrase !== undefined) return passphrase;
  const generated = engineDir !== undefined && existsSync(join(engineDir, 'passphrase'));
  throw new NkdError(
    'a shared Pulumi backend (--backend / NKD_BACKEND_URL) needs the passphrase every operator of the ' +
      'cluster uses: set NKD_PASSPHRASE_FILE (or NKD_PASSPHRASE, PULUMI_CONFIG_PASSPHRASE_FILE, ' +
      'PULUMI_CONFIG_PASSPHRASE); nkd generates one only for its local backend' +
      (generated ? `, and this cluster's generated one is in ${join(engineDir, 'passphrase')}` : ''),
    ExitCode.Usage,
  );
}

export function resolvePassphrase(
  engineDir: string,
  backendUrl: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (isSharedBackend(backendUrl)) return sharedPassphrase(env, engineDir);
  const given = fromEnv(NKD_VARS, env);
  if (given !== undefined) return given;
  const file = join(engineDir, 'passphrase');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  ensurePrivateDir(engineDir);
  const passphrase = randomBytes(32).toString('base64url');
  writePrivateFile(file, `${passphrase}\n`);
  return passphrase;
}
