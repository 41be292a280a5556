// An unknown command is a usage error (exit 2) with one line, not oclif's default exit 1.
import type { Hook } from '@oclif/core';
import { ExitCode } from '../errors.js';

const hook: Hook.CommandNotFound = async function (options) {
  const known = options.config.commands.filter((c) => !c.hidden).map((c) => c.id);
  process.stderr.write(
    `nkd: unknown command "${options.id}"; commands: ${known.sort().join(', ')} (see nkd --help)\n`,
  );
  process.exit(ExitCode.Usage);
};

export default hook;
