// Exit codes are part of the CLI contract (docs/exit-codes.md): scripts branch on them, so a value
// once published never changes meaning.
export const ExitCode = {
  Ok: 0,
  Internal: 1,
  Usage: 2,
  InvalidConfig: 3,
  State: 4,
  /** A required tool is missing (the Pulumi CLI or a plugin). */
  Prerequisite: 5,
  /** The infrastructure engine failed (Pulumi up/destroy). */
  Provisioning: 6,
  /** A wait ran out of time (API server never ready, nodes never Ready). */
  WaitTimeout: 7,
  /** The cluster refused an operation nkd asked of it (an add-on or manifest apply rejected). */
  ClusterOperation: 8,
  /** A user hook (a pre-deploy script) failed. */
  HookFailed: 9,
  Interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error meant for the user: its message is printed as-is and the process exits with `exitCode`. */
export class NkdError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    readonly details: readonly string[] = [],
    /** Structured form of `details` for --json output (e.g. config problems with file/line/col). */
    readonly problems?: readonly object[],
  ) {
    super(message);
    this.name = 'NkdError';
  }
}
