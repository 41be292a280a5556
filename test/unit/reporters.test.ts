// How progress is shown: a live task list redrawn in place on a terminal, timestamped lines elsewhere,
// JSON lines under --json.
import { describe, expect, it } from 'vitest';
import { jsonReporter } from '../../src/cli/reporters/json.js';
import { lineReporter } from '../../src/cli/reporters/lines.js';
import { taskListReporter } from '../../src/cli/reporters/task-list.js';
import { parseDuration } from '../../src/cli/duration.js';

const at = () => new Date(2026, 10, 22, 14, 5, 9);

describe('reporters', () => {
  it('line reporter prints one timestamped line per event', () => {
    const out: string[] = [];
    const r = lineReporter((t) => out.push(t), at);
    r.emit({ type: 'phase', phase: 'provision', state: 'started', message: 'provision: started' });
    r.emit({ type: 'warning', message: 'slow disk' });
    expect(out).toEqual(['14:05:09 provision: started\n', '14:05:09 warning: slow disk\n']);
  });

  it('JSON reporter prints one parseable object per line with a timestamp', () => {
    const out: string[] = [];
    const r = jsonReporter((t) => out.push(t), at);
    r.emit({
      type: 'node',
      node: 'demo-cp-1',
      role: 'control-plane',
      state: 'ready',
      message: 'node demo-cp-1: ready',
    });
    expect(out).toHaveLength(1);
    expect(out[0]!.endsWith('\n')).toBe(true);
    expect(JSON.parse(out[0]!)).toMatchObject({
      type: 'node',
      node: 'demo-cp-1',
      state: 'ready',
      time: at().toISOString(),
    });
  });

  it('task list redraws its region in place: phases with marks, one line per node of a small cluster', () => {
    let screen = '';
    const r = taskListReporter({
      write: (t) => (screen += t),
      now: at,
      columns: () => 80,
      refreshMs: 10_000,
    });
    r.emit({ type: 'phase', phase: 'provision', state: 'started', message: '' });
    r.emit({ type: 'node', node: 'demo-cp-1', role: 'control-plane', state: 'created', message: '' });
    r.emit({ type: 'phase', phase: 'provision', state: 'done', message: '', elapsedMs: 3000 });
    r.emit({ type: 'info', message: 'Kubeconfig written' });
    r.close();
    // Each redraw moves the cursor up over the previous region and clears it.
    expect(screen).toContain('\x1b[2F\x1b[J');
    const last = screen.split('\x1b[J').at(-1)!;
    expect(last).toContain('✔ Provision the infrastructure 3s');
    expect(last).toContain('demo-cp-1');
    expect(screen).toContain('14:05:09 Kubeconfig written');
  });

  it('task list summarises a large cluster as counts per node state, within the terminal width', () => {
    let screen = '';
    const r = taskListReporter({
      write: (t) => (screen += t),
      now: at,
      columns: () => 40,
      refreshMs: 10_000,
    });
    for (let i = 1; i <= 50; i++) {
      r.emit({
        type: 'node',
        node: `w-${i}`,
        role: 'worker',
        state: i <= 20 ? 'ready' : 'joined',
        message: '',
      });
    }
    r.close();
    const last = screen.split('\x1b[J').at(-1)!;
    expect(last).toContain('nodes: 30 joined, 20 ready');
    for (const line of last.split('\n')) expect(line.length).toBeLessThan(40);
  });
});

describe('durations', () => {
  it('reads 90s, 20m, 1h30m and bare minutes', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('20m')).toBe(1_200_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('45')).toBe(2_700_000);
  });
  it('refuses anything else', () => {
    for (const bad of ['', 'soon', '10x', '0s', '0', '-5m']) expect(() => parseDuration(bad)).toThrow();
  });
});
