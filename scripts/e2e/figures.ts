// The deploy's figures, from its --json events as they arrive: when each phase ended and when each
// node reached each state, in seconds since nkd deploy started (docs/e2e.md keeps what runs measured),
// and nkd's own share: the CPU time of its processes (the CLI, the Pulumi engine and its plugins) against
// the wall time, the rest being the guests' time (they run under libvirtd, not under the harness).
import { readFileSync } from 'node:fs';

export interface Figures {
  lines: string[];
}

interface Event {
  type?: string;
  phase?: string;
  state?: string;
  node?: string;
  message?: string;
  elapsedMs?: number;
}

export function deployFigures(print: (line: string) => void): {
  onLine: (line: string) => void;
  figures: () => Figures;
} {
  const started = Date.now();
  const lines: string[] = [];
  const at = () => ((Date.now() - started) / 1000).toFixed(0);
  return {
    onLine(line) {
      if (!line.startsWith('{')) return;
      let event: Event;
      try {
        event = JSON.parse(line) as Event;
      } catch {
        return;
      }
      if (event.type === 'phase' && event.state !== 'started') {
        const took = event.elapsedMs === undefined ? '' : `, took ${(event.elapsedMs / 1000).toFixed(0)} s`;
        const text = `deploy +${at()} s: phase ${event.phase} ${event.state}${took}`;
        lines.push(text);
        print(text);
      } else if (event.type === 'node') {
        const text = `deploy +${at()} s: node ${event.node} ${event.state}`;
        lines.push(text);
        print(text);
      } else if (event.type === 'warning' || event.type === 'result') {
        print(`deploy +${at()} s: ${event.type}: ${(event.message ?? line).slice(0, 300)}`);
      }
    },
    figures: () => ({ lines }),
  };
}

/** The kernel's clock ticks per second (USER_HZ), 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/**
 * CPU seconds (user + system) of this process's children that have ended and been waited for, from
 * /proc/self/stat (cutime, cstime): each nkd command adds its whole process tree when it exits.
 */
export function endedChildrenCpuSeconds(stat = readFileSync('/proc/self/stat', 'utf8')): number {
  // The fields after the command name (which may hold spaces) in parentheses; cutime and cstime are
  // fields 16 and 17 of the whole line, so 14 and 15 (1-based) after the ") ".
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[13]) + Number(rest[14])) / CLOCK_TICKS;
}

/** "nkd's own CPU time": what nkd itself spent of a command's wall time. */
export function ownTimeFigure(what: string, cpuSeconds: number, wallSeconds: number): string {
  const share = wallSeconds > 0 ? (100 * cpuSeconds) / wallSeconds : 0;
  return `${what}: nkd's own CPU time ${cpuSeconds.toFixed(0)} s of ${wallSeconds.toFixed(0)} s wall (${share.toFixed(0)}%); the rest is waiting on the guests`;
}
