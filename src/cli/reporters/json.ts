// --json: one JSON object per line on stdout, for automation. The command's final result follows as the
// last line ({"type":"result",...}), and an error as {"error":{...}}.
import type { DeployEvent, Reporter } from '../../workflows/events.js';

export function jsonReporter(
  write: (text: string) => void = (text) => process.stdout.write(text),
  now: () => Date = () => new Date(),
): Reporter {
  return {
    emit: (event: DeployEvent) => write(`${JSON.stringify({ time: now().toISOString(), ...event })}\n`),
    suspend: () => {},
    resume: () => {},
    close: () => {},
  };
}
