// The end-to-end run's figures (scripts/e2e/figures.ts): nkd's own CPU time read from /proc.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { endedChildrenCpuSeconds, ownTimeFigure } from '../../scripts/e2e/figures.js';

describe("e2e figures: nkd's own time", () => {
  it('reads cutime and cstime even when the command name has spaces and parentheses', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
    const stat = '4242 (node (e2e) x) S 1 4242 4242 0 -1 4194560 100 200 0 0 50 7 1234 266 20 0 11 0';
    expect(endedChildrenCpuSeconds(stat)).toBe(15);
  });

  it("grows by a waited-for child's CPU time", () => {
    const before = endedChildrenCpuSeconds();
    // About 0.3 s of CPU in a child that has ended before the second reading.
    execFileSync(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < 300);']);
    expect(endedChildrenCpuSeconds() - before).toBeGreaterThanOrEqual(0.2);
  });

  it('says the share of the wall time', () => {
    expect(ownTimeFigure('deploy', 23, 460)).toBe(
      "deploy: nkd's own CPU time 23 s of 460 s wall (5%); the rest is waiting on the guests",
    );
  });
});
