// The user's hooks inside the real deploy workflow (engine double + Kubernetes API fake): pre-deploy
// executables run before provisioning with the cluster's facts, a failing one stops the deploy before
// any machine exists; post-deploy manifests are applied last; a network plugin of `none` is honoured.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { deploy, harness } from '../helpers/deploy-harness.js';

const h = harness();
afterEach(async () => {
  while (h.cleanups.length > 0) await h.cleanups.pop()!();
});

function script(dir: string, name: string, body: string): string {
  mkdirSync(join(dir, 'hooks'), { recursive: true });
  const path = join(dir, 'hooks', name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return `hooks/${name}`;
}

describe('deploy hooks', () => {
  it('runs pre-deploy hooks before provisioning with the cluster facts, and applies post-deploy manifests last', async () => {
    const probe = h.workspace();
    const hook = script(
      probe.dir,
      'record.sh',
      'echo "$NKD_CLUSTER $NKD_PLAN" > "$PWD/hook-ran"; echo checked',
    );
    mkdirSync(join(probe.dir, 'manifests'));
    writeFileSync(
      join(probe.dir, 'manifests', '10-team.yaml'),
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: team-a\ndata:\n  mode: strict\n',
    );
    writeFileSync(
      join(probe.dir, 'cluster.yaml'),
      readFileSync(probe.config, 'utf8').replace(
        /\nspec:\n/,
        `\nspec:\n  hooks:\n    preDeploy: [${hook}]\n    postDeploy: [manifests]\n`,
      ),
    );
    const engine = h.engine();
    const { result, error, rec } = await deploy(probe, engine);
    expect(error?.message).toBeUndefined();
    expect(readFileSync(join(probe.dir, 'hook-ran'), 'utf8').trim()).toBe(
      `demo ${join(probe.stateDir, 'clusters', 'demo', 'plan.json')}`,
    );
    expect(rec.lines.join('')).toMatch(/record\.sh: checked/);
    const phases = rec.events
      .filter((e) => e.type === 'phase' && e.state === 'done')
      .map((e) => e.type === 'phase' && e.phase);
    expect(phases.indexOf('pre-deploy')).toBeLessThan(phases.indexOf('provision'));
    const applied = engine.api!.applied.map(
      (a) => `${a.body.kind}/${(a.body.metadata as { name: string }).name}`,
    );
    expect(applied.slice(-2)).toEqual(['Namespace/team-a', 'ConfigMap/settings']);
    expect(result!.phases['post-deploy']).toBe('ran');
  });

  it('a failing pre-deploy hook stops the deploy with exit 9 before anything is provisioned', async () => {
    const ws = h.workspace();
    const hook = script(ws.dir, 'fail.sh', 'echo "DNS record api.demo.test missing" >&2; exit 3');
    writeFileSync(
      ws.config,
      readFileSync(ws.config, 'utf8').replace(/\nspec:\n/, `\nspec:\n  hooks:\n    preDeploy: [${hook}]\n`),
    );
    const engine = h.engine();
    const { error } = await deploy(ws, engine);
    expect(error?.exitCode).toBe(ExitCode.HookFailed);
    expect(error?.message).toMatch(
      /fail\.sh exited with 3; its last line: DNS record api\.demo\.test missing/,
    );
    expect(engine.upCalls).toHaveLength(0);
  });

  it('with network plugin none, applies no CNI and waits for the nodes to join rather than be Ready', async () => {
    const ws = h.workspace({ network: { plugin: 'none' } });
    const engine = h.engine({
      onApi: (api, request) => {
        for (const boot of request.input.nodes) api.addNode({ name: boot.node.name, ready: false });
      },
    });
    const { result, error, rec } = await deploy(ws, engine);
    expect(error?.message).toBeUndefined();
    expect(result!.phases.network).toBe('not-applicable');
    expect(engine.api!.applied.some((a) => /calico|flannel/.test(JSON.stringify(a.body.metadata)))).toBe(
      false,
    );
    expect(
      rec.events.some((e) => e.type === 'warning' && /waiting for the nodes to join/.test(e.message)),
    ).toBe(true);
  });
});
