import { describe, expect, it } from 'vitest';
import { ExitCode, NkdError } from '../../src/errors.js';
import {
  formatClock,
  formatDuration,
  waitFor,
  WaitTimeoutError,
  type ProbeResult,
  type WaitEvent,
} from '../../src/cluster/wait.js';
import {
  failingReadyzChecks,
  waitForApiServer,
  waitForNodesReady,
  type NodeWaitEvent,
} from '../../src/cluster/waits.js';
import type { NodeSummary, ReadyzResult } from '../../src/cluster/client.js';

/** A clock that only moves when the wait sleeps (or a probe takes "time"). */
function fakeClock(start = new Date(2025, 5, 3, 14, 12, 0).getTime()) {
  let t = start;
  const sleeps: number[] = [];
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
    start,
  };
}

function recorder<E = WaitEvent>() {
  const lines: string[] = [];
  const events: E[] = [];
  return { lines, events, onProgress: (line: string, event: E) => (lines.push(line), events.push(event)) };
}

/** Probe scripted by a list of results; the last one repeats. */
function scripted<T>(results: (ProbeResult<T> | Error)[]) {
  let i = 0;
  const probe = async (): Promise<ProbeResult<T>> => {
    const r = results[Math.min(i++, results.length - 1)]!;
    if (r instanceof Error) throw r;
    return r;
  };
  return { probe, calls: () => i };
}

describe('formatting', () => {
  it('formats durations compactly', () => {
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(1_500)).toBe('1.5s');
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(20 * 60_000)).toBe('20m');
    expect(formatDuration(150_000)).toBe('2m30s');
    expect(formatDuration(90 * 60_000)).toBe('1h30m');
  });

  it('formats deadlines as local wall-clock time, with the date only on another day', () => {
    const from = new Date(2025, 5, 3, 14, 12, 0);
    expect(formatClock(new Date(2025, 5, 3, 14, 32, 5), { from })).toBe('14:32');
    expect(formatClock(new Date(2025, 5, 3, 14, 32, 5), { from, seconds: true })).toBe('14:32:05');
    expect(formatClock(new Date(2025, 5, 4, 0, 2, 0), { from })).toBe('2025-06-04 00:02');
  });
});

describe('waitFor', () => {
  it('states its deadline once, at the start', async () => {
    const clock = fakeClock();
    const rec = recorder();
    const { probe } = scripted<string>([
      { done: false, status: 'connection refused' },
      { done: false, status: 'HTTP 500' },
      { done: true, value: 'ok' },
    ]);
    const value = await waitFor({
      what: 'the API server to be ready',
      timeoutMs: 20 * 60_000,
      probe,
      onProgress: rec.onProgress,
      now: clock.now,
      sleep: clock.sleep,
    });
    expect(value).toBe('ok');
    expect(rec.lines[0]).toBe('waiting up to 20m (until 14:32) for the API server to be ready');
    expect(rec.lines.filter((l) => l.startsWith('waiting up to'))).toHaveLength(1);
    expect(rec.events[0]).toMatchObject({ type: 'start', timeoutMs: 20 * 60_000 });
    expect((rec.events[0] as { deadline: Date }).deadline.getTime()).toBe(clock.start + 20 * 60_000);
    expect(rec.events.at(-1)).toMatchObject({ type: 'done', attempts: 3, elapsedMs: 3_000 });
    expect(rec.lines.at(-1)).toBe('done waiting for the API server to be ready (3s)');
  });

  it('shows seconds in a deadline less than 5 minutes away', async () => {
    const clock = fakeClock();
    const rec = recorder();
    await waitFor({
      what: 'x',
      timeoutMs: 90_000,
      probe: async () => ({ done: true, value: 1 }),
      onProgress: rec.onProgress,
      now: clock.now,
      sleep: clock.sleep,
    });
    expect(rec.lines[0]).toBe('waiting up to 1m30s (until 14:13:30) for x');
  });

  it('backs off exponentially up to the cap', async () => {
    const clock = fakeClock();
    const { probe } = scripted<number>([{ done: false, status: 'not yet' }]);
    await expect(
      waitFor({ what: 'x', timeoutMs: 10 * 60_000, probe, now: clock.now, sleep: clock.sleep }),
    ).rejects.toThrow(WaitTimeoutError);
    expect(clock.sleeps.slice(0, 7)).toEqual([1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]);
    expect(Math.max(...clock.sleeps)).toBe(15_000);
    // The last pause is cut to the deadline, and a final probe runs at the deadline.
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(10 * 60_000);
  });

  it('honours custom initial and maximum delays', async () => {
    const clock = fakeClock();
    const { probe } = scripted<number>([{ done: false, status: 'not yet' }]);
    await expect(
      waitFor({
        what: 'x',
        timeoutMs: 1_000,
        probe,
        now: clock.now,
        sleep: clock.sleep,
        initialDelayMs: 10,
        maxDelayMs: 100,
      }),
    ).rejects.toThrow(WaitTimeoutError);
    expect(clock.sleeps.slice(0, 6)).toEqual([10, 20, 40, 80, 100, 100]);
  });

  it('reports a status only when it changes', async () => {
    const clock = fakeClock();
    const rec = recorder();
    const { probe } = scripted<number>([
      { done: false, status: 'connection refused' },
      { done: false, status: 'connection refused' },
      { done: false, status: 'connection refused' },
      { done: false, status: 'HTTP 500: etcd failed' },
      { done: false, status: 'HTTP 500: etcd failed' },
      { done: false, status: 'connection refused' },
      { done: true, value: 1 },
    ]);
    await waitFor({
      what: 'x',
      timeoutMs: 60 * 60_000,
      probe,
      onProgress: rec.onProgress,
      now: clock.now,
      sleep: clock.sleep,
    });
    const statuses = rec.events
      .filter((e) => e.type === 'status')
      .map((e) => (e as { status: string }).status);
    expect(statuses).toEqual(['connection refused', 'HTTP 500: etcd failed', 'connection refused']);
    for (let i = 1; i < rec.lines.length; i++) expect(rec.lines[i]).not.toBe(rec.lines[i - 1]);
  });

  it('counts a throwing probe as not done, with the first line of its message as the status', async () => {
    const clock = fakeClock();
    const rec = recorder();
    const { probe, calls } = scripted<string>([
      new Error('connect ECONNREFUSED 10.0.0.5:6443\n    at TCPConnectWrap.afterConnect'),
      new Error('connect ECONNREFUSED 10.0.0.5:6443\n    at somewhere else'),
      { done: true, value: 'up' },
    ]);
    const value = await waitFor({
      what: 'x',
      timeoutMs: 60_000,
      probe,
      onProgress: rec.onProgress,
      now: clock.now,
      sleep: clock.sleep,
    });
    expect(value).toBe('up');
    expect(calls()).toBe(3);
    expect(rec.lines).toContain('still waiting for x: connect ECONNREFUSED 10.0.0.5:6443');
    expect(rec.lines.filter((l) => l.includes('ECONNREFUSED'))).toHaveLength(1);
    expect(rec.lines.join('\n')).not.toContain('TCPConnectWrap');
  });

  it('times out with a WaitTimeout NkdError naming what, the deadline and the last status, with diagnostics', async () => {
    const clock = fakeClock();
    const { probe } = scripted<number>([
      new Error('connection refused'),
      { done: false, status: 'HTTP 500: etcd failed' },
      { done: false, status: '2/3 Ready; not registered: worker-1' },
    ]);
    let diagnosed = 0;
    const err = await waitFor({
      what: '3 nodes to be Ready',
      timeoutMs: 30 * 60_000,
      probe,
      now: clock.now,
      sleep: clock.sleep,
      diagnose: () => {
        diagnosed++;
        return ['never registered: worker-1', 'console log: /var/log/nkd/worker-1.log'];
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NkdError);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    const e = err as WaitTimeoutError;
    expect(e.exitCode).toBe(ExitCode.WaitTimeout);
    expect(e.exitCode).toBe(7);
    expect(e.message).toBe(
      'timed out after 30m waiting for 3 nodes to be Ready (deadline 14:42); last status: 2/3 Ready; not registered: worker-1',
    );
    expect(e.details).toEqual(['never registered: worker-1', 'console log: /var/log/nkd/worker-1.log']);
    expect(diagnosed).toBe(1);
    expect(e.what).toBe('3 nodes to be Ready');
    expect(e.deadline.getTime()).toBe(clock.start + 30 * 60_000);
    expect(e.lastStatus).toBe('2/3 Ready; not registered: worker-1');
    expect(clock.now()).toBe(clock.start + 30 * 60_000);
  });

  it('keeps the last error as the last status when the probe kept throwing', async () => {
    const clock = fakeClock();
    const err = (await waitFor({
      what: 'x',
      timeoutMs: 5_000,
      probe: async () => {
        throw new Error('certificate verification failed: not issued by the cluster CA');
      },
      now: clock.now,
      sleep: clock.sleep,
    }).catch((e: unknown) => e)) as WaitTimeoutError;
    expect(err.message).toContain(
      'last status: certificate verification failed: not issued by the cluster CA',
    );
    expect(err.details).toEqual([]);
  });

  it('reports a failing diagnose() inside the details rather than losing the timeout', async () => {
    const clock = fakeClock();
    const err = (await waitFor({
      what: 'x',
      timeoutMs: 1_000,
      probe: async () => ({ done: false, status: 'no' }),
      now: clock.now,
      sleep: clock.sleep,
      diagnose: () => {
        throw new Error('cannot read console log');
      },
    }).catch((e: unknown) => e)) as WaitTimeoutError;
    expect(err.exitCode).toBe(ExitCode.WaitTimeout);
    expect(err.details).toEqual(['(gathering diagnostics failed: cannot read console log)']);
  });

  it('stops with an Interrupted error when its signal aborts', async () => {
    const clock = fakeClock();
    const controller = new AbortController();
    let n = 0;
    const err = (await waitFor({
      what: 'x',
      timeoutMs: 60_000,
      probe: async () => {
        if (++n === 2) controller.abort();
        return { done: false, status: 'no' };
      },
      now: clock.now,
      sleep: clock.sleep,
      signal: controller.signal,
    }).catch((e: unknown) => e)) as NkdError;
    expect(err.exitCode).toBe(ExitCode.Interrupted);
    expect(n).toBe(2);
  });
});

describe('waitForApiServer (fake clock, scripted client)', () => {
  it('waits for 200 from /readyz and names the failing checks meanwhile', async () => {
    const clock = fakeClock();
    const rec = recorder();
    const answers: (ReadyzResult | Error)[] = [
      new Error('https://10.0.0.5:6443: connection refused (ECONNREFUSED)'),
      { ok: false, status: 500, body: '[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n' },
      { ok: true, status: 200, body: 'ok' },
    ];
    let i = 0;
    const client = {
      server: 'https://10.0.0.5:6443',
      readyz: async () => {
        const a = answers[i++]!;
        if (a instanceof Error) throw a;
        return a;
      },
    };
    await waitForApiServer(client, {
      timeoutMs: 60_000,
      onProgress: rec.onProgress,
      now: clock.now,
      sleep: clock.sleep,
    });
    expect(rec.lines).toEqual([
      'waiting up to 1m (until 14:13:00) for the API server at https://10.0.0.5:6443 to be ready',
      'still waiting for the API server at https://10.0.0.5:6443 to be ready: https://10.0.0.5:6443: connection refused (ECONNREFUSED)',
      'still waiting for the API server at https://10.0.0.5:6443 to be ready: /readyz answered HTTP 500; failing checks: etcd',
      'done waiting for the API server at https://10.0.0.5:6443 to be ready (3s)',
    ]);
  });

  it('extracts failing checks from a /readyz body', () => {
    expect(
      failingReadyzChecks('[+]ping ok\n[-]etcd failed: reason withheld\n[-]poststarthook/x failed\nfailed'),
    ).toEqual(['etcd', 'poststarthook/x']);
  });
});

describe('waitForNodesReady (fake clock, scripted client)', () => {
  const node = (name: string, ready: boolean, extra: Partial<NodeSummary> = {}): NodeSummary => ({
    name,
    ready,
    readyStatus: ready ? 'True' : 'False',
    kubeletVersion: 'v1.31.1',
    osImage: 'NestOS',
    roles: [],
    ...extra,
  });

  it('reports each node turning Ready exactly once, even if it flaps', async () => {
    const clock = fakeClock();
    const rec = recorder<NodeWaitEvent>();
    const lists: NodeSummary[][] = [
      [],
      [node('m0', false)],
      [node('m0', true, { roles: ['control-plane'] })],
      [node('m0', false), node('w0', true)],
      [node('m0', true), node('w0', true)],
    ];
    let i = 0;
    const result = await waitForNodesReady({ listNodes: async () => lists[i++]! }, ['m0', 'w0'], {
      timeoutMs: 60_000,
      onProgress: rec.onProgress,
      now: clock.now,
      sleep: clock.sleep,
    });
    expect(result.map((n) => n.name)).toEqual(['m0', 'w0']);
    const readyEvents = rec.events.filter((e) => e.type === 'node-ready');
    expect(readyEvents.map((e) => (e as { node: NodeSummary }).node.name)).toEqual(['m0', 'w0']);
    expect(rec.lines).toContain('node m0 is Ready (control-plane, v1.31.1, NestOS)');
    expect(rec.lines).toContain('still waiting for 2 nodes to be Ready: 0/2 Ready; not registered: m0, w0');
  });

  it('returns at once when no node is expected', async () => {
    const clock = fakeClock();
    expect(
      await waitForNodesReady({ listNodes: async () => [] }, [], { now: clock.now, sleep: clock.sleep }),
    ).toEqual([]);
  });

  it('on timeout, lists the nodes that never registered, those NotReady and the last API error', async () => {
    const clock = fakeClock();
    let i = 0;
    const listNodes = async () => {
      if (i++ === 1) throw new Error('HTTP 500 from GET /api/v1/nodes: etcdserver: leader changed');
      return [
        node('m0', true),
        node('m1', false, {
          readyStatus: 'False',
          readyReason: 'KubeletNotReady',
          readyMessage: 'cni plugin not initialized',
        }),
        node('stray', true),
      ];
    };
    const err = (await waitForNodesReady({ listNodes }, ['m0', 'm1', 'w0'], {
      timeoutMs: 60_000,
      now: clock.now,
      sleep: clock.sleep,
      diagnose: () => ['w0 never fetched its Ignition config', 'console log of w0: /tmp/w0.log'],
    }).catch((e: unknown) => e)) as WaitTimeoutError;
    expect(err.exitCode).toBe(ExitCode.WaitTimeout);
    expect(err.message).toContain('waiting for 3 nodes to be Ready');
    expect(err.message).toContain('last status: 1/3 Ready; not registered: w0; NotReady: m1');
    expect(err.details).toEqual([
      'Ready: m0',
      'never registered: w0',
      'registered but NotReady: m1 (Ready=False; KubeletNotReady: cni plugin not initialized)',
      'registered but not in the plan: stray',
      'last API error (14:12:01): HTTP 500 from GET /api/v1/nodes: etcdserver: leader changed',
      'w0 never fetched its Ignition config',
      'console log of w0: /tmp/w0.log',
    ]);
  });
});
