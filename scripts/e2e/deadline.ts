// The e2e run's own deadline (`--deadline`, or by node count): when it passes, the run stops the commands
// under way as a signal would, but it is a failure (exit 1) with a diagnosis, not the user's wish to stop.
// It is the harness's own timer because an outside `timeout` signals its whole process group, npm and
// the harness together, and the harness's children die before it can remove them.
import { interruption } from './steps.js';

export interface Deadline {
  text: string;
  ms: number;
}

/**
 * Without --deadline a run still ends, so that a guest that hangs under TCG does not hold a machine (or a
 * CI job) for hours: 90 minutes for up to 2 nodes (a passing run of 1 control plane + 1 worker takes
 * 40-45 on 2 cores), 30 more for each node beyond (a control plane's upgrade alone took 17-18).
 */
export function defaultDeadline(nodes: number): Deadline {
  const minutes = 90 + 30 * Math.max(0, nodes - 2);
  return { text: `${minutes}m (the default for ${nodes} nodes)`, ms: minutes * 60_000 };
}

/** After the deadline the diagnosis (the nodes' journals over SSH) gets this long before it is stopped too. */
export const DIAGNOSIS_AFTER_DEADLINE_MS = 4 * 60_000;

/** Arms `bound`, counted from the run's start (`elapsedMs` ago); `stop` ends the commands under way. */
export function armDeadline(bound: Deadline, elapsedMs: number, stop: () => void): NodeJS.Timeout {
  return setTimeout(
    () => {
      interruption.deadline = `the run's deadline (${bound.text}) passed`;
      console.log(`e2e: ${interruption.deadline}: stopping the running commands, then cleaning up`);
      stop();
    },
    Math.max(0, bound.ms - elapsedMs),
  );
}
