// Ctrl-C in a large dry-run, at many instants: nkd says how to resume and exits 130, leaves no lock and
// no temporary or empty file, and the same command run again gives exactly the files of an
// uninterrupted run (the PKI being random, "the same" means: what an uninterrupted run makes from that
// PKI; the debug log, which holds timestamps, is left out of the comparison).
import { cpSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  edit,
  REPO_ROOT,
  removeTempDirs,
  sandbox,
  startNkd,
  statTree,
  type Sandbox,
} from '../helpers/cli.js';

afterAll(removeTempDirs);

const NODES = 200;

function bigConfig(sb: Sandbox): string {
  const text = edit(
    readFileSync(join(REPO_ROOT, 'examples', 'libvirt.yaml'), 'utf8'),
    'count: 2\n',
    `count: ${NODES - 3}\n`,
  );
  const file = join(sb.root, 'big.yaml');
  writeFileSync(file, text);
  return file;
}

/** Path → content of every file of the cluster but the debug logs; also the modes of every entry. */
function snapshot(cluster: string): { files: Map<string, string>; modes: string[] } {
  const entries = statTree(cluster).filter((e) => !e.path.startsWith('logs'));
  return {
    files: new Map(
      entries
        .filter((e) => e.type === 'file')
        .map((e) => [e.path, readFileSync(join(cluster, e.path), 'latin1')]),
    ),
    modes: entries.map((e) => `${e.path} ${e.type} ${e.mode.toString(8)}`),
  };
}

type Trigger = { name: string; fire: (cluster: string) => Promise<void> };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(check: () => boolean, limitMs = 30_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check() && Date.now() < end) await sleep(2);
}

const count = (dir: string) => (existsSync(dir) ? statTree(dir).length : 0);

const TRIGGERS: Trigger[] = [
  ...[150, 400, 700, 1000, 1400].map((ms) => ({ name: `after ${ms} ms`, fire: () => sleep(ms) })),
  { name: 'when the cluster directory appears', fire: (c) => until(() => existsSync(c)) },
  { name: 'when the PKI directory appears', fire: (c) => until(() => existsSync(join(c, 'pki'))) },
  {
    name: 'when the first Ignition file appears',
    fire: (c) => until(() => count(join(c, 'assets', 'ignition')) > 0),
  },
  {
    name: 'half-way through the Ignition files',
    fire: (c) => until(() => count(join(c, 'assets', 'ignition')) >= NODES / 2),
  },
  {
    name: 'when plan.json is removed or written',
    fire: (c) => until(() => existsSync(join(c, 'plan.json'))),
  },
];

describe.concurrent(`Ctrl-C in a ${NODES}-node dry-run`, () => {
  const outcomes: number[] = [];

  it.each(TRIGGERS)(
    '$name: exit 130 with how to resume, nothing half-done, and a re-run completes it exactly',
    async ({ fire }) => {
      const sb = sandbox();
      const config = bigConfig(sb);
      const cluster = join(sb.state, 'clusters', 'demo');
      const args = ['deploy', '-f', config, '--dry-run', '--state-dir', sb.state];
      const child = startNkd(args, { env: sb.env, cwd: sb.root });
      await fire(cluster);
      child.kill('SIGINT');
      const r = await child;
      outcomes.push(r.exitCode ?? -1);
      if (r.exitCode === undefined) {
        // The process died of the signal: either before Node ran any of nkd (nothing written), or after
        // the command had finished and released its handler (the run was complete).
        expect(r.signal).toBe('SIGINT');
        if (existsSync(sb.state)) expect(existsSync(join(cluster, 'plan.json'))).toBe(true);
      } else {
        expect([0, 130], String(r.stderr)).toContain(r.exitCode);
      }
      if (r.exitCode === 130) {
        expect(String(r.stderr)).toMatch(/\nnkd: interrupted; run the same command again to resume\s*$/);
      }
      const left = statTree(sb.state);
      expect(left.filter((e) => e.path.endsWith('/.lock'))).toEqual([]);
      expect(left.filter((e) => e.path.endsWith('.tmp'))).toEqual([]);
      const empty = left.filter((e) => e.type === 'file' && statSync(join(sb.state, e.path)).size === 0);
      expect(empty).toEqual([]);

      const again = await sb.run(args);
      expect(again.exitCode, again.stderr).toBe(0);
      const resumed = snapshot(cluster);
      expect(resumed.files.size).toBeGreaterThan(2 * NODES);

      // An uninterrupted run from the same PKI, in a state directory of its own.
      const fresh = sandbox();
      const freshCluster = join(fresh.state, 'clusters', 'demo');
      cpSync(join(cluster, 'pki'), join(freshCluster, 'pki'), { recursive: true });
      const reference = await fresh.run(['deploy', '-f', config, '--dry-run', '--state-dir', fresh.state]);
      expect(reference.exitCode, reference.stderr).toBe(0);
      const expected = snapshot(freshCluster);
      expect(resumed.modes).toEqual(expected.modes);
      expect([...resumed.files.keys()]).toEqual([...expected.files.keys()]);
      for (const [path, text] of expected.files) expect(resumed.files.get(path) === text, path).toBe(true);
    },
    120_000,
  );

  it('most instants really interrupted the run', () => {
    // Runs after the others in this file's queue; several of them must have caught the run mid-way.
    expect(outcomes.filter((c) => c === 130).length).toBeGreaterThanOrEqual(4);
  });
});
