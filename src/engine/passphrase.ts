// The passphrase that encrypts secrets (user data, credentials) in the Pulumi state. Teams sharing a
// backend set NKD_PASSPHRASE or NKD_PASSPHRASE_FILE; otherwise one is generated once per cluster and
// kept 0600 in its state directory.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, NkdError } from '../errors.js';
import { readStateTextSync } from '../state/files.js';
import { ensurePrivateDir, writePrivateFile } from '../state/paths.js';

export function resolvePassphrase(engineDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.NKD_PASSPHRASE) return env.NKD_PASSPHRASE;
  if (env.NKD_PASSPHRASE_FILE) {
    try {
      return readFileSync(env.NKD_PASSPHRASE_FILE, 'utf8').trim();
    } catch (err) {
      throw new NkdError(`cannot read NKD_PASSPHRASE_FILE: ${(err as Error).message}`, ExitCode.Usage);
    }
  }
  const file = join(engineDir, 'passphrase');
  if (existsSync(file)) return readStateTextSync(file, 'the Pulumi state passphrase').trim();
  ensurePrivateDir(engineDir);
  const passphrase = randomBytes(32).toString('base64url');
  writePrivateFile(file, `${passphrase}\n`);
  return passphrase;
}
