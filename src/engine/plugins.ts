// The resource plugins a provider's program needs (descriptor.plugins), made available before any
// engine work. The engine would otherwise download a missing plugin in the middle of `up`, which fails
// with no internet (and, online, gives a long error naming neither the flag nor the variable to fix it).
// Order: already installed in the PULUMI_HOME the CLI uses; else from the plugin directory the user gave
// (--plugin-dir / NKD_PLUGIN_DIR), installed with `pulumi plugin install --file`; else, with no
// directory given, downloaded by the CLI as it would anyway. Whatever is still missing is named with its
// version (exit 5) before anything is written.
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ExitCode, NkdError } from '../errors.js';
import type { PulumiCli } from './pulumi-cli.js';

export const PLUGIN_DIR_ENV = 'NKD_PLUGIN_DIR';

export interface PluginRef {
  name: string;
  version: string;
}

export interface PluginOptions {
  /** A directory holding plugin binaries or release tarballs (--plugin-dir / NKD_PLUGIN_DIR). */
  pluginDir?: string | undefined;
  /** One line per plugin nkd installs. */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

const run = promisify(execFile);

async function pulumi(cli: PulumiCli, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const result = await run(cli.binary, [...args, '--non-interactive'], {
    env: { ...env, PULUMI_SKIP_UPDATE_CHECK: 'true' },
    timeout: 300_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return result.stdout;
}

/** The CLI's own `error:` line of a failed run, short. */
function reason(err: unknown): string {
  const text = `${(err as { stderr?: string }).stderr ?? ''}\n${(err as Error).message ?? ''}`;
  const line =
    text
      .split('\n')
      .map((l) => /^\s*error: (.*)$/.exec(l)?.[1])
      .find((l) => l !== undefined && l.trim() !== '') ??
    text.split('\n').find((l) => l.trim() !== '') ??
    'no reason given';
  return line.trim().slice(0, 200);
}

/** "name@version" of every resource plugin the CLI has installed (`pulumi plugin ls --json`). */
export async function installedPlugins(
  cli: PulumiCli,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Set<string>> {
  let listed: { name?: string; kind?: string; version?: string }[];
  try {
    listed = JSON.parse((await pulumi(cli, ['plugin', 'ls', '--json'], env)) || '[]') as typeof listed;
  } catch (err) {
    throw new NkdError(
      `cannot list the Pulumi CLI's plugins (\`pulumi plugin ls\`): ${reason(err)}`,
      ExitCode.Prerequisite,
    );
  }
  return new Set(
    listed
      .filter((p) => p.kind === 'resource' && p.name && p.version)
      .map((p) => `${p.name}@${p.version!.replace(/^v/, '')}`),
  );
}

const GOOS: Partial<Record<NodeJS.Platform, string>> = { linux: 'linux', darwin: 'darwin', win32: 'windows' };
const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

/** Pure: the file names a plugin may have in a plugin directory, most specific first. */
export function pluginFileNames(
  plugin: PluginRef,
  platform = process.platform,
  arch = process.arch,
): string[] {
  const base = `pulumi-resource-${plugin.name}`;
  const v = `v${plugin.version}`;
  const os = GOOS[platform] ?? platform;
  const cpu = GOARCH[arch] ?? arch;
  // Pulumi's release tarball, then a bare binary with or without its version in the name.
  return [`${base}-${v}-${os}-${cpu}.tar.gz`, `${base}-${v}.tar.gz`, `${base}-${v}`, base];
}

/** The plugin's file in `dir`, if there is one. */
export function findPluginFile(dir: string, plugin: PluginRef): string | undefined {
  return pluginFileNames(plugin)
    .map((name) => join(dir, name))
    .find((path) => existsSync(path) && statSync(path).isFile());
}

function describePlugin(plugin: PluginRef): string {
  return `${plugin.name} v${plugin.version}`;
}

function missingError(plugin: PluginRef, why: string): NkdError {
  const [tarball, , , binary] = pluginFileNames(plugin);
  return new NkdError(
    `missing Pulumi resource plugin ${describePlugin(plugin)} (${why}): put ${binary} or ${tarball} in a directory ` +
      `and pass --plugin-dir DIR (or ${PLUGIN_DIR_ENV}=DIR), or run \`pulumi plugin install resource ${plugin.name} v${plugin.version}\``,
    ExitCode.Prerequisite,
  );
}

/** Makes every plugin available to the CLI, or names the first that cannot be (exit 5). */
export async function ensurePlugins(
  cli: PulumiCli,
  plugins: readonly PluginRef[],
  options: PluginOptions = {},
): Promise<void> {
  if (plugins.length === 0) return;
  const env = options.env ?? process.env;
  const pluginDir = options.pluginDir ?? (env[PLUGIN_DIR_ENV] || undefined);
  if (pluginDir !== undefined && !(existsSync(pluginDir) && statSync(pluginDir).isDirectory())) {
    throw new NkdError(
      `the plugin directory ${pluginDir} does not exist or is not a directory`,
      ExitCode.Usage,
    );
  }
  const installed = await installedPlugins(cli, env);
  for (const plugin of plugins) {
    if (installed.has(`${plugin.name}@${plugin.version}`)) continue;
    const args = ['plugin', 'install', 'resource', plugin.name, `v${plugin.version}`];
    if (pluginDir !== undefined) {
      const file = findPluginFile(pluginDir, plugin);
      if (file === undefined) throw missingError(plugin, `not installed, and not in ${pluginDir}`);
      options.log?.(`installing Pulumi plugin ${describePlugin(plugin)} from ${file}`);
      await pulumi(cli, [...args, '--file', file], env).catch((err: unknown) => {
        throw missingError(plugin, `installing ${file} failed: ${reason(err)}`);
      });
    } else {
      options.log?.(`downloading Pulumi plugin ${describePlugin(plugin)}`);
      await pulumi(cli, args, env).catch((err: unknown) => {
        throw missingError(plugin, `not installed, and the download failed: ${reason(err)}`);
      });
    }
    if (!(await installedPlugins(cli, env)).has(`${plugin.name}@${plugin.version}`)) {
      throw missingError(plugin, 'the Pulumi CLI does not list it after installing it');
    }
  }
}
