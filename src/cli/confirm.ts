// Confirmation before changing infrastructure: --yes for CI; on a terminal, ask; anywhere else refuse,
// because a script without --yes would otherwise hang or act unasked.
import { createInterface } from 'node:readline/promises';
import { ExitCode, NkdError } from '../errors.js';

export async function confirm(question: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new NkdError(
      'refusing to change infrastructure without confirmation: not a terminal; pass --yes',
      ExitCode.Usage,
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes')
      throw new NkdError('cancelled; nothing was changed', ExitCode.Usage);
  } finally {
    rl.close();
  }
}
