// The live task list on a terminal: the phases with their state, and the nodes (one line each for a
// small cluster, counts per state for a large one), redrawn in place below the scrolling messages.
import type { DeployEvent, NodeState, PhaseName, Reporter } from '../../workflows/events.js';
import { NODE_STATES, PHASE_TITLES } from '../../workflows/events.js';
import { clock } from './lines.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const MARK: Record<string, string> = { done: '✔', skipped: '–', failed: '✖' };
/** Above this many nodes the list shows counts per state instead of one line per node. */
const NODE_LINES_MAX = 12;

interface PhaseRow {
  phase: PhaseName;
  state: 'started' | 'done' | 'skipped' | 'failed';
  detail: string;
  started: number;
  elapsedMs?: number;
}

export interface TaskListOptions {
  write?: (text: string) => void;
  now?: () => Date;
  /** Terminal width, to keep every line on one row (redrawing relies on it). */
  columns?: () => number;
  refreshMs?: number;
}

export function taskListReporter(options: TaskListOptions = {}): Reporter {
  const write = options.write ?? ((text: string) => process.stderr.write(text));
  const now = options.now ?? (() => new Date());
  const columns = options.columns ?? (() => process.stderr.columns || 100);
  const phases: PhaseRow[] = [];
  const nodes = new Map<string, NodeState>();
  let drawnLines = 0;
  let frame = 0;
  let suspended = false;
  let timer: NodeJS.Timeout | undefined;

  const fit = (line: string) => (line.length > columns() - 1 ? `${line.slice(0, columns() - 2)}…` : line);

  function region(): string[] {
    const lines = phases.map((row) => {
      const mark = row.state === 'started' ? SPINNER[frame % SPINNER.length]! : MARK[row.state]!;
      const elapsed =
        row.state === 'started' ? Date.now() - row.started : (row.elapsedMs ?? Date.now() - row.started);
      const time = row.state === 'skipped' ? '' : ` ${Math.round(elapsed / 1000)}s`;
      return `${mark} ${PHASE_TITLES[row.phase]}${time}${row.detail ? `  ${row.detail}` : ''}`;
    });
    if (nodes.size > 0) lines.push(...nodeLines());
    return lines.map(fit);
  }

  function nodeLines(): string[] {
    if (nodes.size <= NODE_LINES_MAX) {
      return [...nodes].map(([name, state]) => `    ${name.padEnd(24)} ${state}`);
    }
    const counts = NODE_STATES.map((s) => [s, [...nodes.values()].filter((v) => v === s).length] as const)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${n} ${s}`);
    return [`    nodes: ${counts.join(', ')}`];
  }

  function clear(): void {
    if (drawnLines > 0) write(`\x1b[${drawnLines}F\x1b[J`);
    drawnLines = 0;
  }

  function draw(): void {
    if (suspended) return;
    clear();
    const lines = region();
    if (lines.length > 0) write(`${lines.join('\n')}\n`);
    drawnLines = lines.length;
  }

  function start(): void {
    if (timer || suspended) return;
    timer = setInterval(() => {
      frame++;
      draw();
    }, options.refreshMs ?? 120);
    timer.unref();
  }

  function stop(): void {
    if (timer) clearInterval(timer);
    timer = undefined;
  }

  /** Messages scroll above the live region. */
  function print(text: string): void {
    if (suspended) return void write(`${text}\n`);
    clear();
    write(`${text}\n`);
    draw();
  }

  return {
    emit(event: DeployEvent) {
      switch (event.type) {
        case 'phase': {
          let row = phases.find((r) => r.phase === event.phase);
          if (!row) {
            row = { phase: event.phase, state: event.state, detail: '', started: Date.now() };
            phases.push(row);
          }
          row.state = event.state;
          if (event.state === 'started') row.started = Date.now();
          if (event.elapsedMs !== undefined) row.elapsedMs = event.elapsedMs;
          row.detail = event.state === 'skipped' ? (event.reason ?? '') : '';
          if (event.state === 'failed') print(`${clock(now())} ${event.message}`);
          draw();
          break;
        }
        case 'node':
          nodes.set(event.node, event.state);
          draw();
          break;
        case 'warning':
          print(`${clock(now())} warning: ${event.message}`);
          break;
        case 'info': {
          const running = [...phases].reverse().find((r) => r.state === 'started');
          // Status lines of a running phase show on its row; everything is in the debug log anyway.
          if (running && event.message.startsWith('  ')) {
            running.detail = event.message.trim();
            draw();
          } else {
            print(`${clock(now())} ${event.message}`);
          }
          break;
        }
      }
      start();
    },
    suspend() {
      stop();
      clear();
      suspended = true;
    },
    resume() {
      suspended = false;
      draw();
    },
    close() {
      stop();
      frame = 0;
      draw();
      drawnLines = 0;
    },
  };
}
