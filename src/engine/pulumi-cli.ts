// Finds the Pulumi CLI that the Automation API drives. Every engine operation spawns it, so nkd checks
// for it before writing anything and explains exactly what to install when it is missing.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
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

/**
 * The oldest CLI nkd works with: inline programs' `refresh` and `destroy` through the Automation API
 * need 3.181 (older CLIs reject the flags the SDK passes, mid-operation).
 */
export const MIN_PULUMI_VERSION = '3.181.0';

const UPGRADE_HINT =
  "build the pinned one with `npm run tools` (in nkd's checkout; it prints the NKD_PULUMI_ROOT to use) " +
  'or install a newer one from https://www.pulumi.com/docs/install/';

/** Pure: [major, minor, patch] of "v3.248.0" / "3.248.0-alpha.x+sha", undefined for anything else. */
export function parseCliVersion(text: string): [number, number, number] | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+][\w.+-]*)?$/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

function atLeast(version: [number, number, number], minimum: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (version[i] !== minimum[i]) return version[i]! > minimum[i]!;
  return true;
}

/** Pure: the error for the version `pulumi version` printed, or undefined when it is new enough. */
export function cliVersionProblem(binary: string, printed: string): NkdError | undefined {
  const minimum = parseCliVersion(MIN_PULUMI_VERSION)!;
  const version = parseCliVersion(printed);
  const found = printed.trim().split('\n')[0]?.slice(0, 60) ?? '';
  if (version === undefined) {
    return new NkdError(
      `the Pulumi CLI at ${binary} reports no usable version (\`pulumi version\` printed "${found}"); nkd needs v${MIN_PULUMI_VERSION} or newer: ${UPGRADE_HINT}`,
      ExitCode.Prerequisite,
    );
  }
  if (atLeast(version, minimum)) return undefined;
  return new NkdError(
    `the Pulumi CLI at ${binary} is ${found}; nkd needs v${MIN_PULUMI_VERSION} or newer: ${UPGRADE_HINT}`,
    ExitCode.Prerequisite,
  );
}

/** Runs `pulumi version` and refuses a CLI older than MIN_PULUMI_VERSION (exit 5), before any engine work. */
export async function checkPulumiVersion(cli: PulumiCli): Promise<string> {
  let printed: string;
  try {
    const result = await promisify(execFile)(cli.binary, ['version'], {
      env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: 'true' },
      timeout: 30_000,
    });
    printed = result.stdout;
  } catch (err) {
    const reason = ((err as { stderr?: string }).stderr || (err as Error).message).trim().split('\n')[0];
    throw new NkdError(
      `the Pulumi CLI at ${cli.binary} does not run (\`pulumi version\`: ${reason}); ${INSTALL_HINT}`,
      ExitCode.Prerequisite,
    );
  }
  const problem = cliVersionProblem(cli.binary, printed);
  if (problem) throw problem;
  return printed.trim();
}
