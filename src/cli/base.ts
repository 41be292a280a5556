// Shared behaviour of every nkd command: the global flags, the debug log, and the error contract —
// one clear line (plus one line per config problem) on stderr, and the documented exit code.
import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { ExitCode, NkdError } from '../errors.js';
import { DebugLog } from '../lib/log.js';
import { capLine, capValue } from '../lib/cap.js';
import { resolveStateDir } from '../state/paths.js';
import type { Progress } from '../workflows/prepare.js';
import { classifySystemError } from './system-errors.js';

export abstract class NkdCommand extends Command {
  static override baseFlags = {
    'state-dir': Flags.string({
      description: "Directory holding every cluster's state [default: ~/.nkd]",
      env: 'NKD_STATE_DIR',
      helpGroup: 'GLOBAL',
    }),
  };

  /**
   * Commands that stream progress as JSON lines under --json print their result (or error) as one more
   * line, so every line of stdout parses on its own.
   */
  protected static streamsJsonLines = false;

  protected readonly debugLog = new DebugLog();

  protected override logJson(json: unknown): void {
    if ((this.constructor as typeof NkdCommand).streamsJsonLines)
      process.stdout.write(`${JSON.stringify(json)}\n`);
    else super.logJson(json);
  }
  private flushed = false;

  protected stateDir(flags: { 'state-dir'?: string | undefined }): string {
    return resolveStateDir(flags['state-dir']);
  }

  /** Progress goes to stderr so stdout stays clean data, and is silent under --json. */
  protected progress(): Progress {
    return {
      step: (message) => {
        this.debugLog.debug(message);
        if (!this.jsonEnabled()) process.stderr.write(`${message}\n`);
      },
    };
  }

  protected out(text: string): void {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  override async init(): Promise<void> {
    await super.init();
    this.debugLog.debug(
      `nkd ${this.config.version} ${this.id ?? ''} (node ${process.version}, pid ${process.pid})`,
    );
  }

  private flushLog(): string | undefined {
    if (this.flushed) return undefined;
    this.flushed = true;
    return this.debugLog.flush();
  }

  protected override async catch(err: Error & { exitCode?: number }): Promise<void> {
    if (err instanceof Errors.ExitError) {
      this.flushLog();
      throw err;
    }
    // A last bound on what is echoed: no input, however large, becomes a megabyte of stderr.
    const classified = classify(err);
    const { code } = classified;
    const message = capLine(classified.message, MAX_LINE);
    const details = classified.details.map((line) => capLine(line, MAX_LINE));
    this.debugLog.debug(`error (exit ${code}): ${message}\n${details.join('\n')}\n${err.stack ?? ''}`);
    const logPath = this.flushLog();
    if (this.jsonEnabled()) {
      const problems = err instanceof NkdError ? err.problems : undefined;
      this.logJson({
        error: {
          message,
          exitCode: code,
          details,
          ...(problems ? { problems } : {}),
          debugLog: logPath ?? null,
        },
      });
    } else {
      for (const line of details) process.stderr.write(`${line}\n`);
      const hint = code === ExitCode.Internal && logPath ? ` (details in ${logPath})` : '';
      process.stderr.write(`nkd: ${message}${hint}\n`);
    }
    this.exit(code);
  }

  protected override async finally(err: Error | undefined): Promise<void> {
    this.flushLog();
    await super.finally(err);
  }
}

const MAX_LINE = 1000;

function classify(err: Error): { code: number; message: string; details: string[] } {
  if (err instanceof NkdError) return { code: err.exitCode, message: err.message, details: [...err.details] };
  // nkd throws no oclif CLIError itself: every one is about the command line (flags, args, values).
  if (err instanceof Errors.CLIError) {
    return { code: ExitCode.Usage, message: `${oneLine(err.message)} (see --help)`, details: [] };
  }
  // oclif re-throws a flag value's parse failure as a plain Error starting "Parsing --<flag>".
  if (/^Parsing --\S+/.test(err.message)) {
    return { code: ExitCode.Usage, message: `${oneLine(err.message)} (see --help)`, details: [] };
  }
  // The environment (a file nkd cannot write, a cluster that refuses the connection) is not nkd's bug.
  const system = classifySystemError(err);
  if (system) return { ...system, details: [] };
  return { code: ExitCode.Internal, message: `internal error: ${capValue(err.message, 300)}`, details: [] };
}

/** oclif's parse errors span several lines around the useful one(s); keep just those. */
function oneLine(message: string): string {
  const noise = /^(The following errors? occurred:|See more help with --help)$/;
  const lines = message
    .split('\n')
    .map((line) =>
      line
        .replace(/^\s*[›»]?\s*/, '')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .filter((line) => line !== '' && !noise.test(line));
  // "Missing 1 required arg:" is followed by what is missing: keep them as one phrase.
  return lines.reduce(
    (out, line, i) => (i === 0 ? line : `${out}${out.endsWith(':') ? ' ' : '; '}${line}`),
    '',
  );
}

export type BaseFlags = Interfaces.InferredFlags<(typeof NkdCommand)['baseFlags']>;
