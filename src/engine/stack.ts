// The Pulumi Automation API wrapper. One stack per cluster, with its own work directory under the
// cluster's state; a file:// backend inside the state directory unless a team backend URL is given;
// passphrase-encrypted secrets. @pulumi/pulumi is imported here only, and only when an operation runs.
import { join } from 'node:path';
import { ExitCode, NkdError } from '../errors.js';
import { packageRoot } from '../lib/package-root.js';
import { ensurePrivateDir } from '../state/paths.js';
import { engineError } from './errors.js';
import { resolvePassphrase } from './passphrase.js';
import type { PulumiCli } from './pulumi-cli.js';
import { pulumiCommand } from './pulumi-command.js';

export const BACKEND_ENV = 'NKD_BACKEND_URL';

export interface StackOptions {
  cluster: string;
  clusterDir: string;
  cli: PulumiCli;
  /** Any Pulumi backend URL; default file:// inside the cluster's state. */
  backendUrl?: string | undefined;
  /** The inline program; destroy does not run it. */
  program: () => Promise<Record<string, unknown>>;
  /**
   * Whether the provider's creates adopt an object an interrupted run made (libvirt: same name and
   * nkd's UUID). Otherwise a create left pending is a cloud object nkd may not know about, and nkd
   * stops instead of forgetting it.
   */
  adoptsInterruptedCreates?: boolean;
  /** Lift `protect` first: the confirmed change removes protected machines (control-plane scale-in). */
  releaseProtection?: boolean;
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
  const passphrase = resolvePassphrase(paths.engineDir, options.backendUrl);
  const projectName = `nkd-${options.cluster}`;
  const command = await pulumiCommand(auto, options.cli);
  return auto.LocalWorkspace.createOrSelectStack(
    { stackName: options.cluster, projectName, program: options.program },
    {
      workDir: paths.workDir,
      pulumiCommand: command,
      secretsProvider: 'passphrase',
      // Dynamic providers resolve their modules from `main`: it must be nkd's own package.
      projectSettings: {
        name: projectName,
        runtime: 'nodejs',
        main: packageRoot(),
        backend: { url: paths.backendUrl },
      },
      // PULUMI_BACKEND_URL from the user's environment would win over `backend.url` above and split the
      // cluster's state between two backends: the cluster's own backend is set here explicitly.
      envVars: {
        PULUMI_CONFIG_PASSPHRASE: passphrase,
        PULUMI_SKIP_UPDATE_CHECK: 'true',
        PULUMI_BACKEND_URL: paths.backendUrl,
      },
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
    await refreshRecoveringInterruptedRun(stack, options, onEvent);
    throwIfAborted(options.signal);
    if (options.releaseProtection) await unprotectAll(options);
    throwIfAborted(options.signal);
    const result = await stack.up({ onEvent, signal: options.signal, color: 'never' });
    return Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.value]));
  } catch (err) {
    if (err instanceof NkdError) throw err;
    throw engineError(err, 'provisioning');
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Error('interrupted before the next engine step');
}

type Stack = Awaited<ReturnType<Automation['LocalWorkspace']['createOrSelectStack']>>;

/** Resources whose create an interrupted run had started but not recorded (the engine's pending operations). */
async function pendingCreates(stack: Stack): Promise<string[]> {
  const state = (await stack.exportStack()) as {
    deployment?: { pending_operations?: { type?: string; resource?: { urn?: string } }[] };
  };
  return (state.deployment?.pending_operations ?? [])
    .filter((op) => op.type === 'creating')
    .map((op) => op.resource?.urn?.split('::').at(-1) ?? '?');
}

/**
 * Refresh reads every resource back (drift: an object deleted by hand is dropped and re-created by
 * `up`). Creates an interrupted run left pending are forgotten only where the provider adopts what such
 * a create made; otherwise nkd stops and names them, since forgetting would orphan them.
 */
async function refreshRecoveringInterruptedRun(
  stack: Stack,
  options: StackOptions,
  onEvent: (event: import('@pulumi/pulumi/automation/index.js').EngineEvent) => void,
): Promise<void> {
  // A plain refresh first: it takes the stack's lock, so a concurrent update is reported as such, and
  // only the engine's own refusal of pending operations leads to looking at them.
  try {
    await stack.refresh({ onEvent, signal: options.signal });
    return;
  } catch (err) {
    const pending = await pendingCreates(stack).catch(() => []);
    if (pending.length === 0 || !/pending/i.test(String(err))) throw err;
    if (!options.adoptsInterruptedCreates) {
      throw new NkdError(
        `an interrupted run left ${pending.length} create(s) unfinished (${pending.join(', ')}); they may exist ` +
          'without being recorded: delete them in the cloud, or import them into the stack with `pulumi import`, ' +
          "then run `pulumi refresh --clear-pending-creates` in the cluster's engine workspace and deploy again",
        ExitCode.State,
      );
    }
  }
  await stack.refresh({ onEvent, signal: options.signal, clearPendingCreates: true });
}

/**
 * How many resources `up` would change (create, update, replace, delete), after reading back what
 * exists (an object deleted by hand counts). A re-run of deploy uses it to tell whether provisioning
 * still holds without changing anything.
 */
export async function previewStack(options: StackOptions): Promise<number> {
  const auto: Automation = await import('@pulumi/pulumi/automation/index.js');
  try {
    const stack = await openStack(auto, options);
    if ((await pendingCreates(stack)).length > 0) return 1;
    const result = await stack.preview({ refresh: true, signal: options.signal, color: 'never' });
    return Object.entries(result.changeSummary)
      .filter(([op]) => op !== 'same' && op !== 'read' && op !== 'refresh')
      .reduce((sum, [, n]) => sum + (n ?? 0), 0);
  } catch (err) {
    if (err instanceof NkdError) throw err;
    throw engineError(err, 'preview');
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
  const passphrase = resolvePassphrase(paths.engineDir, options.backendUrl);
  const result = await execa(options.cli.binary, args, {
    reject: false,
    all: true,
    env: {
      PULUMI_CONFIG_PASSPHRASE: passphrase,
      PULUMI_BACKEND_URL: paths.backendUrl,
      PULUMI_SKIP_UPDATE_CHECK: 'true',
    },
    // Own process group, like every engine command (pulumi-command.ts): one SIGINT, from nkd.
    detached: true,
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
