// The e2e run's command line: `npm run e2e -- [-f CONFIG] [--keep] [--deadline DURATION]`.
import { existsSync } from 'node:fs';
import { parseDuration } from '../../src/cli/duration.js';
import type { Deadline } from './deadline.js';

export const USAGE = 'npm run e2e -- [-f CONFIG] [--keep] [--deadline DURATION]';

export interface E2eArgs {
  file?: string;
  keep: boolean;
  /** When the run stops its commands, cleans up and fails: its text as given, and in ms. */
  deadline?: Deadline;
}

export function parseArgs(argv: string[]): E2eArgs {
  let deadline: string | undefined;
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
  if (deadline === undefined) return args;
  try {
    return { ...args, deadline: { text: deadline, ms: parseDuration(deadline) } };
  } catch (error) {
    throw new Error(`--deadline ${error instanceof Error ? error.message : String(error)}`);
  }
}
