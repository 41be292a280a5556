import { describe, expect, it } from 'vitest';
import { checkClusterName } from '../../src/cli/args.js';
import { ExitCode, NkdError } from '../../src/errors.js';
import { clusterPaths } from '../../src/state/paths.js';

const ESCAPES = ['', '.', '..', '../..', '../../x', 'demo/../other', '/etc', 'a/b', 'demo\0', ' demo'];
const INVALID = [...ESCAPES, 'Demo', 'a'.repeat(41), '-x', 'x-', 'a_b', 'ä'];

describe('cluster names from the command line', () => {
  it.each(INVALID)('%j is a usage error naming the rule', (name) => {
    let err: unknown;
    try {
      checkClusterName(name);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NkdError);
    expect((err as NkdError).exitCode).toBe(ExitCode.Usage);
    expect((err as NkdError).message).toMatch(/is not a cluster name: it must/);
  });

  it('shows a long name shortened', () => {
    expect(() => checkClusterName('x'.repeat(5000))).toThrow(/^"x{50,60}…" is not a cluster name/);
  });

  it.each(['demo', 'a', 'prod-1', 'a'.repeat(40)])('%j is accepted', (name) => {
    expect(checkClusterName(name)).toBe(name);
  });

  it.each(ESCAPES)('clusterPaths refuses %j too, so no caller can leave clusters/', (name) => {
    expect(() => clusterPaths('/state', name)).toThrow(NkdError);
  });
});
