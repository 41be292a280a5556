// Ctrl-C during an engine operation: the first one asks Pulumi to stop cleanly (it finishes in-flight
// operations and releases the stack lock, so a re-run resumes); a second one exits at once.
import { ExitCode, NkdError } from '../errors.js';

export async function withInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(ExitCode.Interrupted);
    process.stderr.write(
      '\nInterrupting: letting Pulumi finish in-flight operations (Ctrl-C again to quit now)\n',
    );
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await work(controller.signal);
  } catch (err) {
    if (controller.signal.aborted)
      throw new NkdError('interrupted; run the same command again to resume', ExitCode.Interrupted);
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
