import { chownSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitCode, NkdError } from '../../src/errors.js';
import { isStringRecord, readStateJson, readStateJsonSync } from '../../src/state/files.js';

const SECRET = 'abcdef.0123456789abcdef';

describe('readStateJson', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'nkd-files-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  async function failure(path: string): Promise<NkdError[]> {
    const errors: unknown[] = [];
    await readStateJson(path, 'the node tokens', isStringRecord).catch((e: unknown) => errors.push(e));
    try {
      readStateJsonSync(path, 'the node tokens', isStringRecord);
    } catch (e) {
      errors.push(e);
    }
    expect(errors).toHaveLength(2);
    for (const e of errors) expect(e).toBeInstanceOf(NkdError);
    return errors as NkdError[];
  }

  it('reads a valid file (both forms)', async () => {
    const file = join(dir(), 'tokens.json');
    writeFileSync(file, JSON.stringify({ a: SECRET }), { mode: 0o600 });
    expect(await readStateJson(file, 'the node tokens', isStringRecord)).toEqual({ a: SECRET });
    expect(readStateJsonSync(file, 'the node tokens', isStringRecord)).toEqual({ a: SECRET });
  });

  it('reports invalid JSON as corrupt by path, exit 4, never quoting the content', async () => {
    const file = join(dir(), 'tokens.json');
    // V8's own message for this text quotes the token around the fault.
    writeFileSync(file, `{"node-1": "${SECRET}" x}`, { mode: 0o600 });
    for (const err of await failure(file)) {
      expect(err.exitCode).toBe(ExitCode.State);
      expect(err.message).toContain(file);
      expect(err.message).toMatch(/the node tokens .* is corrupt \(not valid JSON\)/);
      expect(`${err.message}\n${err.stack}\n${String(err.cause)}`).not.toMatch(/abcdef|0123456789/);
    }
  });

  it('reports a file of the wrong structure as corrupt, without its content', async () => {
    const file = join(dir(), 'tokens.json');
    writeFileSync(file, JSON.stringify([SECRET]), { mode: 0o600 });
    for (const err of await failure(file)) {
      expect(err.exitCode).toBe(ExitCode.State);
      expect(err.message).toMatch(/is corrupt \(not the structure nkd writes\)/);
      expect(err.message).not.toContain('abcdef');
    }
  });

  it('refuses a symbolic link instead of following it', async () => {
    const d = dir();
    writeFileSync(join(d, 'elsewhere.json'), '{}', { mode: 0o600 });
    symlinkSync(join(d, 'elsewhere.json'), join(d, 'tokens.json'));
    for (const err of await failure(join(d, 'tokens.json'))) {
      expect(err.exitCode).toBe(ExitCode.State);
      expect(err.message).toMatch(/tokens\.json is a symbolic link/);
    }
  });

  it('refuses a file others may write', async () => {
    const file = join(dir(), 'tokens.json');
    writeFileSync(file, '{}');
    const { chmodSync } = await import('node:fs');
    chmodSync(file, 0o666);
    for (const err of await failure(file)) expect(err.message).toMatch(/writable by group or others/);
  });

  it.skipIf(process.getuid?.() !== 0)('refuses a file another user owns (run as root)', async () => {
    const file = join(dir(), 'tokens.json');
    writeFileSync(file, '{}', { mode: 0o600 });
    chownSync(file, 12345, 12345);
    for (const err of await failure(file)) {
      expect(err.exitCode).toBe(ExitCode.State);
      expect(err.message).toMatch(/owned by uid 12345, not by you/);
    }
  });

  it('names a missing file', async () => {
    for (const err of await failure(join(dir(), 'nope.json'))) {
      expect(err.exitCode).toBe(ExitCode.State);
      expect(err.message).toMatch(/the node tokens .*nope\.json is missing/);
    }
  });
});
