// The e2e run's command line (scripts/e2e/args.ts): a bad argument is one line before anything starts.
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../scripts/e2e/args.js';
import { defaultDeadline } from '../../scripts/e2e/deadline.js';
import { upgradeTimeoutMinutes } from '../../scripts/e2e/upgrade.js';

describe('e2e arguments', () => {
  it('leaves the deadline to the node count when none is given: 90 min up to 2 nodes, 30 more a node', () => {
    expect(parseArgs([])).toEqual({ keep: false });
    expect(defaultDeadline(2).ms).toBe(90 * 60_000);
    expect(defaultDeadline(1).ms).toBe(90 * 60_000);
    expect(defaultDeadline(5)).toEqual({ text: '180m (the default for 5 nodes)', ms: 180 * 60_000 });
  });

  it('takes a deadline as nkd takes durations', () => {
    expect(parseArgs(['--deadline', '55m', '--keep']).deadline?.ms).toBe(55 * 60_000);
    expect(parseArgs(['--deadline', '1h30m']).deadline?.ms).toBe(90 * 60_000);
    expect(parseArgs(['--deadline', '40']).deadline?.ms).toBe(40 * 60_000);
  });

  it('refuses a deadline that is not a duration, or missing', () => {
    expect(() => parseArgs(['--deadline', 'soon'])).toThrow(/^--deadline "soon" is not a duration/);
    expect(() => parseArgs(['--deadline', '0'])).toThrow('--deadline "0" must be longer than zero');
    expect(() => parseArgs(['--deadline'])).toThrow('--deadline needs a duration');
    expect(() => parseArgs(['--deadline', '--keep'])).toThrow('--deadline needs a duration');
  });

  it('refuses -f without a file, a missing file and an unknown argument', () => {
    expect(() => parseArgs(['-f'])).toThrow('-f needs a config file');
    expect(() => parseArgs(['-f', '/nonexistent/e2e.yaml'])).toThrow('/nonexistent/e2e.yaml does not exist');
    expect(() => parseArgs(['--bogus'])).toThrow(/^unknown argument --bogus \(usage: npm run e2e -- /);
  });

  it('gives the upgrade 25 min a node (they go one at a time), and at least an hour', () => {
    expect(upgradeTimeoutMinutes(1)).toBe(60);
    expect(upgradeTimeoutMinutes(2)).toBe(60);
    expect(upgradeTimeoutMinutes(5)).toBe(125);
  });
});
