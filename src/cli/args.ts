// Arguments shared by commands. A cluster NAME is checked against the config's rule before any command
// sees it: "", ".", "../x" would otherwise name a directory outside the cluster's own state (and
// `destroy "$UNSET" --yes` would remove every cluster).
import { Args } from '@oclif/core';
import { clusterNameProblem } from '../config/cluster-name.js';
import { ExitCode, NkdError } from '../errors.js';

/** How a rejected value is shown: quoted, and short (it may be anything, of any length). */
export function shownValue(value: string, max = 60): string {
  const quoted = JSON.stringify(value);
  return quoted.length <= max ? quoted : `${quoted.slice(0, max - 2)}…"`;
}

/** Throws the usage error (exit 2) unless `name` is a valid cluster name. */
export function checkClusterName(name: string): string {
  const problem = clusterNameProblem(name);
  if (problem) {
    throw new NkdError(
      `${shownValue(name)} is not a cluster name: it ${problem} (see --help)`,
      ExitCode.Usage,
    );
  }
  return name;
}

/** The NAME argument of every command working on one cluster. */
export const clusterNameArg = Args.custom<string>({
  description: 'Cluster name',
  // A missing NAME is a usage error, not a name read from whatever stdin holds.
  ignoreStdin: true,
  parse: async (input) => checkClusterName(input),
});
