// Finds the Pulumi CLI that the Automation API drives. Every engine operation spawns it, so nkd checks
// for it before writing anything and explains exactly what to install when it is missing.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ExitCode, NkdError } from '../errors.js';

export const PULUMI_ROOT_ENV = 'NKD_PULUMI_ROOT';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface PulumiCli {
  /** Directory holding bin/pulumi, as the Automation API's PulumiCommand expects. */
  root: string | undefined;
  binary: string;
}

export const INSTALL_HINT =
  'install it from https://www.pulumi.com/docs/install/ (for example `curl -fsSL https://get.pulumi.com | sh`, ' +
  `which puts it in ~/.pulumi/bin), then add it to PATH or set ${PULUMI_ROOT_ENV} to the directory holding bin/pulumi`;

/** `root` (flag or NKD_PULUMI_ROOT) first, then PATH, then ~/.pulumi/bin where the installer puts it. */
export function findPulumiCli(root: string | undefined, env: NodeJS.ProcessEnv = process.env): PulumiCli {
  const chosenRoot = root ?? (env[PULUMI_ROOT_ENV] || undefined);
  if (chosenRoot !== undefined) {
    const binary = join(chosenRoot, 'bin', 'pulumi');
    if (isExecutable(binary)) return { root: chosenRoot, binary };
    throw new NkdError(`the Pulumi CLI is not at ${binary}; ${INSTALL_HINT}`, ExitCode.Prerequisite);
  }
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of dirs) {
    const binary = join(dir, 'pulumi');
    if (isExecutable(binary)) return { root: undefined, binary };
  }
  const home = env.HOME;
  if (home) {
    const binary = join(home, '.pulumi', 'bin', 'pulumi');
    if (isExecutable(binary)) return { root: join(home, '.pulumi'), binary };
  }
  throw new NkdError(
    `the Pulumi CLI was not found: nkd provisions infrastructure through it; ${INSTALL_HINT}`,
    ExitCode.Prerequisite,
  );
}
