// Ctrl-C. Outside state changes nkd stops at once ("interrupted; run the same command again to
// resume", exit 130). While a command changes a cluster's state (it holds the cluster lock) the
// interrupt is deferred to the next safe point, so no write is cut in half and the lock is released;
// during an engine operation the first Ctrl-C asks Pulumi to stop cleanly (it finishes in-flight
// operations and releases the stack lock, so a re-run resumes). A second Ctrl-C always exits at once.
import { ExitCode, NkdError } from '../errors.js';

export const INTERRUPTED_MESSAGE = 'interrupted; run the same command again to resume';

let installed = false;
let deferring = 0;
let interrupts = 0;
let beforeExit: () => void = () => undefined;
const listeners = new Set<() => void>();

function exitNow(): never {
  try {
    beforeExit();
  } finally {
    process.stderr.write(`\nnkd: ${INTERRUPTED_MESSAGE}\n`);
    process.exit(ExitCode.Interrupted);
  }
}

function onSigint(): void {
  interrupts++;
  if (deferring === 0 || interrupts > 1) exitNow();
  for (const listener of listeners) listener();
}

/** Installs nkd's SIGINT handling once per process; `flush` runs before an immediate exit (the debug log). */
export function installInterruptHandler(flush?: () => void): void {
  if (flush) beforeExit = flush;
  if (installed) return;
  installed = true;
  // bin/run.js's handler covers start-up only.
  for (const l of process.listeners('SIGINT')) if (l.name === 'nkdEarlyInterrupt') process.off('SIGINT', l);
  process.on('SIGINT', onSigint);
}

export function interrupted(): boolean {
  return interrupts > 0;
}

/** A safe point inside a deferred section: stops there when Ctrl-C was pressed. */
export function throwIfInterrupted(): void {
  if (interrupts > 0) throw new NkdError(INTERRUPTED_MESSAGE, ExitCode.Interrupted);
}

/**
 * Runs `work` with Ctrl-C deferred: it takes effect at the next throwIfInterrupted() in `work`, or when
 * `work` ends (its finally blocks, such as releasing the lock, having run).
 */
export async function deferInterrupts<T>(work: () => Promise<T>): Promise<T> {
  deferring++;
  try {
    const result = await work();
    throwIfInterrupted();
    return result;
  } finally {
    deferring--;
  }
}

/** An engine operation (or a wait): the first Ctrl-C aborts `signal` so the work stops cleanly. */
export async function withInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onInterrupt = () => {
    if (controller.signal.aborted) return;
    process.stderr.write(
      '\nInterrupting: letting Pulumi finish in-flight operations (Ctrl-C again to quit now)\n',
    );
    controller.abort();
  };
  installInterruptHandler();
  listeners.add(onInterrupt);
  // A Ctrl-C already pressed (in a deferred section around this one) stops this work too.
  if (interrupts > 0) controller.abort();
  deferring++;
  try {
    // Work that finished despite a Ctrl-C (the engine completed its last step) is reported as done.
    return await work(controller.signal);
  } catch (err) {
    if (controller.signal.aborted) throw new NkdError(INTERRUPTED_MESSAGE, ExitCode.Interrupted);
    throw err;
  } finally {
    deferring--;
    listeners.delete(onInterrupt);
  }
}
