// Commands behave alike: the same words for the same state, durations for every timeout, --json where
// the output is data, no flag a command ignores, suggestions in the form commands are typed. Through the
// built CLI.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { nonEmptyLines, removeTempDirs, sandbox } from '../helpers/cli.js';
import { dryRunWorlds } from '../helpers/dry-run-world.js';

const servers: Server[] = [];
const world = dryRunWorlds();
afterAll(() => {
  for (const s of servers) s.close();
  removeTempDirs();
});

describe.concurrent('the same words for the same state', () => {
  it('status of a cluster only rendered says "never provisioned" (exit 4) and contacts nothing', async () => {
    const w = world();
    // The planned endpoint made a local counting server: any attempt to reach it shows.
    let connections = 0;
    const server = createServer((s) => {
      connections++;
      s.destroy();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const planFile = join(w.dir, 'plan.json');
    const plan = JSON.parse(readFileSync(planFile, 'utf8'));
    plan.kubernetes.controlPlaneEndpoint = { host: '127.0.0.1', port };
    writeFileSync(planFile, JSON.stringify(plan));
    const r = await w.run(['status', 'demo']);
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr.trim()).toBe(
      'nkd: cluster demo was never provisioned: run `nkd deploy -f <config>` first',
    );
    expect(connections).toBe(0);
  });

  it('scale of an unknown cluster says "no cluster named"', async () => {
    const w = world();
    const r = await w.run(['scale', 'nope', '--workers', '1']);
    expect(r.exitCode).toBe(4);
    expect(r.stderr.trim()).toBe(`nkd: no cluster named nope in ${w.sb.state}`);
  });

  it('destroy --keep-state of a cluster never provisioned does not claim to destroy or remove', async () => {
    const w = world();
    const r = await w.run(['destroy', 'demo', '--yes', '--keep-state']);
    expect(r.exitCode, r.stderr).toBe(0);
    const all = `${r.stdout}\n${r.stderr}`;
    expect(all).not.toMatch(/demo destroyed|state is removed|state was removed/);
    expect(r.stdout.trim()).toBe(
      `Cluster demo was never provisioned: nothing destroyed; its local state is kept in ${w.dir}.`,
    );
  });
});

describe.concurrent('the command line', () => {
  it('an unknown command suggests the closest one as it is typed, never a colon id', async () => {
    const sb = sandbox();
    const cases: [string[], string][] = [
      [['confg'], 'nkd config import'],
      [['config', 'improt'], 'nkd config import'],
      [['deplyo'], 'nkd deploy'],
      [['upgrade:statsu'], 'nkd upgrade status'],
      // Arguments after a mistyped command do not hide the suggestion.
      [['statsu', 'demo'], 'nkd status'],
      [['destory', 'my-cluster', '--yes'], 'nkd destroy'],
    ];
    for (const [args, suggestion] of cases) {
      const r = await sb.run(args);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`did you mean \`${suggestion}\`?`);
    }
    const far = await sb.run(['xyzzy']);
    expect(far.exitCode).toBe(2);
    expect(far.stderr).toContain('config import');
    expect(far.stderr).not.toMatch(/\w:\w/);
  });

  it('nkd -v is nkd --version; -h is --help', async () => {
    const sb = sandbox();
    const [v, version, h, help, sub] = await Promise.all([
      sb.run(['-v']),
      sb.run(['--version']),
      sb.run(['-h']),
      sb.run(['--help']),
      sb.run(['status', '-h']),
    ]);
    expect(v.exitCode, v.stderr).toBe(0);
    expect(v.stdout).toBe(version.stdout);
    expect(h.exitCode, h.stderr).toBe(0);
    expect(h.stdout).toBe(help.stdout);
    expect(sub.stdout).toContain("Report a cluster's health");
  });

  it('status --request-timeout takes a duration like every other timeout', async () => {
    const w = world();
    const ok = await w.run(['status', 'ghost', '--request-timeout', '3s']);
    expect(ok.exitCode, ok.stderr).toBe(4); // parsed; the cluster does not exist
    const bad = await w.run(['status', 'ghost', '--request-timeout', 'soon']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/"soon" is not a duration/);
    // Past what a timer can hold (it would fire at once): refused, on every duration flag.
    for (const args of [
      ['status', 'ghost', '--request-timeout', '99999h'],
      ['wait', 'ghost', '--api-timeout', '99999999h'],
    ]) {
      const long = await w.run(args);
      expect(long.exitCode, long.stderr).toBe(2);
      expect(long.stderr).toMatch(/is too long: at most 24 days/);
    }
  });

  it('template and version list no --state-dir; commands using state do', async () => {
    const sb = sandbox();
    for (const command of ['template', 'version']) {
      const r = await sb.run([command, '--help']);
      expect(r.stdout, command).not.toContain('--state-dir');
      expect((await sb.run([command, '--state-dir', sb.state])).exitCode, command).toBe(2);
    }
    expect((await sb.run(['status', '--help'])).stdout).toContain('--state-dir');
  });
});

describe.concurrent('--json where the output is data', () => {
  it('template --json gives the config text, which parses as a Cluster', async () => {
    const r = await sandbox().run(['template', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { platform: string; config: string };
    expect(out.platform).toBe('libvirt');
    expect(parse(out.config)).toMatchObject({ kind: 'Cluster' });
  });

  it('kubeconfig --json gives the kubeconfig; with --merge, what was merged where', async () => {
    const w = world();
    const printed = await w.run(['kubeconfig', 'demo', '--json']);
    expect(printed.exitCode, printed.stderr).toBe(0);
    const out = JSON.parse(printed.stdout) as { cluster: string; kubeconfig: string };
    expect(out.cluster).toBe('demo');
    expect(out.kubeconfig).toContain('current-context: nkd-admin@demo');
    const target = join(w.sb.root, 'kube', 'config');
    const merged = await w.run(['kubeconfig', 'demo', '--merge', '--kubeconfig', target, '--json']);
    expect(merged.exitCode, merged.stderr).toBe(0);
    expect(JSON.parse(merged.stdout)).toMatchObject({
      cluster: 'demo',
      merged: target,
      context: 'nkd-admin@demo',
      action: 'added',
    });
  });

  it('destroy --json prints JSON lines only, ending with the result', async () => {
    const w = world();
    const r = await w.run(['destroy', 'demo', '--yes', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = nonEmptyLines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.at(-1)).toMatchObject({
      type: 'result',
      cluster: 'demo',
      existed: true,
      provisioned: false,
      stateKept: false,
    });
    const gone = await w.run(['destroy', 'demo', '--yes', '--json']);
    expect(JSON.parse(gone.stdout)).toMatchObject({ type: 'result', existed: false });
  });
});
