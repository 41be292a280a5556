import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitCode, NkdError } from '../../src/errors.js';
import { lockCluster } from '../../src/state/lock.js';

describe('lockCluster', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'nkd-lock-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('creates a lock holding our pid and removes it on release', () => {
    const dir = tempDir();
    const lock = lockCluster(dir, 'demo');
    expect(readFileSync(join(dir, '.lock'), 'utf8').trim()).toBe(String(process.pid));
    lock.release();
    expect(existsSync(join(dir, '.lock'))).toBe(false);
  });

  it('refuses while another live process holds the lock, naming it, with the state exit code', async () => {
    const dir = tempDir();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(join(dir, '.lock'), `${other.pid}\n`);
      let caught: unknown;
      try {
        lockCluster(dir, 'demo');
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(NkdError);
      expect((caught as NkdError).exitCode).toBe(ExitCode.State);
      expect((caught as NkdError).message).toMatch(new RegExp(`pid ${other.pid}.*cluster demo`));
    } finally {
      other.kill();
    }
  });

  it('takes over a lock whose process is gone', async () => {
    const dir = tempDir();
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => gone.on('exit', resolve));
    writeFileSync(join(dir, '.lock'), `${gone.pid}\n`);
    const lock = lockCluster(dir, 'demo');
    expect(readFileSync(join(dir, '.lock'), 'utf8').trim()).toBe(String(process.pid));
    lock.release();
  });
});
