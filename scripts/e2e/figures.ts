// The deploy's figures, from its --json events as they arrive: when each phase ended and when each
// node reached each state, in seconds since nkd deploy started (docs/e2e.md keeps what runs measured).

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
