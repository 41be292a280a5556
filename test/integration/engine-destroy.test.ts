// `destroy` through the real Pulumi CLI of stacks that hold nothing (issue 11, defect 7): a first
// deploy whose program created no resource, and a cluster whose engine directory exists but whose
// backend has no stack at all (a first deploy stopped before the stack was created). An audit of the
// CLI source expected both to fail in `pulumi state unprotect --all` ("no resources found to
// unprotect"); the real CLI (3.181 and 3.248 alike) never reaches that error, because its state edit
// returns early for a stack without a snapshot. These tests keep the behaviour pinned, also end to end.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, removeTempDirs, sandbox } from '../helpers/cli.js';
import { destroyStack, stackPaths, upStack, type StackOptions } from '../../src/engine/stack.js';
import { realEngineWorld, type RealEngineWorld } from '../helpers/real-engine.js';
import { pulumiRoot, skipReason } from '../helpers/tools.js';

const ROOT = pulumiRoot();
const world: RealEngineWorld | undefined = ROOT ? realEngineWorld(ROOT) : undefined;
afterAll(() => {
  world?.cleanup();
  removeTempDirs();
});

function options(cluster: string, clusterDir: string, lines: string[] = []): StackOptions {
  return {
    cluster,
    clusterDir,
    cli: world!.cli,
    backendUrl: undefined,
    onProgress: (line) => lines.push(line),
    program: async () => ({}),
  };
}

describe.runIf(world)(
  world ? `destroy of an empty stack with the real Pulumi CLI (${ROOT})` : skipReason('NKD_PULUMI_ROOT'),
  { timeout: 120_000 },
  () => {
    it('succeeds after a first deploy that created nothing', async () => {
      const clusterDir = world!.clusterDir('nothing');
      expect(await upStack(options('nothing', clusterDir))).toEqual({});
      const lines: string[] = [];
      await destroyStack(options('nothing', clusterDir, lines));
      // Only the stack's own root resource goes; nothing failed.
      expect(lines.filter((l) => /^(delete|failed)/.test(l))).toEqual([
        'delete pulumi:pulumi:Stack nkd-nothing-nothing',
      ]);
    });

    it('succeeds when the backend holds no such stack', async () => {
      const clusterDir = world!.clusterDir('never-created');
      const paths = stackPaths(clusterDir, undefined);
      mkdirSync(paths.workDir, { recursive: true }); // as a deploy stopped before creating the stack leaves it
      expect(existsSync(join(paths.engineDir, 'backend'))).toBe(false);
      await destroyStack(options('never-created', clusterDir));
    });

    it('`nkd destroy` of a cluster whose deploy stopped before creating its stack exits 0 and removes it', async () => {
      const sb = sandbox();
      const example = join(REPO_ROOT, 'examples', 'libvirt.yaml');
      expect((await sb.run(['deploy', '-f', example, '--dry-run', '--state-dir', sb.state])).exitCode).toBe(
        0,
      );
      mkdirSync(join(sb.state, 'clusters', 'demo', 'engine', 'workspace'), { recursive: true });
      const r = await sb.run(['destroy', 'demo', '--yes', '--state-dir', sb.state], {
        env: { NKD_PULUMI_ROOT: ROOT, PULUMI_HOME: world!.pulumiHome, PULUMI_SKIP_UPDATE_CHECK: 'true' },
        timeout: 90_000,
      });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Cluster demo destroyed/);
      expect(existsSync(join(sb.state, 'clusters', 'demo'))).toBe(false);
    });
  },
);
