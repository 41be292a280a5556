// Turns a failed Pulumi CLI run into one user error: the engine's own diagnostic (which resource, which
// operation, the provider's message) in one or two lines, with the exit code scripts branch on. The
// Automation API's error message starts with "code: 255" (or "code: -2" when it folds the CLI's output
// into its stderr); what matters is further down: the Diagnostics section of the CLI's progress display,
// its "**creating failed**" lines, and its `error:` lines.
import { ExitCode, NkdError } from '../errors.js';

/** Longest engine text nkd repeats; the rest is in the debug log. */
export const MAX_DIAGNOSTIC_CHARS = 400;

export interface EngineOutput {
  stdout: string;
  stderr: string;
  /** The error's own message, when it is not a CLI run (a spawn failure, a program exception). */
  message: string;
}

/** The CLI's output from an Automation API CommandError, an execa-style error, or a plain Error. */
export function engineOutput(err: unknown): EngineOutput {
  const e = (err ?? {}) as { message?: unknown; commandResult?: unknown; stdout?: unknown; stderr?: unknown };
  const message = err instanceof Error ? err.message : String(err);
  const result = (e.commandResult ?? e) as { stdout?: unknown; stderr?: unknown };
  if (typeof result.stdout === 'string' || typeof result.stderr === 'string') {
    return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), message };
  }
  // CommandResult.toString(): "code: N\n stdout: ...\n stderr: ...\n err?: ...\n"
  const parts = /^code: -?\d+\n stdout: ([\s\S]*?)\n stderr: ([\s\S]*?)\n err\?: ([\s\S]*)$/.exec(message);
  if (parts) return { stdout: parts[1]!, stderr: parts[2]!, message: parts[3]!.trim() };
  return { stdout: '', stderr: '', message };
}

export interface Diagnostic {
  /** "TYPE NAME", e.g. "nkd:libvirt:Domain demo-cp-1", when the failure belongs to a resource. */
  resource?: string;
  /** create, update, delete, replace, read, refresh: what the engine was doing to it. */
  operation?: string;
  message: string;
}

const STACK_TYPE = 'pulumi:pulumi:Stack';
/** Engine summaries that say nothing a resource's own error does not say better. */
const GENERIC =
  /^(update failed|destroy failed|refresh failed|preview failed|an unhandled error occurred:? *$)/i;

/** The resource blocks of the Diagnostics section: "  TYPE (NAME):" followed by "    error: ...". */
function diagnosticsErrors(stdout: string): { type: string; name: string; message: string }[] {
  const start = stdout.search(/^Diagnostics:\s*$/m);
  if (start < 0) return [];
  const found: { type: string; name: string; message: string }[] = [];
  let current: { type: string; name: string } | undefined;
  let collecting: string[] | undefined;
  const flush = () => {
    if (current && collecting && collecting.length > 0)
      found.push({ ...current, message: collecting.join(' ') });
    collecting = undefined;
  };
  for (const line of stdout.slice(start).split('\n').slice(1)) {
    const header = /^ {2}(\S+) \((.+)\):\s*$/.exec(line);
    if (header) {
      flush();
      current = { type: header[1]!, name: header[2]! };
      continue;
    }
    if (/^\S/.test(line)) break; // "Resources:", "Outputs:", the end of the section
    const error = /^ {4}error: (.*)$/.exec(line);
    if (error) {
      flush();
      collecting = [error[1]!.trim()];
    } else if (collecting && /^ {5,}\S/.test(line) && !/^\s+at /.test(line) && collecting.length < 3) {
      collecting.push(line.trim()); // a wrapped continuation, not a stack trace
    } else if (collecting && line.trim() === '') {
      flush();
    }
  }
  flush();
  return found;
}

const OPERATIONS: Record<string, string> = {
  creating: 'create',
  updating: 'update',
  deleting: 'delete',
  replacing: 'replace',
  reading: 'read',
  refreshing: 'refresh',
  importing: 'import',
};

/** From progress lines like " +  TYPE NAME **creating failed** error: ...". */
function failedOperation(stdout: string, type: string, name: string): string | undefined {
  for (const line of stdout.split('\n')) {
    const match = /^\s*\S*\s+(\S+) (\S+) \*\*(\w+) failed\*\*/.exec(line);
    if (match && match[1] === type && match[2] === name) return OPERATIONS[match[3]!] ?? match[3];
  }
  return undefined;
}

function errorLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^\s*error: (.*)$/.exec(l)?.[1]?.trim())
    .filter((l): l is string => l !== undefined && l !== '');
}

/** Pure: the engine's most specific error in the output of a failed CLI run. */
export function extractDiagnostic(output: EngineOutput): Diagnostic {
  // The progress display is on stdout, or inside stderr when the runner folded it into its message.
  const display =
    [output.stdout, output.stderr, output.message].find((t) => /^Diagnostics:\s*$/m.test(t)) ?? '';
  const diagnostics = diagnosticsErrors(display);
  const own = diagnostics.filter((d) => !GENERIC.test(d.message));
  const best = own.find((d) => d.type !== STACK_TYPE) ?? own[0];
  if (best) {
    const operation = failedOperation(display, best.type, best.name);
    return {
      ...(best.type !== STACK_TYPE && { resource: `${best.type} ${best.name}` }),
      ...(operation !== undefined && { operation }),
      message: best.message,
    };
  }
  const line =
    errorLines(output.stderr).find((l) => !GENERIC.test(l)) ??
    errorLines(output.stdout).find((l) => !GENERIC.test(l)) ??
    errorLines(output.message).find((l) => !GENERIC.test(l)) ??
    firstLine(output.stderr) ??
    firstLine(output.message) ??
    'the engine gave no reason';
  return { message: line };
}

function firstLine(text: string): string | undefined {
  const line = text.split('\n').find((l) => l.trim() !== '' && !/^code: -?\d+$/.test(l.trim()));
  return line?.trim();
}

/**
 * Pure: removes what must never reach a terminal or a log: the given secrets (the passphrase), private
 * keys, Ignition configs and long base64 runs (user data, certificates); then caps the length.
 */
export function scrub(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  out = out
    .replace(/-----BEGIN [A-Z ]*-----[\s\S]*?(-----END [A-Z ]*-----|$)/g, '[redacted key]')
    .replace(/\{\s*\\?"ignition\\?"[\s\S]*/g, '[redacted Ignition config]')
    .replace(/[A-Za-z0-9+/=_-]{64,}/g, '[redacted]')
    .replace(/\s+/g, ' ')
    .trim();
  return out.length > MAX_DIAGNOSTIC_CHARS ? `${out.slice(0, MAX_DIAGNOSTIC_CHARS - 1)}…` : out;
}

/** Secrets the engine could echo back: the state passphrase, however it was given. */
function knownSecrets(env: NodeJS.ProcessEnv): string[] {
  return [env.NKD_PASSPHRASE, env.PULUMI_CONFIG_PASSPHRASE].filter((s): s is string => !!s);
}

function describe(d: Diagnostic): string {
  const where = d.resource ? `${d.operation ? `${d.operation} ` : ''}${d.resource}: ` : '';
  return `${where}${d.message}`;
}

const LOCKED =
  /the stack is currently locked by|ConcurrentUpdateError|Another update is currently in progress/i;
/** Pulumi's words for a plugin that is neither installed nor downloadable (workspace/plugins.go). */
const MISSING_PLUGIN_NAMED =
  /(?:Could not automatically download and install|no) resource plugin ['"]?pulumi-resource-([\w-]+?)['"]?(?: found in the workspace)? at version v?(\d+\.\d+\.\d+[\w.+-]*?)(?=[,.;:\s]|$)/i;
const MISSING_PLUGIN = /no resource plugin|could not find plugin|failed to load plugin/i;
const NO_CLI = /ENOENT.*pulumi|pulumi: not found|Could not find Pulumi CLI/i;
const WRONG_PASSPHRASE = /incorrect passphrase/i;
const PROTECTED = /unable to replace resource "?([^"\s]+)"?[\s\S]*?marked for protection/;

/**
 * The engine's own words for a passphrase that does not fit ("getting stack configuration: incorrect
 * passphrase"), without its advice on which Pulumi variable to set: nkd passes the passphrase itself.
 */
function passphraseReason(all: string, secrets: readonly string[]): string {
  const line = errorLines(all).find((l) => WRONG_PASSPHRASE.test(l)) ?? 'incorrect passphrase';
  return scrub(line.replace(/,? *please set PULUMI_CONFIG_PASSPHRASE[\s\S]*$/, ''), secrets);
}

/** Turns an Automation API failure into a one- or two-line user error with the right exit code. */
export function engineError(err: unknown, action: string, env: NodeJS.ProcessEnv = process.env): NkdError {
  if (err instanceof NkdError) return err;
  const output = engineOutput(err);
  const all = `${output.stderr}\n${output.stdout}\n${output.message}`;
  const secrets = knownSecrets(env);
  if (LOCKED.test(all)) {
    const holder = /created by (\S+ \(pid \d+\) at [^\n]+)/.exec(all)?.[1];
    return new NkdError(
      `the cluster's Pulumi stack is locked by another update${holder ? ` (${scrub(holder, secrets)})` : ''}; ` +
        'wait for it, or if none is running, run `pulumi cancel` / remove the lock in the backend',
      ExitCode.State,
    );
  }
  const plugin = MISSING_PLUGIN_NAMED.exec(all);
  if (plugin || MISSING_PLUGIN.test(all)) {
    const [name, version] = plugin ? [plugin[1]!, plugin[2]!] : ['NAME', 'VERSION'];
    const what = plugin
      ? `${name} ${version}`
      : `(${scrub(firstLine(errorLines(all).join('\n')) ?? '', secrets)})`;
    return new NkdError(
      `the Pulumi resource plugin ${what} is missing (${action}); provide it with --plugin-dir DIR / NKD_PLUGIN_DIR ` +
        `or \`pulumi plugin install resource ${name} v${version}\``,
      ExitCode.Prerequisite,
    );
  }
  if (NO_CLI.test(all)) {
    return new NkdError(
      `the Pulumi CLI could not be run: ${scrub(firstLine(all) ?? '', secrets)}`,
      ExitCode.Prerequisite,
    );
  }
  if (WRONG_PASSPHRASE.test(all)) {
    return new NkdError(
      `the passphrase does not decrypt the cluster's Pulumi stack (${action}: ${passphraseReason(all, secrets)}): ` +
        'set NKD_PASSPHRASE or NKD_PASSPHRASE_FILE to the passphrase the stack was created with',
      ExitCode.State,
    );
  }
  const guarded = PROTECTED.exec(all);
  if (guarded) {
    const urn = guarded[1]!;
    const type = urn.split('::').at(-2)?.split('$').at(-1);
    const name = urn.split('::').at(-1);
    return new NkdError(
      `${action} failed: the change would replace ${type ?? 'resource'} ${name ?? urn}, which is protected ` +
        '(nkd never replaces a running control-plane machine); revert the change that replaces it',
      ExitCode.Provisioning,
    );
  }
  return new NkdError(
    `${action} failed: ${scrub(describe(extractDiagnostic(output)), secrets)}`,
    ExitCode.Provisioning,
  );
}
