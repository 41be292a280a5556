// The Pulumi Automation API wrapper. One stack per cluster, with its own work directory under the
// cluster's state; a file:// backend inside the state directory unless a team backend URL is given;
// passphrase-encrypted secrets. @pulumi/pulumi is imported here only, and only when an operation runs.
import { join } from 'node:path';
import { packageRoot } from '../lib/package-root.js';
import { ensurePrivateDir } from '../state/paths.js';
import { engineError } from './errors.js';
import { resolvePassphrase } from './passphrase.js';
import type { PulumiCli } from './pulumi-cli.js';

export const BACKEND_ENV = 'NKD_BACKEND_URL';

export interface StackOptions {
  cluster: string;
  clusterDir: string;
  cli: PulumiCli;
  /** Any Pulumi backend URL; default file:// inside the cluster's state. */
  backendUrl?: string | undefined;
  /** The inline program; destroy does not run it. */
  program: () => Promise<Record<string, unknown>>;
  onProgress: (line: string) => void;
  signal?: AbortSignal;
}

export interface StackPaths {
  engineDir: string;
  workDir: string;
  backendUrl: string;
}

/** Pure: where a cluster's stack lives. */
export function stackPaths(clusterDir: string, backendUrl: string | undefined): StackPaths {
  const engineDir = join(clusterDir, 'engine');
  return {
    engineDir,
    workDir: join(engineDir, 'workspace'),
    backendUrl: backendUrl ?? `file://${join(engineDir, 'backend')}`,
  };
}

type Automation = typeof import('@pulumi/pulumi/automation/index.js');

async function openStack(auto: Automation, options: StackOptions) {
  const paths = stackPaths(options.clusterDir, options.backendUrl);
  ensurePrivateDir(paths.workDir);
  if (paths.backendUrl.startsWith('file://')) ensurePrivateDir(paths.backendUrl.slice('file://'.length));
  const passphrase = resolvePassphrase(paths.engineDir);
  const projectName = `nkd-${options.cluster}`;
  const pulumiCommand = await auto.PulumiCommand.get(
    options.cli.root === undefined ? {} : { root: options.cli.root },
  );
  return auto.LocalWorkspace.createOrSelectStack(
    { stackName: options.cluster, projectName, program: options.program },
    {
      workDir: paths.workDir,
      pulumiCommand,
      secretsProvider: 'passphrase',
      // Dynamic providers resolve their modules from `main`: it must be nkd's own package.
      projectSettings: {
        name: projectName,
        runtime: 'nodejs',
        main: packageRoot(),
        backend: { url: paths.backendUrl },
      },
      envVars: { PULUMI_CONFIG_PASSPHRASE: passphrase, PULUMI_SKIP_UPDATE_CHECK: 'true' },
    },
  );
}

function eventLine(event: import('@pulumi/pulumi/automation/index.js').EngineEvent): string | undefined {
  const meta = event.resOutputsEvent?.metadata;
  if (meta && meta.op !== 'same') return `${meta.op} ${meta.type} ${meta.urn.split('::').at(-1)}`;
  const failed = event.resOpFailedEvent?.metadata;
  if (failed) return `failed ${failed.type} ${failed.urn.split('::').at(-1)}`;
  if (event.diagnosticEvent && event.diagnosticEvent.severity === 'error')
    return event.diagnosticEvent.message.trim();
  return undefined;
}

export async function upStack(options: StackOptions): Promise<Record<string, unknown>> {
  const auto: Automation = await import('@pulumi/pulumi/automation/index.js');
  try {
    const stack = await openStack(auto, options);
    const onEvent = (event: import('@pulumi/pulumi/automation/index.js').EngineEvent) => {
      const line = eventLine(event);
      if (line) options.onProgress(line);
    };
    // A run interrupted earlier may have left pending operations; refresh clears them before `up`.
    await stack.refresh({ onEvent, signal: options.signal, clearPendingCreates: true });
    const result = await stack.up({ onEvent, signal: options.signal, color: 'never' });
    return Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.value]));
  } catch (err) {
    throw engineError(err, 'provisioning');
  }
}

/**
 * Control-plane machines are `protect`ed so that no config edit replaces them silently; an explicit,
 * confirmed destroy lifts that first (the Automation API has no call for it, so the CLI does it).
 */
async function unprotectAll(options: StackOptions): Promise<void> {
  const { execa } = await import('execa');
  const paths = stackPaths(options.clusterDir, options.backendUrl);
  const args = [
    'state',
    'unprotect',
    '--all',
    '--yes',
    '--non-interactive',
    '--stack',
    options.cluster,
    '--cwd',
    paths.workDir,
  ];
  const passphrase = resolvePassphrase(paths.engineDir);
  const result = await execa(options.cli.binary, args, {
    reject: false,
    all: true,
    env: {
      PULUMI_CONFIG_PASSPHRASE: passphrase,
      PULUMI_BACKEND_URL: paths.backendUrl,
      PULUMI_SKIP_UPDATE_CHECK: 'true',
    },
    ...(options.signal && { cancelSignal: options.signal }),
  });
  if (result.exitCode === 0) return;
  // engineError reads the CLI's own `error:` line from these.
  throw Object.assign(new Error('pulumi state unprotect failed'), {
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
  });
}

export async function destroyStack(options: StackOptions): Promise<void> {
  const auto: Automation = await import('@pulumi/pulumi/automation/index.js');
  try {
    const stack = await openStack(auto, options);
    await unprotectAll(options);
    await stack.destroy({
      onEvent: (event) => {
        const line = eventLine(event);
        if (line) options.onProgress(line);
      },
      signal: options.signal,
      color: 'never',
    });
  } catch (err) {
    throw engineError(err, 'destroy');
  }
}
