// `nkd list` / `nkd ls` and the global --verbose, through the built CLI.
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nonEmptyLines, removeTempDirs, sandbox, writeConfig, type Sandbox } from '../helpers/cli.js';
import { configYaml } from '../helpers/configs.js';

afterAll(removeTempDirs);

let rendered: string;

beforeAll(async () => {
  // Two clusters rendered by dry-runs: "alpha" (1 control plane, 3 workers) and "beta" (3 + 1).
  const sb = sandbox();
  for (const [name, cp, workers] of [
    ['alpha', 1, 3],
    ['beta', 3, 1],
  ] as const) {
    const file = writeConfig(
      sb.root,
      configYaml({ name, controlPlane: { count: cp }, workers: { count: workers } }),
      `${name}.yaml`,
    );
    const r = await sb.run(['deploy', '-f', file, '--dry-run', '--state-dir', sb.state]);
    expect(r.exitCode, r.stderr).toBe(0);
  }
  rendered = sb.state;
});

function world(): Sandbox {
  const sb = sandbox();
  cpSync(rendered, sb.state, { recursive: true });
  return sb;
}

describe.concurrent('nkd list', () => {
  it('lists every cluster with platform, node counts, provisioning, last phase and when', async () => {
    const sb = world();
    const beta = join(sb.state, 'clusters', 'beta');
    writeFileSync(join(beta, 'outputs.json'), JSON.stringify({ apiEndpoint: '127.0.0.1:6443', nodes: [] }));
    writeFileSync(
      join(beta, 'deploy-state.json'),
      JSON.stringify({
        version: 1,
        phases: {
          'pre-deploy': { digest: 'a', finishedAt: '2026-01-02T03:04:05.000Z' },
          provision: { digest: 'b', finishedAt: '2026-01-02T03:10:00.000Z' },
        },
        ignitionFetched: {},
      }),
    );
    const r = await sb.run(['list', '--state-dir', sb.state]);
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = nonEmptyLines(r.stdout);
    expect(lines[0]).toMatch(/^NAME +PLATFORM +NODES +PROVISIONED +LAST PHASE +WHEN$/);
    expect(lines[1]).toMatch(
      /^alpha +libvirt +1 cp \+ 3 workers +no +rendered +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/,
    );
    expect(lines[2]).toMatch(/^beta +libvirt +3 cp \+ 1 workers +yes +provision +2026-01-02 03:10:00Z$/);

    const json = await sb.run(['ls', '--json', '--state-dir', sb.state]);
    expect(json.exitCode, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout) as { stateDir: string; clusters: Record<string, unknown>[] };
    expect(out.stateDir).toBe(sb.state);
    expect(out.clusters).toEqual([
      expect.objectContaining({
        name: 'alpha',
        platform: 'libvirt',
        controlPlane: 1,
        workers: 3,
        provisioned: false,
        lastPhase: 'rendered',
        problem: null,
      }),
      expect.objectContaining({
        name: 'beta',
        controlPlane: 3,
        workers: 1,
        provisioned: true,
        lastPhase: 'provision',
        at: '2026-01-02T03:10:00.000Z',
      }),
    ]);
  });

  it('a cluster with a damaged plan is listed with the problem; the others still are', async () => {
    const sb = world();
    writeFileSync(join(sb.state, 'clusters', 'alpha', 'plan.json'), '{"truncated');
    const r = await sb.run(['list', '--state-dir', sb.state]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^alpha .*damaged: .*plan\.json is corrupt \(not valid JSON\)/m);
    expect(r.stdout).toMatch(/^beta +libvirt +3 cp/m);
  });

  it('an empty or missing state directory lists nothing, exit 0', async () => {
    const sb = sandbox();
    const r = await sb.run(['list', '--state-dir', sb.state]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`No clusters in ${sb.state}.`);
    const json = await sb.run(['list', '--json', '--state-dir', sb.state]);
    expect(JSON.parse(json.stdout)).toEqual({ stateDir: sb.state, clusters: [] });
  });
});

describe.concurrent('--verbose', () => {
  it('prints the debug log lines on stderr as they are written; without it, none', async () => {
    const sb = world();
    const verbose = await sb.run(['list', '--verbose', '--state-dir', sb.state]);
    expect(verbose.exitCode, verbose.stderr).toBe(0);
    expect(verbose.stderr).toMatch(/^debug: \d{4}-\d\d-\d\dT[\d:.]+Z nkd \S+ list \(node /m);
    expect(verbose.stderr).toMatch(/^debug: .* list: 2 cluster\(s\) in /m);
    const quiet = await sb.run(['list', '--state-dir', sb.state]);
    expect(quiet.stderr).toBe('');
    const fromEnv = await sb.run(['version'], { env: { NKD_VERBOSE: '1' } });
    expect(fromEnv.stderr).toMatch(/^debug: .* nkd \S+ version /m);
  });

  it('shows a failing command its debug lines before the error line', async () => {
    const sb = sandbox();
    const r = await sb.run(['status', 'ghost', '--verbose', '--state-dir', sb.state]);
    expect(r.exitCode).toBe(4);
    const lines = nonEmptyLines(r.stderr);
    expect(lines[0]).toMatch(/^debug: .* nkd \S+ status /);
    expect(lines.at(-1)).toBe(`nkd: no cluster named ghost in ${sb.state}`);
  });
});
