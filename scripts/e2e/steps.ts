// The end-to-end run's steps: each printed when it starts and ends, with its duration and the time since
// the run started, and the run's verdict as the last line (`e2e: PASS` or `e2e: FAIL <step>`).

export class StepFailed extends Error {
  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`${step}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/**
 * Set by a signal handler or when the run's deadline passes: no step starts and no wait goes on after it.
 * A signal is the user's wish to stop (exit 130, no diagnosis); a deadline is a failure of the run.
 */
export const interruption: { signal?: string; deadline?: string } = {};

function throwIfInterrupted(): void {
  if (interruption.signal) throw new Error(`interrupted by ${interruption.signal}`);
  if (interruption.deadline) throw new Error(interruption.deadline);
}

export interface StepRunner {
  step<T>(name: string, run: () => Promise<T>): Promise<T>;
  skip(name: string, why: string): void;
  note(message: string): void;
  /** Seconds since the run started. */
  elapsed(): number;
}

const seconds = (ms: number) => (ms / 1000).toFixed(0);

export function stepRunner(log: (line: string) => void = (l) => console.log(l)): StepRunner {
  const started = Date.now();
  const stamp = () => `${new Date().toISOString().slice(11, 19)} +${seconds(Date.now() - started)}s`;
  return {
    async step(name, run) {
      const t0 = Date.now();
      log(`e2e: [${stamp()}] start ${name}`);
      try {
        throwIfInterrupted();
        const value = await run();
        // A step whose commands were stopped may not notice (a stopped command "exits" 130 unrun).
        throwIfInterrupted();
        log(`e2e: [${stamp()}] ok    ${name} (${seconds(Date.now() - t0)} s)`);
        return value;
      } catch (error) {
        let message = error instanceof Error ? error.message : String(error);
        // A command stopped by the deadline fails in its own words (exit 130): say why it was stopped.
        if (interruption.deadline && !message.startsWith(interruption.deadline))
          message = `${interruption.deadline} (${message})`;
        log(`e2e: [${stamp()}] FAIL  ${name} (${seconds(Date.now() - t0)} s): ${message}`);
        throw new StepFailed(name, error);
      }
    },
    skip(name, why) {
      log(`e2e: [${stamp()}] SKIP  ${name}: ${why}`);
    },
    note(message) {
      log(`e2e: [${stamp()}]       ${message}`);
    },
    elapsed: () => (Date.now() - started) / 1000,
  };
}

/** Polls `probe` until it returns undefined (done); a string says what is still missing. */
export async function waitFor(
  what: string,
  timeoutMs: number,
  probe: () => Promise<string | undefined>,
  intervalMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not checked yet';
  for (;;) {
    throwIfInterrupted();
    try {
      const missing = await probe();
      if (missing === undefined) return;
      last = missing;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs / 60_000} min; last: ${last}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
