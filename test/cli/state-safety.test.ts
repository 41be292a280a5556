// The state directory holds every cluster's secrets: nkd must never lose it to a bad argument, follow a
// link or trust a file it did not create there, nor quote a secret file in an error.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  edit,
  listTree,
  REPO_ROOT,
  removeTempDirs,
  sandbox,
  statTree,
  writeConfig,
  type Sandbox,
} from '../helpers/cli.js';

const LIBVIRT = join(REPO_ROOT, 'examples', 'libvirt.yaml');
const OPENSTACK = join(REPO_ROOT, 'examples', 'openstack.yaml');

afterAll(removeTempDirs);

/** Two clusters' state (dry-run deploys) in `state`, plus a file next to the state directory. */
async function twoClusters(sb: Sandbox, state = sb.state): Promise<string[]> {
  const other = writeConfig(
    sb.root,
    edit(readFileSync(LIBVIRT, 'utf8'), 'name: demo', 'name: other'),
    'other.yaml',
  );
  for (const file of [LIBVIRT, other]) {
    const r = await sb.run(['deploy', '-f', file, '--dry-run', '--state-dir', state]);
    expect(r.exitCode, r.stderr).toBe(0);
  }
  writeFileSync(join(sb.root, 'precious.txt'), 'keep me');
  return snapshot(sb);
}

/** Everything in the sandbox but the debug log's fallback location (cache/) and HOME. */
function snapshot(sb: Sandbox): string[] {
  return listTree(sb.root).filter((p) => !/^(cache|home)\//.test(p));
}

describe.concurrent('a cluster NAME from the command line', () => {
  // Each command with a few names that escape; the rule itself is tested in test/unit/cluster-name.test.ts.
  const BAD = ['', '.', '../../x'];

  it.each(['', '.', '../..'])(
    'destroy %j --yes is a usage error (exit 2) and removes nothing',
    async (name) => {
      const sb = sandbox();
      const before = await twoClusters(sb);
      const r = await sb.run(['destroy', name, '--yes', '--state-dir', sb.state]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('is not a cluster name');
      expect(snapshot(sb)).toEqual(before);
    },
  );

  it('destroy ../.. --yes with the state in X/state removes nothing of X', async () => {
    const sb = sandbox();
    const x = join(sb.root, 'X');
    mkdirSync(x);
    const before = await twoClusters(sb, join(x, 'state'));
    const r = await sb.run(['destroy', '../..', '--yes', '--state-dir', 'X/state']);
    expect(r.exitCode).toBe(2);
    expect(snapshot(sb)).toEqual(before);
  });

  it('every command taking a NAME refuses names that are not cluster names, before reading anything', async () => {
    const sb = sandbox();
    const before = await twoClusters(sb);
    const commands = [
      ['destroy', '--yes'],
      ['status'],
      ['kubeconfig'],
      ['kubeconfig', '--merge', '--kubeconfig', join(sb.root, 'kc')],
      ['wait'],
      ['scale', '--workers', '2', '--yes'],
      ['upgrade', '--kube-version', 'v1.30.5', '--yes'],
      ['upgrade', 'status'],
    ];
    const runs = commands.flatMap((cmd) =>
      BAD.map(async (name) => {
        const [first, ...rest] = cmd;
        const args =
          first === 'upgrade' && rest[0] === 'status' ? ['upgrade', 'status', name] : [first!, name, ...rest];
        const r = await sb.run([...args, '--state-dir', sb.state]);
        return { args: args.join(' '), exitCode: r.exitCode, stderr: r.stderr };
      }),
    );
    for (const r of await Promise.all(runs)) {
      expect(r.exitCode, `${r.args}: ${r.stderr}`).toBe(2);
      expect(r.stderr, r.args).toMatch(/is not a cluster name/);
    }
    expect(snapshot(sb)).toEqual(before);
  }, 180_000);

  it('a valid NAME still works', async () => {
    const sb = sandbox();
    await twoClusters(sb);
    const r = await sb.run(['destroy', 'other', '--yes', '--state-dir', sb.state]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(listTree(join(sb.state, 'clusters')).filter((p) => /^[^/]+\/$/.test(p))).toEqual(['demo/']);
  });
});

/** Path → content of every file below `dir` but the debug logs. */
function contents(dir: string): Map<string, string> {
  return new Map(
    statTree(dir)
      .filter((e) => e.type === 'file' && !e.path.includes('logs/'))
      .map((e) => [e.path, readFileSync(join(dir, e.path), 'latin1')]),
  );
}

describe.concurrent('a refused command changes nothing', () => {
  const refusals: [string, (cluster: string) => void][] = [
    ['a PKI file missing', (cluster) => rmSync(join(cluster, 'pki', 'sa.key'))],
    ['a corrupt deploy checkpoint', (cluster) => writeFileSync(join(cluster, 'deploy-state.json'), '{')],
    [
      'half an Ignition service CA',
      (cluster) => {
        mkdirSync(join(cluster, 'ignition-service'), { mode: 0o700 });
        writeFileSync(join(cluster, 'ignition-service', 'ca.crt'), 'x', { mode: 0o600 });
      },
    ],
  ];
  it.each(refusals)(
    'a dry-run refused for %s (exit 4) keeps plan.json and every asset',
    async (_, breakIt) => {
      const sb = sandbox();
      expect((await sb.run(['deploy', '-f', LIBVIRT, '--dry-run', '--state-dir', sb.state])).exitCode).toBe(
        0,
      );
      const cluster = join(sb.state, 'clusters', 'demo');
      breakIt(cluster);
      const before = contents(cluster);
      // A changed config: had the run gone ahead, the assets would change.
      const changed = writeConfig(
        sb.root,
        edit(readFileSync(LIBVIRT, 'utf8'), 'runtime: containerd', 'runtime: crio'),
      );
      const r = await sb.run(['deploy', '-f', changed, '--dry-run', '--state-dir', sb.state]);
      expect(r.exitCode, r.stderr).toBe(4);
      expect(contents(cluster)).toEqual(before);
      expect(before.has('plan.json')).toBe(true);
    },
  );
});

describe.concurrent('secret state files', () => {
  it('a corrupt tokens.json is named as corrupt (exit 4) without quoting a token on stderr or in the debug log', async () => {
    const sb = sandbox();
    const args = ['deploy', '-f', OPENSTACK, '--dry-run', '--state-dir', sb.state];
    expect((await sb.run(args)).exitCode).toBe(0);
    const cluster = join(sb.state, 'clusters', 'prod');
    const file = join(cluster, 'ignition-service', 'tokens.json');
    const text = readFileSync(file, 'utf8');
    // Break it right after a token: V8's message quotes the characters around the fault.
    const broken = text.replace(/",\n/, '" oops,\n');
    writeFileSync(file, broken);
    const r = await sb.run(args);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain(`${file} is corrupt (not valid JSON)`);
    const log = readFileSync(join(cluster, 'logs', 'nkd-debug.log'), 'utf8');
    const tokens = Object.values(JSON.parse(text) as Record<string, string>);
    for (const token of tokens) {
      for (const part of [token.slice(0, 10), token.slice(-10)]) {
        expect(r.stderr).not.toContain(part);
        expect(log).not.toContain(part);
      }
    }
  });
});
