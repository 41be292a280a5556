// Behaviour of every nkd command through the real binary: help and version, template, validate,
// usage errors (exit 2), deploy --dry-run and its state directory, warnings, the debug log, secrets.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  edit,
  lineOf,
  listTree,
  nonEmptyLines,
  problemLines,
  REPO_ROOT,
  removeTempDirs,
  sandbox,
  statTree,
  warningLines,
  writeConfig,
  type RunResult,
  type Sandbox,
} from '../helpers/cli.js';

afterAll(removeTempDirs);

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;
const EXAMPLE = join(REPO_ROOT, 'examples', 'libvirt.yaml');
const EXAMPLE_TEXT = readFileSync(EXAMPLE, 'utf8');
const OPENSTACK_EXAMPLE = join(REPO_ROOT, 'examples', 'openstack.yaml');
/** examples/libvirt.yaml: cluster "demo", 3 control-plane and 2 worker nodes, generated names. */
const NODES = ['demo-cp-1', 'demo-cp-2', 'demo-cp-3', 'demo-worker-1', 'demo-worker-2'];

function clusterDir(state: string, name = 'demo'): string {
  return join(state, 'clusters', name);
}

/** The one line a usage error prints, checked to be exactly one line on stderr and nothing on stdout. */
function singleErrorLine(r: RunResult): string {
  const lines = nonEmptyLines(r.stderr);
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stdout).toBe('');
  return lines[0]!;
}

describe.concurrent('help and version', () => {
  it('nkd --help lists every command and exits 0', async () => {
    const r = await sandbox().run(['--help']);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const command of ['deploy', 'template', 'validate', 'version']) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${command}\\s`, 'm'));
    }
  });

  it.each([
    [
      'deploy',
      ['$ nkd deploy -f cluster.yaml --dry-run', '$ nkd deploy -f cluster.yaml --dry-run --json | jq .nodes'],
    ],
    ['validate', ['$ nkd validate -f cluster.yaml', '$ nkd validate -f cluster.yaml --json | jq .errors']],
    ['template', ['$ nkd template > cluster.yaml', '$ nkd template --platform openstack -o cluster.yaml']],
    ['version', ['$ nkd version', '$ nkd version --json']],
  ])(
    'nkd %s --help shows its examples, and the global --state-dir flag where it is used',
    async (command, examples) => {
      const r = await sandbox().run([command, '--help']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain('USAGE');
      expect(r.stdout).toContain('EXAMPLES');
      for (const example of examples) expect(r.stdout).toContain(example);
      // template and version work on no cluster state: they list no flag they would ignore.
      const usesState = !['template', 'version'].includes(command);
      expect(r.stdout.includes('--state-dir')).toBe(usesState);
      expect(r.stdout.includes('NKD_STATE_DIR')).toBe(usesState);
    },
  );

  it('nkd --version prints nkd/<version>', async () => {
    const r = await sandbox().run(['--version']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^nkd/${VERSION.replace(/\./g, '\\.')} `));
  });

  it('nkd version --json prints only JSON with the version', async () => {
    const sb = sandbox();
    const [json, text] = await Promise.all([sb.run(['version', '--json']), sb.run(['version'])]);
    expect(json.exitCode, json.stderr).toBe(0);
    expect(json.stderr).toBe('');
    const info = JSON.parse(json.stdout) as {
      version: string;
      kubernetes: { min: string; max: string; supported: string[]; default: string };
      kubeadmApi: string;
    };
    expect(info.version).toBe(VERSION);
    // The minors upstream maintains, up to the newest stable one on the Go module proxy: the one
    // `npm run tools` builds (scripts/tools/versions.env) and the real-API tests run.
    const newest = /^KUBE_VERSION=(v1\.\d+)\.\d+$/m.exec(
      readFileSync(join(REPO_ROOT, 'scripts', 'tools', 'versions.env'), 'utf8'),
    )![1]!;
    expect(info.kubernetes).toEqual({
      min: 'v1.35',
      max: newest,
      supported: ['v1.35', 'v1.36', 'v1.37'],
      default: expect.stringMatching(new RegExp(`^${newest.replace('.', '\\.')}\\.\\d+$`)),
    });
    expect(info.kubeadmApi).toBe('kubeadm.k8s.io/v1beta4');
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain(`nkd ${VERSION}`);
    expect(text.stdout).toContain('Kubernetes v1.35, v1.36, v1.37 (default v1.37.');
  });
});

describe.concurrent('template', () => {
  it.each(['libvirt', 'openstack'])(
    'template --platform %s prints a config that validates',
    async (platform) => {
      const sb = sandbox();
      const printed = await sb.run(['template', '--platform', platform]);
      expect(printed.exitCode, printed.stderr).toBe(0);
      expect(printed.stdout).toMatch(new RegExp(`^    ${platform}:$`, 'm'));
      const file = writeConfig(sb.root, printed.stdout);
      const v = await sb.run(['validate', '-f', file]);
      expect(v.exitCode, v.stderr).toBe(0);
      expect(v.stdout).toBe(`${file} is valid\n`);
    },
  );

  it('-o FILE writes exactly what stdout gets', async () => {
    const sb = sandbox();
    const out = join(sb.root, 'out.yaml');
    const [printed, written] = await Promise.all([sb.run(['template']), sb.run(['template', '-o', out])]);
    expect(written.exitCode, written.stderr).toBe(0);
    expect(written.stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toBe(printed.stdout);
  });

  it('-o refuses to overwrite an existing file (exit 2, file unchanged) unless --force', async () => {
    const sb = sandbox();
    const out = writeConfig(sb.root, 'keep me\n', 'existing.yaml');
    const refused = await sb.run(['template', '-o', out]);
    expect(refused.exitCode).toBe(2);
    expect(singleErrorLine(refused)).toMatch(/already exists.*--force/);
    expect(readFileSync(out, 'utf8')).toBe('keep me\n');

    const forced = await sb.run(['template', '-o', out, '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('kind: Cluster');
  });

  it('an unknown --platform is a usage error', async () => {
    const r = await sandbox().run(['template', '--platform', 'vsphere']);
    expect(r.exitCode).toBe(2);
    expect(singleErrorLine(r)).toMatch(/vsphere/);
  });
});

describe.concurrent('validate', () => {
  it('examples/libvirt.yaml and examples/openstack.yaml are valid (exit 0)', async () => {
    const sb = sandbox();
    for (const file of [EXAMPLE, OPENSTACK_EXAMPLE]) {
      const r = await sb.run(['validate', '-f', file]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${file} is valid\n`);
      // Only warnings may appear on stderr.
      expect(nonEmptyLines(r.stderr).filter((l) => !l.startsWith('warning: '))).toEqual([]);
    }
  });

  it('--json on a valid file prints {valid: true, errors: [], warnings: [...]} and nothing else', async () => {
    const r = await sandbox().run(['validate', '-f', EXAMPLE, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { valid: boolean; errors: unknown[]; warnings: unknown[] };
    expect(report).toEqual({ valid: true, errors: [], warnings: expect.any(Array) as unknown[] });
  });

  it('--json on an invalid file prints valid: false with located errors, exit 3', async () => {
    const sb = sandbox();
    const yaml = edit(EXAMPLE_TEXT, 'runtime: containerd', 'runtime: dockr');
    const file = writeConfig(sb.root, yaml);
    const r = await sb.run(['validate', '-f', file, '--json']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { valid: boolean; errors: Record<string, unknown>[] };
    expect(report.valid).toBe(false);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatchObject({
      file,
      line: lineOf(yaml, 'runtime: dockr'),
      col: expect.any(Number) as number,
      path: 'spec.runtime',
      message: expect.stringMatching(/must be one of/) as string,
    });
  });
});

describe.concurrent('usage errors (exit 2, one line, nothing written)', () => {
  it.each([
    ['validate', []],
    ['deploy --dry-run', ['--dry-run']],
  ])('%s with a missing config file', async (command, extra) => {
    const sb = sandbox();
    const missing = join(sb.root, 'missing.yaml');
    const r = await sb.run([command.split(' ')[0]!, '-f', missing, ...extra, '--state-dir', sb.state]);
    expect(r.exitCode).toBe(2);
    expect(singleErrorLine(r)).toBe(`nkd: cannot read config ${missing}: no such file`);
    expect(existsSync(sb.state)).toBe(false);
  });

  it('a directory given as the config file', async () => {
    const sb = sandbox();
    const r = await sb.run(['deploy', '-f', sb.home, '--dry-run', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(2);
    expect(singleErrorLine(r)).toContain(`${sb.home}: is a directory`);
    expect(existsSync(sb.state)).toBe(false);
  });

  it('an unknown flag', async () => {
    const sb = sandbox();
    const r = await sb.run(['deploy', '-f', EXAMPLE, '--dry-rn', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(2);
    expect(singleErrorLine(r)).toContain('--dry-rn');
    expect(existsSync(sb.state)).toBe(false);
  });

  it('deploy without the required -f', async () => {
    const sb = sandbox();
    const r = await sb.run(['deploy', '--dry-run', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(2);
    expect(singleErrorLine(r)).toMatch(/^nkd: /);
    expect(existsSync(sb.state)).toBe(false);
  });

  // KNOWN BUG (src/cli/base.ts classify): the first line of oclif's "missing required flag" error is
  // the generic header "The following error occurred:", so the flag is never named. Drop `.fails`
  // once fixed.
  it('deploy without the required -f names the missing flag', async () => {
    const r = await sandbox().run(['deploy', '--dry-run']);
    expect(singleErrorLine(r)).toMatch(/\bfile\b/);
  });

  it('deploy without --dry-run and without the Pulumi CLI refuses with one clear line and creates nothing', async () => {
    const sb = sandbox();
    const r = await sb.run(['deploy', '-f', EXAMPLE, '--yes', '--state-dir', sb.state], {
      env: { PATH: '/usr/bin:/bin' },
    });
    expect(r.exitCode).toBe(5);
    expect(singleErrorLine(r)).toMatch(/^nkd: the Pulumi CLI was not found/);
    expect(existsSync(sb.state)).toBe(false);
  });
});

// The suite runs alongside the others, but its steps run in order on one state directory.
describe.concurrent('deploy --dry-run on examples/libvirt.yaml', () => {
  let sb: Sandbox;
  let dir: string;
  let first: RunResult;
  let firstTree: string[];
  const outputs: RunResult[] = [];

  /** Bytes of every rendered asset (ignition, kubeadm, plan.json, admin.conf) and of the CA key. */
  function snapshot(): Map<string, Buffer> {
    const files = listTree(dir).filter(
      (p) =>
        /^assets\/(ignition|kubeadm)\/[^/]+$/.test(p) ||
        ['plan.json', 'admin.conf', 'pki/ca.key'].includes(p),
    );
    return new Map(files.map((p) => [p, readFileSync(join(dir, p))]));
  }

  beforeAll(async () => {
    sb = sandbox();
    dir = clusterDir(sb.state);
    first = await sb.run(['deploy', '-f', EXAMPLE, '--dry-run', '--state-dir', sb.state]);
    outputs.push(first);
    firstTree = listTree(sb.state);
  });

  it.sequential('exits 0 and prints the plan summary with every node', () => {
    expect(first.exitCode, first.stderr).toBe(0);
    for (const node of NODES) expect(first.stdout).toMatch(new RegExp(`\\b${node}\\b`));
    expect(first.stdout).toContain('Dry run: nothing was provisioned');
    expect(first.stderr).toContain('Generated the cluster PKI');
  });

  it.sequential(
    'writes Ignition and kubeadm files for exactly the 5 nodes, plan.json, admin.conf and pki/',
    () => {
      expect(listTree(join(dir, 'assets', 'ignition'))).toEqual(NODES.map((n) => `${n}.ign`));
      expect(listTree(join(dir, 'assets', 'kubeadm'))).toEqual(NODES.map((n) => `${n}.yaml`));
      for (const node of NODES) {
        const ign = JSON.parse(readFileSync(join(dir, 'assets', 'ignition', `${node}.ign`), 'utf8')) as {
          ignition: { version: string };
        };
        expect(ign.ignition.version).toMatch(/^3\./);
      }
      const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as { nodes: { name: string }[] };
      expect(plan.nodes.map((n) => n.name)).toEqual(NODES);
      for (const file of ['admin.conf', 'pki/ca.crt', 'pki/ca.key', 'pki/bootstrap-token']) {
        expect(existsSync(join(dir, file)), file).toBe(true);
      }
      // Everything lives under clusters/demo/, with no temporary or staging leftovers.
      expect(firstTree.filter((p) => !`${p}/`.startsWith('clusters/'))).toEqual([]);
      expect(firstTree.filter((p) => /\.tmp$|\.new-|\.old-|(^|\/)\.[^/]*$/.test(p))).toEqual([]);
    },
  );

  it.sequential('makes every file 0600 and every directory 0700', () => {
    const entries = statTree(sb.state);
    expect(entries.length).toBeGreaterThan(10);
    expect(statSync(sb.state).mode & 0o777).toBe(0o700);
    for (const e of entries) {
      expect({ path: e.path, mode: e.mode.toString(8) }).toEqual({
        path: e.path,
        mode: e.type === 'dir' ? '700' : '600',
      });
    }
  });

  it.sequential('a second run gives byte-identical files and reuses the PKI', async () => {
    const before = snapshot();
    const second = await sb.run(['deploy', '-f', EXAMPLE, '--dry-run', '--state-dir', sb.state]);
    outputs.push(second);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).toContain('Reusing the cluster PKI');
    const after = snapshot();
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [path, bytes] of before) expect(after.get(path)!.equals(bytes), path).toBe(true);
    expect(listTree(sb.state)).toEqual(firstTree);
  });

  it.sequential(
    '--json prints only JSON on stdout, listing the nodes with their ignition paths',
    async () => {
      const r = await sb.run(['deploy', '-f', EXAMPLE, '--dry-run', '--json', '--state-dir', sb.state]);
      outputs.push(r);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const result = JSON.parse(r.stdout) as {
        cluster: string;
        dryRun: boolean;
        pkiCreated: boolean;
        nodes: { name: string; role: string; address: string; ignition: string }[];
      };
      expect(result).toMatchObject({ cluster: 'demo', dryRun: true, pkiCreated: false });
      expect(result.nodes.map((n) => n.name)).toEqual(NODES);
      for (const node of result.nodes) {
        expect(node.ignition).toBe(join(dir, 'assets', 'ignition', `${node.name}.ign`));
        expect(existsSync(node.ignition)).toBe(true);
      }
    },
  );

  it.sequential('after editing the config to fewer workers, the stale worker files are removed', async () => {
    const caKey = readFileSync(join(dir, 'pki', 'ca.key'));
    const file = writeConfig(
      sb.root,
      edit(EXAMPLE_TEXT, '  workers:\n    count: 2', '  workers:\n    count: 1'),
    );
    const r = await sb.run(['deploy', '-f', file, '--dry-run', '--state-dir', sb.state]);
    outputs.push(r);
    expect(r.exitCode, r.stderr).toBe(0);
    const remaining = NODES.filter((n) => n !== 'demo-worker-2');
    expect(listTree(join(dir, 'assets', 'ignition'))).toEqual(remaining.map((n) => `${n}.ign`));
    expect(listTree(join(dir, 'assets', 'kubeadm'))).toEqual(remaining.map((n) => `${n}.yaml`));
    const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as { nodes: { name: string }[] };
    expect(plan.nodes.map((n) => n.name)).toEqual(remaining);
    expect(readFileSync(join(dir, 'pki', 'ca.key')).equals(caKey)).toBe(true);
  });

  it.sequential('writes a 0600 debug log into the cluster state that holds no secret', () => {
    const log = join(dir, 'logs', 'nkd-debug.log');
    expect(statSync(log).mode & 0o777).toBe(0o600);
    const text = readFileSync(log, 'utf8');
    expect(text).toContain('nkd');
    expect(nonEmptyLines(text).length).toBeGreaterThanOrEqual(4);
    for (const secret of secrets(dir)) expect(text).not.toContain(secret);
    expect(text).not.toContain('PRIVATE KEY');
    // The log went to the cluster, not to the fallback cache directory; HOME stays untouched.
    expect(existsSync(sb.cache)).toBe(false);
    expect(listTree(sb.home)).toEqual([]);
  });

  it.sequential('never prints a secret on stdout or stderr', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(4);
    for (const r of outputs) {
      for (const stream of [r.stdout, r.stderr]) {
        for (const secret of secrets(dir)) expect(stream).not.toContain(secret);
        expect(stream).not.toContain('PRIVATE KEY');
      }
    }
  });
});

/** Secret values of a cluster that must never leave its pki/ and rendered files. */
function secrets(dir: string): string[] {
  const token = readFileSync(join(dir, 'pki', 'bootstrap-token'), 'utf8').trim();
  const certificateKey = readFileSync(join(dir, 'pki', 'certificate-key'), 'utf8').trim();
  expect(token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  // The token secret alone (after the dot) must not leak either.
  return [token, token.split('.')[1]!, certificateKey];
}

describe.concurrent('state directory selection', () => {
  it('NKD_STATE_DIR works like --state-dir, and --state-dir wins over it', async () => {
    const viaFlag = sandbox();
    const viaEnv = sandbox();
    const ignoredEnv = join(viaFlag.root, 'from-env');
    const [a, b] = await Promise.all([
      viaFlag.run(['deploy', '-f', EXAMPLE, '--dry-run', '--state-dir', viaFlag.state], {
        env: { NKD_STATE_DIR: ignoredEnv },
      }),
      viaEnv.run(['deploy', '-f', EXAMPLE, '--dry-run'], { env: { NKD_STATE_DIR: viaEnv.state } }),
    ]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(existsSync(ignoredEnv)).toBe(false);
    expect(listTree(viaEnv.state)).toEqual(listTree(viaFlag.state));
    expect(listTree(viaEnv.state)).toContain('clusters/demo/assets/ignition/demo-cp-1.ign');
    expect(listTree(viaEnv.home)).toEqual([]);
  });
});

describe.concurrent('warnings and the debug log of failed runs', () => {
  it('warnings (controlPlane.count: 2) go to stderr and the exit code stays 0', async () => {
    const sb = sandbox();
    const yaml = edit(EXAMPLE_TEXT, '  controlPlane:\n    count: 3', '  controlPlane:\n    count: 2');
    const file = writeConfig(sb.root, yaml);
    const [validate, deploy, json] = await Promise.all([
      sb.run(['validate', '-f', file]),
      sb.run(['deploy', '-f', file, '--dry-run', '--state-dir', sb.state]),
      sb.run(['validate', '-f', file, '--json']),
    ]);
    const line = lineOf(yaml, 'count: 2');
    for (const r of [validate, deploy]) {
      expect(r.exitCode, r.stderr).toBe(0);
      const warning = warningLines(r.stderr, file).find((w) => w.path === 'spec.controlPlane.count');
      expect(warning, r.stderr).toMatchObject({ line });
      expect(warning!.message).toMatch(/no etcd fault tolerance/);
      expect(problemLines(r.stderr)).toEqual([]);
      expect(r.stdout).not.toContain('warning');
    }
    expect(validate.stdout).toBe(`${file} is valid\n`);
    expect(json.exitCode).toBe(0);
    const report = JSON.parse(json.stdout) as { valid: boolean; warnings: { path: string; line: number }[] };
    expect(report.valid).toBe(true);
    expect(report.warnings).toContainEqual(
      expect.objectContaining({ path: 'spec.controlPlane.count', line, severity: 'warning' }),
    );
  });

  it('an invalid config writes nothing under the state dir; the log goes to $XDG_CACHE_HOME/nkd', async () => {
    const sb = sandbox();
    const file = writeConfig(sb.root, edit(EXAMPLE_TEXT, 'kind: Cluster', 'kind: Cluster2'));
    const r = await sb.run(['deploy', '-f', file, '--dry-run', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(3);
    expect(existsSync(sb.state)).toBe(false);
    const log = join(sb.cache, 'nkd', 'nkd-debug.log');
    expect(statSync(log).mode & 0o777).toBe(0o600);
    expect(readFileSync(log, 'utf8')).toContain('kind: must be Cluster');
    expect(listTree(sb.home)).toEqual([]);
  });

  it('without XDG_CACHE_HOME the fallback log goes to $HOME/.cache/nkd', async () => {
    const sb = sandbox();
    const r = await sb.run(
      ['deploy', '-f', join(sb.root, 'nope.yaml'), '--dry-run', '--state-dir', sb.state],
      {
        env: { XDG_CACHE_HOME: undefined },
      },
    );
    expect(r.exitCode).toBe(2);
    expect(existsSync(sb.state)).toBe(false);
    expect(listTree(sb.home)).toEqual(['.cache/', '.cache/nkd/', '.cache/nkd/nkd-debug.log']);
  });

  // KNOWN BUG (src/commands/validate.ts + src/cli/base.ts): `validate --json` on an invalid file exits
  // through this.exit(), whose ExitError skips the log flush, so that run leaves no debug log at all.
  it('validate --json on an invalid file still writes the debug log', async () => {
    const sb = sandbox();
    const file = writeConfig(sb.root, edit(EXAMPLE_TEXT, 'kind: Cluster', 'kind: Cluster2'));
    const r = await sb.run(['validate', '-f', file, '--json']);
    expect(r.exitCode).toBe(3);
    expect(existsSync(join(sb.cache, 'nkd', 'nkd-debug.log'))).toBe(true);
  });
});

// Keep the file self-checking: a stale example would make every assertion above misleading.
describe.concurrent('fixtures', () => {
  it('examples/libvirt.yaml still describes the cluster these tests expect', () => {
    expect(EXAMPLE_TEXT).toMatch(/^ {2}name: demo$/m);
    expect(EXAMPLE_TEXT).toContain('  controlPlane:\n    count: 3');
    expect(EXAMPLE_TEXT).toContain('  workers:\n    count: 2');
  });
});
