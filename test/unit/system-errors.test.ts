// The environment's failures map to documented exit codes with one line naming the path or server;
// echoed values are bounded.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifySystemError } from '../../src/cli/system-errors.js';
import { KubeApiError } from '../../src/kube/errors.js';
import { capValue } from '../../src/lib/cap.js';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('did not throw');
}

describe('classifySystemError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nkd-syserr-'));

  it('a missing file, a file used as a directory, a directory read as a file: exit 4 with the path', () => {
    const file = join(dir, 'f');
    writeFileSync(file, 'x');
    for (const err of [
      thrown(() => readFileSync(join(dir, 'missing'))),
      thrown(() => writeFileSync(join(file, 'below'), 'x')),
      thrown(() => readFileSync(join(dir, 'missing', 'x'))),
    ]) {
      const c = classifySystemError(err);
      expect(c?.code, err.message).toBe(4);
      expect(c?.message).toContain(dir);
      expect(c?.message).toMatch(/run the same command again$/);
    }
  });

  it('a full disk says to free space', () => {
    const err = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
      syscall: 'write',
      path: '/s/x',
    });
    expect(classifySystemError(err)?.message).toBe(
      'cannot write /s/x: no space left on the device (ENOSPC); free some space and run the same command again',
    );
  });

  it('an unreachable cluster is exit 7, a refusal by the cluster exit 8', () => {
    const refused = new KubeApiError(
      'https://10.0.0.1:6443: connection refused (ECONNREFUSED)',
      'connection',
    );
    expect(classifySystemError(refused)?.code).toBe(7);
    expect(classifySystemError(new KubeApiError('x: 403 Forbidden', 'http', 403))?.code).toBe(8);
  });

  it("nkd's own bugs are left unclassified (exit 1)", () => {
    expect(classifySystemError(new TypeError("Cannot read properties of undefined (reading 'map')"))).toBe(
      undefined,
    );
  });
});

describe('capValue', () => {
  it('cuts a long value to 80 characters and an ellipsis, reading only its head', () => {
    const big = 'a'.repeat(1_000_000);
    expect(capValue(big)).toBe(`${'a'.repeat(80)}…`);
    expect(capValue('short')).toBe('short');
  });

  it('escapes line breaks and control characters so an echo cannot forge output lines', () => {
    expect(capValue('a\nnkd: fake\u001b[31m')).toBe('a\\nnkd: fake?[31m');
  });
});
