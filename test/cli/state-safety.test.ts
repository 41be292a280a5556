// The state directory holds every cluster's secrets: nkd must never lose it to a bad argument, follow a
// link or trust a file it did not create there, nor quote a secret file in an error.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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

const AS_ROOT = process.getuid?.() === 0;
const DRY_RUN = (sb: Sandbox) => ['deploy', '-f', LIBVIRT, '--dry-run', '--state-dir', sb.state];

/** A sandbox with one dry-run deployed cluster; returns its directory. */
async function deployed(sb: Sandbox): Promise<string> {
  const r = await sb.run(DRY_RUN(sb));
  expect(r.exitCode, r.stderr).toBe(0);
  return join(sb.state, 'clusters', 'demo');
}

/** The run is refused with the state exit code, one line on stderr matching `pattern`, no plan printed. */
function expectRefused(r: { exitCode: number; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(r.exitCode, r.stderr).toBe(4);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
  expect(r.stdout).toBe('');
}

describe.concurrent('nkd trusts nothing in the state directory it did not create', () => {
  it('a symbolic link at clusters/NAME/pki: refused, no key written where it points', async () => {
    const sb = sandbox();
    const elsewhere = join(sb.root, 'elsewhere');
    mkdirSync(elsewhere);
    const cluster = join(sb.state, 'clusters', 'demo');
    mkdirSync(cluster, { recursive: true, mode: 0o700 });
    symlinkSync(elsewhere, join(cluster, 'pki'));
    const r = await sb.run(DRY_RUN(sb));
    expectRefused(r, /pki is a symbolic link/);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('a symbolic link at assets/ignition: refused, the files where it points kept', async () => {
    const sb = sandbox();
    const cluster = await deployed(sb);
    const elsewhere = join(sb.root, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, 'mine.txt'), 'mine');
    rmSync(join(cluster, 'assets', 'ignition'), { recursive: true });
    symlinkSync(elsewhere, join(cluster, 'assets', 'ignition'));
    const r = await sb.run(DRY_RUN(sb));
    expectRefused(r, /ignition is a symbolic link/);
    expect(readdirSync(elsewhere)).toEqual(['mine.txt']);
  });

  it("a planted HOST.ign link to a world-readable file: refused, the control plane's secrets not written there", async () => {
    const sb = sandbox();
    const cluster = await deployed(sb);
    const target = join(sb.root, 'public.txt');
    writeFileSync(target, 'public\n', { mode: 0o644 });
    const ign = join(cluster, 'assets', 'ignition', 'demo-cp-1.ign');
    rmSync(ign);
    symlinkSync(target, ign);
    const r = await sb.run(DRY_RUN(sb));
    expectRefused(r, /demo-cp-1\.ign is a symbolic link/);
    expect(readFileSync(target, 'utf8')).toBe('public\n');
  });

  it.skipIf(!AS_ROOT)('a PKI another user generated (uid 12345) is not reused', async () => {
    const sb = sandbox();
    const cluster = await deployed(sb);
    execFileSync('chown', ['-R', '12345:12345', join(cluster, 'pki')]);
    const r = await sb.run(DRY_RUN(sb));
    expectRefused(r, /pki is owned by uid 12345, not by you/);
    expect(r.stderr).not.toMatch(/Reusing/);
  });

  it.skipIf(!AS_ROOT)('a single PKI file another user owns is not used', async () => {
    const sb = sandbox();
    const cluster = await deployed(sb);
    chownSync(join(cluster, 'pki', 'ca.key'), 12345, 12345);
    const r = await sb.run(DRY_RUN(sb));
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/ca\.key is owned by uid 12345, not by you/);
    expect(r.stderr).not.toMatch(/Reusing/);
  });

  it('status and kubeconfig refuse a cluster directory that is a link (exit 4), reading nothing through it', async () => {
    const sb = sandbox();
    const cluster = await deployed(sb);
    const moved = join(sb.root, 'moved');
    renameSync(cluster, moved);
    symlinkSync(moved, cluster);
    for (const cmd of [
      ['status', 'demo'],
      ['kubeconfig', 'demo'],
    ]) {
      const r = await sb.run([...cmd, '--state-dir', sb.state]);
      expect(r.exitCode, `${cmd.join(' ')}: ${r.stderr}`).toBe(4);
      expect(r.stderr).toMatch(/demo is a symbolic link/);
      expect(r.stdout).toBe('');
    }
  });

  it('a cluster directory others may write: refused, naming the chmod', async () => {
    const sb = sandbox();
    const cluster = await deployed(sb);
    chmodSync(cluster, 0o777);
    const r = await sb.run(DRY_RUN(sb));
    expectRefused(r, /demo is writable by group or others .*chmod go-w/);
  });

  it('stale temporary files of a killed run are removed by the next run', async () => {
    const sb = sandbox();
    const cluster = await deployed(sb);
    const stale = [
      join(cluster, '.plan.json.0123456789ab.tmp'),
      join(cluster, 'pki', '.ca.key.0123456789ab.tmp'),
    ];
    for (const f of stale) writeFileSync(f, '', { mode: 0o600 });
    mkdirSync(join(cluster, '.pki.0123456789ab.tmp'), { mode: 0o700 });
    expect((await sb.run(DRY_RUN(sb))).exitCode).toBe(0);
    for (const f of [...stale, join(cluster, '.pki.0123456789ab.tmp')]) expect(existsSync(f), f).toBe(false);
  });
});

describe.concurrent('a state directory nkd cannot use is refused before any plan is printed', () => {
  it('a file', async () => {
    const sb = sandbox();
    const file = join(sb.root, 'file');
    writeFileSync(file, '');
    const r = await sb.run(['deploy', '-f', LIBVIRT, '--dry-run', '--state-dir', file]);
    expectRefused(r, new RegExp(`state directory ${file} is not a directory`));
  });

  it('under a file', async () => {
    const sb = sandbox();
    const file = join(sb.root, 'file');
    writeFileSync(file, '');
    const r = await sb.run(['deploy', '-f', LIBVIRT, '--dry-run', '--state-dir', join(file, 'state')]);
    expectRefused(r, new RegExp(`cannot create the state directory ${file}/state: ${file} is a file`));
  });

  it.each(['/proc/nkd', '/sys/nkd', '/proc/self/nkd/x'])('%s: at once (no spinning)', async (dir) => {
    const sb = sandbox();
    const started = Date.now();
    const r = await sb.run(['deploy', '-f', LIBVIRT, '--dry-run', '--state-dir', dir], { timeout: 15_000 });
    expectRefused(r, /is on (proc|sysfs), a virtual file system/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it.skipIf(!AS_ROOT)('an immutable one (chattr +i)', async (ctx) => {
    const sb = sandbox();
    mkdirSync(sb.state, { mode: 0o700 });
    try {
      execFileSync('chattr', ['+i', sb.state], { stdio: 'pipe' });
    } catch (err) {
      ctx.skip(`this file system does not support chattr +i: ${String(err)}`);
    }
    try {
      const r = await sb.run(DRY_RUN(sb));
      expectRefused(r, new RegExp(`state directory ${sb.state} is not writable: it is immutable`));
    } finally {
      execFileSync('chattr', ['-i', sb.state]);
    }
  });

  it('one owned by another user: refused', async () => {
    const sb = sandbox();
    await deployed(sb);
    chownSync(sb.state, 12345, 12345);
    const r = await sb.run(DRY_RUN(sb));
    expectRefused(r, /state directory .*state is owned by uid 12345/);
  });

  it('a debug log directory nkd cannot create (XDG_CACHE_HOME=/proc/nkd) does not hang a run', async () => {
    const sb = sandbox();
    const bad = writeConfig(
      sb.root,
      edit(readFileSync(LIBVIRT, 'utf8'), 'runtime: containerd', 'runtime: rkt'),
    );
    const r = await sb.run(['validate', '-f', bad], {
      env: { XDG_CACHE_HOME: '/proc/nkd' },
      timeout: 15_000,
    });
    expect(r.exitCode).toBe(3);
  });

  it('--state-dir "" is a usage error (exit 2), not ~/.nkd', async () => {
    const sb = sandbox();
    const r = await sb.run(['deploy', '-f', LIBVIRT, '--dry-run', '--state-dir', '']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--state-dir is empty/);
    expect(r.stdout).toBe('');
    expect(existsSync(join(sb.home, '.nkd'))).toBe(false);
  });

  it("NKD_STATE_DIR='~/x' is under HOME, not a directory named ~", async () => {
    const sb = sandbox();
    const r = await sb.run(['deploy', '-f', LIBVIRT, '--dry-run'], { env: { NKD_STATE_DIR: '~/x' } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(join(sb.home, 'x', 'clusters', 'demo', 'plan.json'))).toBe(true);
    expect(existsSync(join(sb.root, '~'))).toBe(false);
  });
});

describe.concurrent('kubeconfig --merge', () => {
  it('writes 0600 through an unpredictable temporary file, keeping the previous kubeconfig as a 0600 backup', async () => {
    const sb = sandbox();
    await deployed(sb);
    const kube = join(sb.root, 'kube');
    mkdirSync(kube);
    const target = join(kube, 'config');
    const previous = 'apiVersion: v1\nkind: Config\nclusters: []\n# mine\n';
    writeFileSync(target, previous, { mode: 0o644 });
    chmodSync(target, 0o644);
    const r = await sb.run([
      'kubeconfig',
      'demo',
      '--merge',
      '--kubeconfig',
      target,
      '--state-dir',
      sb.state,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readFileSync(target, 'utf8')).toContain('nkd-admin@demo');
    const backup = `${target}.nkd-backup`;
    expect(readFileSync(backup, 'utf8')).toBe(previous);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    expect(readdirSync(kube).sort()).toEqual(['config', 'config.nkd-backup']);
  });

  it('a target that is a link of the user: the file it points to is updated', async () => {
    const sb = sandbox();
    await deployed(sb);
    const real = join(sb.root, 'real-config');
    writeFileSync(real, '', { mode: 0o600 });
    const link = join(sb.root, 'config');
    symlinkSync(real, link);
    const r = await sb.run(['kubeconfig', 'demo', '--merge', '--kubeconfig', link, '--state-dir', sb.state]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(real, 'utf8')).toContain('nkd-admin@demo');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });
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
