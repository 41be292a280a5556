// Picks how progress is shown: JSON lines under --json, a live task list on a terminal, plain
// timestamped lines otherwise (CI, pipes, NO_COLOR-style dumb terminals). Every event also goes to the
// debug log.
import type { DebugLog } from '../../lib/log.js';
import type { DeployEvent, Reporter } from '../../workflows/events.js';
import { jsonReporter } from './json.js';
import { lineReporter } from './lines.js';
import { taskListReporter } from './task-list.js';

export function createReporter(options: { json: boolean; log: DebugLog }): Reporter {
  const interactive =
    process.stderr.isTTY === true && process.env.TERM !== 'dumb' && process.env.CI !== 'true';
  const inner = options.json ? jsonReporter() : interactive ? taskListReporter() : lineReporter();
  return loggingReporter(inner, options.log);
}

/** Every event also goes to the debug log, whatever is shown. */
export function loggingReporter(inner: Reporter, log: DebugLog): Reporter {
  return {
    emit(event: DeployEvent) {
      log.debug(`[${event.type}] ${JSON.stringify(event)}`);
      inner.emit(event);
    },
    suspend: () => inner.suspend(),
    resume: () => inner.resume(),
    close: () => inner.close(),
  };
}

export { jsonReporter, lineReporter, taskListReporter };
