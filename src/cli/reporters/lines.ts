// Plain progress for logs and CI: one timestamped line per event on stderr, nothing redrawn.
import type { DeployEvent, Reporter } from '../../workflows/events.js';

export function clock(date: Date): string {
  return date.toTimeString().slice(0, 8);
}

export function eventText(event: DeployEvent): string {
  if (event.type === 'warning') return `warning: ${event.message}`;
  return event.message;
}

export function lineReporter(
  write: (text: string) => void = (text) => process.stderr.write(text),
  now: () => Date = () => new Date(),
): Reporter {
  return {
    emit: (event) => write(`${clock(now())} ${eventText(event)}\n`),
    suspend: () => {},
    resume: () => {},
    close: () => {},
  };
}
