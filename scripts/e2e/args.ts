// The e2e run's command line: `npm run e2e -- [-f CONFIG] [--keep] [--deadline DURATION]`.
import { existsSync } from 'node:fs';
import { parseDuration } from '../../src/cli/duration.js';

export const USAGE = 'npm run e2e -- [-f CONFIG] [--keep] [--deadline DURATION]';

/**
 * Without --deadline a run still ends: a guest that hangs under TCG must not hold a machine (or a CI
 * job) for hours. A passing run takes 40-45 min on 2 cores.
 */
export const DEFAULT_DEADLINE = '90m';

export interface E2eArgs {
  file?: string;
  keep: boolean;
  /** When the run stops its commands, cleans up and fails: its text as given, and in ms. */
  deadline: { text: string; ms: number };
}

export function parseArgs(argv: string[]): E2eArgs {
  let deadline = DEFAULT_DEADLINE;
  const args: Omit<E2eArgs, 'deadline'> = { keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-f' || a === '--file') {
      args.file = argv[++i];
      if (args.file === undefined || args.file.startsWith('-')) throw new Error(`${a} needs a config file`);
    } else if (a === '--keep') args.keep = true;
    else if (a === '--deadline') {
      const value = argv[++i];
      if (value === undefined || value.startsWith('-'))
        throw new Error('--deadline needs a duration (e.g. 55m)');
      deadline = value;
    } else throw new Error(`unknown argument ${a} (usage: ${USAGE})`);
  }
  if (args.file !== undefined && !existsSync(args.file)) throw new Error(`${args.file} does not exist`);
  let ms: number;
  try {
    ms = parseDuration(deadline);
  } catch (error) {
    throw new Error(`--deadline ${error instanceof Error ? error.message : String(error)}`);
  }
  return { ...args, deadline: { text: deadline, ms } };
}
