// An unknown command is a usage error (exit 2) with one line, not oclif's default exit 1: the closest
// command, as it is typed (space-separated, never oclif's internal colon ids), or else the list.
import type { Hook } from '@oclif/core';
import { ExitCode } from '../errors.js';
import { capValue } from '../lib/cap.js';
import { closestCommand } from './suggest.js';

const hook: Hook.CommandNotFound = async function (options) {
  const known = options.config.commands.filter((c) => !c.hidden).map((c) => c.id.split(':').join(' '));
  const typed = options.id.split(':').join(' ');
  const closest = closestCommand(typed, known);
  const hint = closest
    ? `did you mean \`${options.config.bin} ${closest}\`?`
    : `commands: ${known.sort().join(', ')}`;
  process.stderr.write(
    `${options.config.bin}: unknown command "${capValue(typed)}"; ${hint} (see ${options.config.bin} --help)\n`,
  );
  process.exit(ExitCode.Usage);
};

export default hook;
