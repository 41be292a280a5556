// The end-to-end harness's step runner (scripts/e2e/steps.ts): once a signal interrupted the run, no
// step starts and no wait goes on, so the harness reaches its cleanup instead of polling for minutes.
import { afterEach, describe, expect, it } from 'vitest';
import { interruption, StepFailed, stepRunner, waitFor } from '../../scripts/e2e/steps.js';

afterEach(() => {
  delete interruption.signal;
});

describe('e2e steps', () => {
  it('prints a failed step with its name and fails the run with it', async () => {
    const lines: string[] = [];
    const steps = stepRunner((l) => lines.push(l));
    await expect(steps.step('boot', () => Promise.reject(new Error('no console')))).rejects.toBeInstanceOf(
      StepFailed,
    );
    expect(lines.at(-1)).toMatch(/FAIL {2}boot \(\d+ s\): no console$/);
  });

  it('starts no step after an interruption', async () => {
    const steps = stepRunner(() => {});
    interruption.signal = 'SIGINT';
    let ran = false;
    const step = steps.step('scale', async () => {
      ran = true;
    });
    await expect(step).rejects.toThrow('scale: interrupted by SIGINT');
    expect(ran).toBe(false);
  });

  it('ends a wait at its next poll once interrupted, long before its deadline', async () => {
    let polls = 0;
    const wait = waitFor(
      'nodes Ready',
      60 * 60_000,
      async () => {
        polls++;
        if (polls === 2) interruption.signal = 'SIGTERM';
        return 'not Ready: cp-0';
      },
      5,
    );
    await expect(wait).rejects.toThrow('interrupted by SIGTERM');
    expect(polls).toBe(2);
  });
});

describe('e2e run deadline', () => {
  afterEach(() => {
    delete interruption.deadline;
  });

  it('stops the waits and says the deadline in the failed step, not only the stopped command', async () => {
    const lines: string[] = [];
    const steps = stepRunner((l) => lines.push(l));
    const step = steps.step('nkd scale', () => {
      // The deadline passes while the command runs; the harness stops it and it exits 130.
      interruption.deadline = "the run's deadline (55m) passed";
      return Promise.reject(new Error('nkd scale exited 130'));
    });
    await expect(step).rejects.toBeInstanceOf(StepFailed);
    expect(lines.at(-1)).toMatch(
      /FAIL {2}nkd scale \(\d+ s\): the run's deadline \(55m\) passed \(nkd scale exited 130\)$/,
    );
    await expect(waitFor('nodes Ready', 60_000, async () => 'not yet', 5)).rejects.toThrow(
      "the run's deadline (55m) passed",
    );
  });
});
