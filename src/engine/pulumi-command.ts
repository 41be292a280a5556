// How nkd runs the Pulumi CLI for the Automation API. The SDK's own PulumiCommand starts the CLI in
// nkd's process group, so a Ctrl-C at the terminal reaches the CLI directly and the SDK's abort then
// sends it a second SIGINT, on which the CLI terminates instead of finishing in-flight steps (and a
// create it had started is left pending). Here the CLI runs in a process group of its own: the terminal's
// Ctrl-C reaches only nkd, and nkd forwards exactly one SIGINT when its abort signal fires.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import type { PulumiCli } from './pulumi-cli.js';

type Automation = typeof import('@pulumi/pulumi/automation/index.js');
type PulumiCommand = Awaited<ReturnType<Automation['PulumiCommand']['get']>>;

/** The CLI processes still running, ended if nkd itself exits first (a second Ctrl-C, a crash). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  });
}

type RunFn = (
  args: string[],
  cwd: string,
  additionalEnv: Record<string, string>,
  onOutput?: (data: string) => void,
  onError?: (data: string) => void,
  signal?: AbortSignal,
) => Promise<unknown>;

function isolatedRun(binary: string): RunFn {
  return async (args, cwd, additionalEnv, onOutput, onError, signal) => {
    // Both are marked internal in the SDK's types; the Automation API parses errors from them.
    const { CommandResult } = (await import('@pulumi/pulumi/automation/cmd.js')) as unknown as {
      CommandResult: new (stdout: string, stderr: string, code: number) => unknown;
    };
    const { createCommandError } = (await import('@pulumi/pulumi/automation/errors.js')) as unknown as {
      createCommandError: (result: unknown) => Error;
    };
    const argv = args.includes('--non-interactive') ? args : [...args, '--non-interactive'];
    const env = {
      ...process.env,
      ...additionalEnv,
      // The CLI finds its bundled plugins (the dynamic-provider host) next to itself.
      PATH: `${dirname(binary)}:${additionalEnv.PATH ?? process.env.PATH ?? ''}`,
      PULUMI_AUTOMATION_API: 'true',
    };
    installExitHook();
    const child = spawn(binary, argv, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      onOutput?.(d);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      onError?.(d);
    });
    let interrupted = false;
    const interrupt = () => {
      if (interrupted || child.exitCode !== null) return;
      interrupted = true;
      child.kill('SIGINT');
    };
    if (signal?.aborted) interrupt();
    signal?.addEventListener('abort', interrupt, { once: true });
    const exitCode = await new Promise<number>((resolve) => {
      child.on('error', (err) => {
        stderr += `${err.message}\n`;
        resolve(-2);
      });
      child.on('close', (code) => resolve(code ?? -1));
    });
    running.delete(child);
    signal?.removeEventListener('abort', interrupt);
    if (exitCode !== 0) throw createCommandError(new CommandResult(stdout, stderr, exitCode));
    return new CommandResult(stdout, stderr, exitCode);
  };
}

/** The SDK's PulumiCommand for `cli` (it checks the version), running the CLI as described above. */
export async function pulumiCommand(auto: Automation, cli: PulumiCli): Promise<PulumiCommand> {
  const command = await auto.PulumiCommand.get(cli.root === undefined ? {} : { root: cli.root });
  Object.assign(command, { run: isolatedRun(cli.binary) });
  return command;
}
